"""``mnistgen compare-losses`` and ``mnistgen sweep gan-capacity``: the study's GAN sub-studies on their own (the same
stages as in ``mnistgen run``, with their own report)."""

from __future__ import annotations

from mnistgen.cli.study_args import add_study_args, run
from mnistgen.errors import MnistgenError

SUBSTUDIES = {
    "compare-losses": ("evaluator", "gan-losses-bce", "gan-losses-wgan", "gan-losses-wgan-gp", "gan-losses"),
    "gan-capacity": ("evaluator", "gan-losses-bce", "gan-capacity"),
}


def register(commands, train_targets) -> None:
    c = commands.add_parser(
        "compare-losses", help="the same GAN trained with bce, wgan and wgan-gp for the same steps, compared"
    )
    add_study_args(c)
    c.set_defaults(func=lambda args: run(args, SUBSTUDIES["compare-losses"]))
    s = commands.add_parser("sweep", help="parameter sweeps (gan-capacity)")
    targets = s.add_subparsers(dest="sweep", metavar="SWEEP", parser_class=type(c))
    s.set_defaults(func=lambda args: _missing(s))
    w = targets.add_parser(
        "gan-capacity",
        help="a ladder of generators, from one too weak for its discriminator to the fast one: collapse vs capacity",
    )
    add_study_args(w)
    w.set_defaults(func=lambda args: run(args, SUBSTUDIES["gan-capacity"]))


def _missing(parser) -> int:
    raise MnistgenError(f"name a sweep (see `{parser.prog} --help`)")
