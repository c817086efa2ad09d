"""The options every study command shares (``run``, ``compare-losses``, ``sweep gan-capacity``) and running one."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mnistgen import kernels
from mnistgen.cli.common import add_data_args
from mnistgen.config import DEVICES
from mnistgen.errors import MnistgenError
from mnistgen.kernels import KERNELS
from mnistgen.study import PROFILES, Cluster, Request, parse_seeds, run_study, stage_table


def add_study_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="study directory: report.html, report.md, metrics.json, one folder per seed",
    )
    p.add_argument(
        "--profile",
        choices=list(PROFILES),
        default=None,
        help="; ".join(f"{p.name}: {p.description}" for p in PROFILES.values()) + " (default full)",
    )
    p.add_argument("--quick", action="store_const", const="quick", dest="profile", help="the same as --profile quick")
    p.add_argument(
        "--seeds",
        default=None,
        metavar="SEEDS",
        help="training seeds, e.g. 0,1,2 or 0-4 (default 0); with --resume, more seeds extend the study",
    )
    p.add_argument("--seed", type=int, default=None, help="one training seed (the same as --seeds N)")
    p.add_argument(
        "--minutes",
        type=float,
        default=0.0,
        help="optional cap on the training time in minutes (default: "
        "none; the profile fixes the work, and a stage the cap cuts short says so in the report)",
    )
    p.add_argument("--resume", action="store_true", help="continue the study in --out: finished units are kept")
    p.add_argument("--overwrite", action="store_true", help="replace a study already in --out")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument(
        "--threads-per-worker",
        type=int,
        default=None,
        metavar="T",
        help="torch threads of every unit (default 2): part of the study, as float sums depend on it",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="Dask workers on this machine (default: cores // threads, at least 1)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the units on an existing Dask cluster (default: $MNISTGEN_SCHEDULER, else this machine)",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for --scheduler and its first worker (default 10)",
    )
    p.add_argument(
        "--kernels",
        choices=KERNELS,
        default=None,
        help="avx2: hold PyTorch to its AVX2 kernels, so that CPUs with and without AVX-512 compute alike "
        "(default where the CPU has AVX2); native: its fastest for this CPU",
    )
    add_data_args(p)


def request_of(args: argparse.Namespace) -> Request:
    if args.seed is not None and args.seeds is not None:
        raise MnistgenError("give --seeds or --seed, not both")
    seeds = parse_seeds(args.seeds) if args.seeds is not None else (args.seed,) if args.seed is not None else None
    return Request(args.profile, args.dataset, seeds, args.threads_per_worker, args.kernels or kernels.in_force())


def run(args: argparse.Namespace, only: Sequence[str] | None = None) -> int:
    if args.workers is not None and args.workers < 1:
        raise MnistgenError(f"--workers must be >= 1, got {args.workers}")
    state = run_study(
        args.out,
        request_of(args),
        minutes=args.minutes,
        resume=args.resume,
        overwrite=args.overwrite,
        data_dir=args.data_dir,
        download_missing=not args.no_download,
        device=args.device,
        cluster=Cluster(args.workers, args.scheduler, args.connect_timeout),
        only=only,
    )
    print(stage_table(state))
    print(f"report: {args.out}/report.html  (report.md, metrics.json)")
    failed = [f"{r.stage} (seed {r.seed})" for r in state.units.values() if r.status == "failed"]
    if failed:
        print(f"error: {len(failed)} unit(s) failed: {', '.join(failed)} (see the report)", file=sys.stderr)
        return 1
    return 0
