"""``mnistgen worker SCHEDULER``: a Dask worker that computes as the study does -- PyTorch held to the study's kernels
before it loads (``--kernels``, else ``$MNISTGEN_KERNELS``, else AVX2 where the CPU has it) -- started the way Dask
documents, ``dask worker --preload mnistgen.workerpreload``."""

from __future__ import annotations

import argparse
import os
import sys

from mnistgen import kernels
from mnistgen.errors import MnistgenError
from mnistgen.kernels import KERNELS

PRELOAD = "mnistgen.workerpreload"


def register(commands, train_targets) -> None:
    w = commands.add_parser(
        "worker",
        help="start a Dask worker for a study on a cluster, computing with the study's kernels",
        description="Start a Dask worker (dask worker SCHEDULER --preload mnistgen.workerpreload) whose processes "
        "hold PyTorch to the study's CPU kernels before torch loads. Give each worker process one Dask thread: a "
        "unit sets its own torch threads (the study's --threads-per-worker).",
    )
    w.add_argument("scheduler", metavar="SCHEDULER", help="the scheduler's address, e.g. tcp://10.0.0.5:8786")
    w.add_argument("--nworkers", type=int, default=1, metavar="N", help="worker processes (default 1)")
    w.add_argument(
        "--kernels",
        choices=KERNELS,
        default=None,
        help="the study's kernels: avx2 (the default where the CPU has it) or native",
    )
    w.add_argument(
        "--dask-args",
        default="",
        metavar="ARGS",
        help="more arguments for dask worker, in one string (e.g. '--memory-limit 8GB --local-directory /tmp')",
    )
    w.set_defaults(func=run)


def command(args: argparse.Namespace) -> list[str]:
    """The ``dask worker`` command line this starts."""
    if args.nworkers < 1:
        raise MnistgenError(f"--nworkers must be >= 1, got {args.nworkers}")
    return [
        sys.executable,
        "-m",
        "distributed.cli.dask_worker",
        args.scheduler,
        "--nworkers",
        str(args.nworkers),
        "--nthreads",
        "1",
        "--preload",
        PRELOAD,
        *args.dask_args.split(),
    ]


def run(args: argparse.Namespace) -> int:
    argv = command(args)
    print(f"mnistgen worker: {kernels.in_force()} kernels; {' '.join(argv[1:])}", file=sys.stderr, flush=True)
    os.execv(sys.executable, argv)  # the entry point held the kernels in this environment: the worker inherits it
    return 0  # not reached
