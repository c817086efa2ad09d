"""``mnistgen run``: the whole study in one command, with its report."""

from __future__ import annotations

import argparse
import sys

from mnistgen.cli.common import add_data_args
from mnistgen.config import DEVICES
from mnistgen.study import DEFAULT_MINUTES, run_study, stage_table


def register(commands, train_targets) -> None:
    p = commands.add_parser("run", help="run the whole study (evaluator, VAEs, GANs, sweeps, scores) and write its report")
    p.add_argument("--out", required=True, metavar="DIR", help="study directory: report.html, report.md, metrics.json, one folder per model")
    p.add_argument("--minutes", type=float, default=None,
                   help=f"training budget divided between the models (default {DEFAULT_MINUTES:g}; evaluation comes on top)")
    p.add_argument("--quick", action="store_true", help="a tiny end-to-end profile (well under a minute): smoke test, not results")
    p.add_argument("--resume", action="store_true", help="continue an interrupted study in --out, skipping finished stages")
    p.add_argument("--overwrite", action="store_true", help="replace a study already in --out")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--seed", type=int, default=0)
    add_data_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    state = run_study(args.out, minutes=args.minutes, quick=args.quick, resume=args.resume, overwrite=args.overwrite,
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
