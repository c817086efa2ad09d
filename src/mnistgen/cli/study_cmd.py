"""``mnistgen compare-losses`` and ``mnistgen sweep gan-capacity``: the study's GAN sub-studies on their own (the same
stages as in ``mnistgen run``, with their own report)."""

from __future__ import annotations

import argparse

from mnistgen.cli.common import add_data_args
from mnistgen.config import DEVICES
from mnistgen.errors import MnistgenError
from mnistgen.study import PROFILES, run_study, stage_table

SUBSTUDIES = {
    "compare-losses": ("evaluator", "gan-losses-bce", "gan-losses-wgan", "gan-losses-wgan-gp", "gan-losses"),
    "gan-capacity": ("evaluator", "gan-losses-bce", "gan-capacity"),
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--profile", choices=list(PROFILES), default="full", help="how much to train (default full; see `mnistgen run`)")
    p.add_argument("--minutes", type=float, default=0.0, help="optional cap on the training time in minutes (default: none)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace what --out holds")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--seed", type=int, default=0)
    add_data_args(p)


def register(commands, train_targets) -> None:
    c = commands.add_parser("compare-losses", help="the same GAN trained with bce, wgan and wgan-gp for the same steps, compared")
    _common(c)
    c.set_defaults(func=lambda args: run(args, "compare-losses"))
    s = commands.add_parser("sweep", help="parameter sweeps (gan-capacity)")
    targets = s.add_subparsers(dest="sweep", metavar="SWEEP", parser_class=type(c))
    s.set_defaults(func=lambda args: _missing(s))
    w = targets.add_parser("gan-capacity", help="a ladder of generators, from one too weak for its discriminator to the fast one: collapse vs capacity")
    _common(w)
    w.set_defaults(func=lambda args: run(args, "gan-capacity"))


def _missing(parser) -> int:
    raise MnistgenError(f"name a sweep (see `{parser.prog} --help`)")


def run(args: argparse.Namespace, which: str) -> int:
    state = run_study(args.out, profile=args.profile, minutes=args.minutes, resume=args.resume, overwrite=args.overwrite,
                      dataset=args.dataset, data_dir=args.data_dir, download_missing=not args.no_download, device=args.device,
                      seed=args.seed, only=SUBSTUDIES[which])
    print(stage_table(state))
    print(f"report: {state['paths']['html']}")
    return 1 if any(s.get("status") == "failed" for s in state.get("stages", {}).values()) else 0
