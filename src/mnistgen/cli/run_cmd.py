"""``mnistgen run``: the whole study in one command, with its report."""

from __future__ import annotations

from mnistgen.cli.study_args import add_study_args, run


def register(commands, train_targets) -> None:
    p = commands.add_parser(
        "run",
        help="run the whole study (evaluator, VAEs, GANs, sweeps, scores) for one or more "
        "training seeds and write its report",
    )
    add_study_args(p)
    p.set_defaults(func=run)
