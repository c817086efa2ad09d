"""``mnistgen run``: the whole study in one command, with its report."""

from __future__ import annotations

import argparse
import sys

from mnistgen.cli.common import add_data_args
from mnistgen.config import DEVICES
from mnistgen.study import PROFILES, run_study, stage_table


def register(commands, train_targets) -> None:
    p = commands.add_parser("run", help="run the whole study (evaluator, VAEs, GANs, sweeps, scores) and write its report")
    p.add_argument("--out", required=True, metavar="DIR", help="study directory: report.html, report.md, metrics.json, one folder per model")
    p.add_argument("--profile", choices=list(PROFILES), default="full",
                   help="; ".join(f"{p.name}: {p.description}" for p in PROFILES.values()))
    p.add_argument("--quick", action="store_const", const="quick", dest="profile", help="the same as --profile quick")
    p.add_argument("--minutes", type=float, default=0.0,
                   help="optional cap on the training time in minutes (default: none; the profile fixes the work, and a "
                        "stage the cap cuts short says so in the report)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted study in --out, skipping finished stages")
    p.add_argument("--overwrite", action="store_true", help="replace a study already in --out")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--seed", type=int, default=0)
    add_data_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    state = run_study(args.out, profile=args.profile, minutes=args.minutes, resume=args.resume, overwrite=args.overwrite,
                      dataset=args.dataset, data_dir=args.data_dir, download_missing=not args.no_download, device=args.device,
                      seed=args.seed)
    print(stage_table(state))
    paths = state["paths"]
    print(f"report: {paths['html']}  (report.md, metrics.json)")
    failed = [n for n, s in state.get("stages", {}).items() if s.get("status") == "failed"]
    if failed:
        print(f"error: {len(failed)} stage(s) failed: {', '.join(failed)} (see the report)", file=sys.stderr)
        return 1
    return 0
