"""Running a study's units on Dask: a ``LocalCluster`` sized to this machine by default, or an existing cluster's
scheduler. The cluster is reached, and every worker checked, before the study writes anything. Units go out with
their dependencies (the same seed's stages they need) and with priorities in the study's order; each finished unit is
recorded at once, so an interrupted study keeps every unit that finished.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
from distributed import Client, LocalCluster, as_completed

from mnistgen.errors import MnistgenError
from mnistgen.kernels import environment_for
from mnistgen.runtime import progress
from mnistgen.stagekit import Setup, Stage
from mnistgen.study.state import UnitRecord
from mnistgen.study.units import PROBE, check_worker, run_unit, worker_version

SCHEDULER_ENV = "MNISTGEN_SCHEDULER"


@dataclass(frozen=True)
class Cluster:
    """Where the units run: ``scheduler`` (an address; default $MNISTGEN_SCHEDULER) or a LocalCluster of ``workers``
    processes (default: as many as the machine's cores allow at the study's thread count)."""

    workers: int | None = None
    scheduler: str | None = None
    timeout: float = 10.0  # seconds to wait for a scheduler (and its first worker) to answer
    processes: bool = True  # False: LocalCluster workers are threads of this process (for tests)

    def address(self) -> str | None:
        return self.scheduler or os.environ.get(SCHEDULER_ENV) or None


def local_workers(threads: int, cores: int | None = None) -> int:
    """Workers x threads <= cores, at least one worker."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, threads))


@contextmanager
def connect(cluster: Cluster, threads: int, kernels: str, log: Callable[[str], None]) -> Iterator[Client]:
    """A client of the given scheduler (which must answer, with a worker, within the timeout), or of a new
    LocalCluster whose workers compute with ``threads`` threads and ``kernels``; closed afterwards."""
    address = cluster.address()
    if address:
        try:
            client = Client(address, timeout=f"{cluster.timeout}s")
        except (OSError, TimeoutError) as exc:
            raise MnistgenError(
                f"no Dask scheduler answered at {address} within {cluster.timeout:g} s "
                f"({type(exc).__name__}); start one with `dask scheduler`, or drop --scheduler"
            ) from None
        try:
            try:
                client.wait_for_workers(1, timeout=cluster.timeout)
            except (OSError, TimeoutError):
                raise MnistgenError(
                    f"the Dask scheduler at {address} has no workers (none joined within "
                    f"{cluster.timeout:g} s); start some with `dask worker {address}`"
                ) from None
            workers = len(client.scheduler_info()["workers"])
            log(f"Dask scheduler {address}: {workers} workers; dashboard {client.dashboard_link}")
            yield client
        finally:
            client.close()
        return
    workers = cluster.workers or local_workers(threads)
    environ = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), **environment_for(kernels)}
    board = ":0" if importlib.util.find_spec("bokeh") else None  # Dask's dashboard needs bokeh
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        local = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=cluster.processes,
            memory_limit=0,
            dashboard_address=board,
            silence_logs=logging.ERROR,
        )
    client = Client(local)
    try:
        if workers > 1:
            where = f"dashboard {client.dashboard_link}" if board else "pip install bokeh for Dask's dashboard"
            log(f"Dask LocalCluster: {workers} workers x {threads} threads; {where}")
        yield client
    finally:
        client.close()
        local.close()


def preflight(client: Client, out: Path, kernels: str, version: str) -> None:
    """Every worker must run this mnistgen version, see the study folder (a probe file the driver writes there) and
    compute with the study's kernels. ``out`` must exist; the probe is removed again."""
    probe = out / f"{PROBE}{uuid.uuid4().hex[:8]}"
    probe.write_text("mnistgen study folder\n")
    try:
        problems = [
            f"{w} runs mnistgen {v}, this study {version}"
            for w, v in client.run(worker_version).items()
            if v != version
        ]
        problems += [f"{w} {why}" for w, why in client.run(check_worker, str(probe), kernels).items() if why]
    finally:
        probe.unlink(missing_ok=True)
    if problems:
        raise MnistgenError("a Dask worker cannot run this study: " + "; ".join(problems))


def submit(
    client: Client,
    setup: Setup,
    specs: dict[str, Stage],
    plan: Sequence[tuple[str, int]],
    done: dict[tuple[str, int], UnitRecord],
) -> dict[Any, tuple[str, int]]:
    """Submit every unit of ``plan`` (in the study's order, which sets their priority) with its dependencies: the
    futures of planned units, the records of finished ones; returns {future: (stage, seed)}."""
    futures: dict[tuple[str, int], Any] = {}
    token = uuid.uuid4().hex[:8]
    for i, (stage, seed) in enumerate(plan):
        spec = specs[stage]
        absent = lambda d: UnitRecord(d, seed, "skipped", error="not in the study")  # noqa: B023 - used at once
        deps = [futures.get((d, seed)) or done.get((d, seed)) or absent(d) for d in (*spec.needs, *spec.after)]
        futures[(stage, seed)] = client.submit(
            run_unit, setup, stage, seed, deps, key=f"{stage}-seed{seed}-{token}", priority=len(plan) - i, pure=False
        )
    return {f: unit for unit, f in futures.items()}


def execute(
    client: Client,
    setup: Setup,
    specs: dict[str, Stage],
    plan: Sequence[tuple[str, int]],
    done: dict[tuple[str, int], UnitRecord],
    record: Callable[[UnitRecord], None],
) -> None:
    """Run the units of ``plan``; ``record`` is called with each unit's record as soon as it finishes. Ctrl-C cancels
    the units not yet finished (their runs keep their checkpoints) and is raised again."""
    if not plan:
        return
    pending = submit(client, setup, specs, plan, done)
    bar = progress(total=len(plan), desc="study units", unit="unit", leave=True)
    try:
        for future in as_completed(list(pending)):
            stage, seed = pending[future]
            try:
                rec = future.result()
            except Exception as exc:  # Dask retried it on other workers (allowed-failures) before giving up
                rec = UnitRecord(stage, seed, "failed", error=f"the worker running it was lost ({exc})")
            record(rec)
            bar.update(1)
            bar.set_postfix_str(f"{stage} seed {seed}: {rec.status}")
            if rec.fatal:
                client.cancel(list(pending), force=True)
                raise MnistgenError(
                    f"{rec.error} (unit {stage}, seed {seed}); the study stopped: free the space and "
                    "continue it with --resume"
                )
    except KeyboardInterrupt:
        client.cancel(list(pending), force=True)
        raise
    finally:
        bar.close()
