"""One unit of a study -- a stage for one seed -- as a worker runs it, and the check a worker passes before any.

:func:`run_unit` is what the Dask workers execute. It runs one unit at a time per process (the global RNG and torch's
thread count are process-wide), computes with the study's thread count, reseeds, runs the stage and returns a
:class:`UnitRecord`; it never raises for a failing stage, so the units that do not depend on it go on.
"""

from __future__ import annotations

import contextlib
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
        return (
            f"cannot see the study folder {Path(probe).parent} (workers need it at that path, on a shared filesystem)"
        )
    if kernels != "native" and kernel_capability() != kernels:
        return (
            f"computes with {kernel_capability()} kernels, the study with {kernels}: start it with `mnistgen worker "
            f"SCHEDULER --kernels {kernels}` (or `dask worker SCHEDULER --preload mnistgen.workerpreload` with "
            f"MNISTGEN_KERNELS={kernels})"
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
    cap, where = setup.caps.get(stage), worker_name()
    with _ONE_AT_A_TIME, computing(setup.threads):
        started = time.monotonic()
        try:
            attempts = count_attempt(setup.seed_dir(seed), stage)
            seed_everything(seed)
            ctx = Context(setup, seed, spec, families.open_trained)
            (ctx.out / "figures").mkdir(parents=True, exist_ok=True)
            result = spec.run(ctx, {d.stage: d.outcome for d in deps if d.outcome is not None})
            seconds = time.monotonic() - started
            return UnitRecord(stage, seed, "done", seconds, result, worker=where, cap_minutes=cap, attempts=attempts)
        except MnistgenError as exc:
            message, fatal = str(exc).splitlines()[0], False
        except OSError as exc:  # the disk (a full one, a permission) will not take the files: the study stops here
            message, fatal = write_failure(exc, setup.seed_dir(seed)), True
        except Exception as exc:
            message, fatal = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", False
            with contextlib.suppress(OSError):  # the traceback, for the unit's bug report, where it can be written
                (setup.seed_dir(seed) / f"{stage}.error.txt").write_text(traceback.format_exc())
        seconds = time.monotonic() - started
        return UnitRecord(stage, seed, "failed", seconds, error=message, worker=where, cap_minutes=cap, fatal=fatal)


def write_failure(exc: OSError, folder: Path) -> str:
    """One line for an OSError while writing: the folder it wrote in and what the system said."""
    where = Path(exc.filename).parent if exc.filename else folder
    return f"cannot write in {where}: {exc.strerror or exc}"


def count_attempt(folder: Path, stage: str) -> int:
    """How many times ``stage`` has started in ``folder``'s seed (this time included): a unit that runs again after
    its worker was lost, or after an interrupted study, says so in the report."""
    path = folder / ".attempts" / stage
    before = int(path.read_text()) if path.is_file() else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{before + 1}\n")
    return before + 1
