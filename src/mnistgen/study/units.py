"""One unit of a study -- a stage for one seed -- as a worker runs it, and the check a worker passes before any.

:func:`run_unit` is what the Dask workers execute. It runs one unit at a time per process (the global RNG and torch's
thread count are process-wide), computes with the study's thread count, reseeds, runs the stage and returns a
:class:`UnitRecord`; it never raises for a failing stage, so the units that do not depend on it go on.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

import mnistgen
from mnistgen import families
from mnistgen.errors import MnistgenError
from mnistgen.runtime import kernel_capability, seed_everything
from mnistgen.stagekit import Context, Setup
from mnistgen.study import stages
from mnistgen.study.state import UnitRecord

_ONE_AT_A_TIME = threading.Lock()
PROBE = ".mnistgen-probe-"  # the file a worker must see in the study folder


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def computing(threads: int) -> Iterator[None]:
    """Torch and BLAS at ``threads`` threads, and no progress bars (one bar over the units is the driver's)."""
    previous, bars = torch.get_num_threads(), os.environ.get("MNISTGEN_NO_PROGRESS")
    torch.set_num_threads(threads)
    os.environ["MNISTGEN_NO_PROGRESS"] = "1"
    try:
        with threadpool_limits(threads):
            yield
    finally:
        torch.set_num_threads(previous)
        if bars is None:
            os.environ.pop("MNISTGEN_NO_PROGRESS", None)
        else:
            os.environ["MNISTGEN_NO_PROGRESS"] = bars


def check_worker(probe: str, kernels: str) -> str:
    """'' when this worker can run the study's units, else why not: it must see ``probe`` (a file the driver just wrote
    in the study folder) and compute with the study's kernels. Run on every worker before the first unit."""
    if not Path(probe).is_file():
        return f"cannot see the study folder {Path(probe).parent} (workers need it on a shared filesystem)"
    if kernels != "native" and kernel_capability() != kernels:
        return (
            f"computes with {kernel_capability()} kernels, the study with {kernels}: start it with "
            f"MNISTGEN_KERNELS={kernels} (mnistgen sets the variables before torch loads)"
        )
    return ""


def worker_version() -> str:
    return mnistgen.__version__


def run_unit(setup: Setup, stage: str, seed: int, deps: Sequence[UnitRecord]) -> UnitRecord:
    """Run ``stage`` for ``seed`` after its dependencies ``deps`` (their records); returns its record."""
    spec = stages.by_name(setup.dataset)[stage]
    missing = [d.stage for d in deps if d.stage in spec.needs and not d.done]
    if missing:
        return UnitRecord(stage, seed, "skipped", error=f"needs {', '.join(missing)}", worker=worker_name())
    cap = setup.caps.get(stage)
    with _ONE_AT_A_TIME, computing(setup.threads):
        started = time.monotonic()
        try:
            seed_everything(seed)
            ctx = Context(setup, seed, spec, families.open_trained)
            (ctx.out / "figures").mkdir(parents=True, exist_ok=True)
            result = spec.run(ctx, {d.stage: d.outcome for d in deps if d.outcome is not None})
            return UnitRecord(
                stage, seed, "done", time.monotonic() - started, result, worker=worker_name(), cap_minutes=cap
            )
        except MnistgenError as exc:
            message = str(exc).splitlines()[0]
        except Exception as exc:
            message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            folder = setup.seed_dir(seed)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{stage}.error.txt").write_text(traceback.format_exc())
        return UnitRecord(
            stage, seed, "failed", time.monotonic() - started, error=message, worker=worker_name(), cap_minutes=cap
        )
