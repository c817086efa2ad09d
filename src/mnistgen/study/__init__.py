"""The study (``mnistgen run``): every stage of the original study, for one or more training seeds, as a graph of
units (a stage for one seed) run by Dask on this machine or on a cluster, and its report.

The stages are declared by the families, in their own folders (see :mod:`mnistgen.stagekit`); the study keeps what
is its own. Modules: ``profiles`` (full / quick / paper), ``stages`` (the study's own stages around the families',
in order), ``units`` (a unit on a worker), ``cluster`` (the Dask side), ``state`` (study.json, unit records and the
resume rule), ``aggregate`` (spreads over seeds, phenomena as k of n), ``content`` and ``report`` (the report).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import mnistgen
from mnistgen.data import load_dataset
from mnistgen.datasets import describe
from mnistgen.errors import MnistgenError
from mnistgen.runtime import environment, resolve_device
from mnistgen.stagekit import Profile, Setup, Stage
from mnistgen.study import stages as declared
from mnistgen.study.cluster import Cluster, connect, execute, preflight
from mnistgen.study.content import stage_seconds
from mnistgen.study.profiles import FULL, PAPER, PROFILES, QUICK
from mnistgen.study.report import write_report
from mnistgen.study.stages import OWN_SUBSTUDIES
from mnistgen.study.state import (
    STATE,
    Request,
    StudyState,
    UnitRecord,
    load_state,
    open_study,
    parse_seeds,
    save_state,
    seed_words,
)
from mnistgen.study.units import write_failure


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def caps(stages: Sequence[Stage], minutes: float) -> dict[str, float]:
    """Minutes per training stage under a study-wide cap, in proportion to the stages' shares (none without a cap)."""
    total = sum(s.share for s in stages)
    return {s.name: minutes * s.share / total for s in stages if s.share > 0} if minutes > 0 and total > 0 else {}


def select(stages: Sequence[Stage], only: Sequence[str] | None) -> list[Stage]:
    """The stages named in ``only`` (all when None) and those they need, in the study's order."""
    if only is None:
        return list(stages)
    by_name = {s.name: s for s in stages}
    unknown = [name for name in only if name not in by_name]
    if unknown:
        raise MnistgenError(f"no study stage is named {unknown[0]!r} for this dataset")
    wanted, todo = set(), list(only)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo += by_name[name].needs
    return [s for s in stages if s.name in wanted]


def plan(state: StudyState, stages: Sequence[Stage]) -> list[tuple[str, int]]:
    """The units still to run, seed by seed, each seed's stages in the study's order."""
    return [(s.name, seed) for seed in state.seeds for s in stages if not (state.get(s.name, seed) or _NONE).done]


_NONE = UnitRecord("", 0, "pending")


def run_study(
    out: str | Path,
    request: Request | None = None,
    *,
    minutes: float = 0.0,
    resume: bool = False,
    overwrite: bool = False,
    data_dir: str | None = None,
    download_missing: bool = True,
    device: str = "auto",
    cluster: Cluster | None = None,
    only: Sequence[str] | None = None,
) -> StudyState:
    """Run (or resume, or extend to more seeds) the study in ``out``; returns its state (also ``out/study.json``).

    ``minutes`` (0 = none) caps the training time; the work is otherwise fixed by the profile. ``only`` runs just the
    named stages (a sub-study, e.g. the loss comparison). Nothing is written before the request is checked, the data
    found and the cluster reached."""
    out, request, cluster = Path(out).expanduser().resolve(), request or Request(), cluster or Cluster()
    data_dir = _absolute(data_dir or os.environ.get("MNISTGEN_DATA_DIR"))  # as every worker must see it
    _check(request, minutes)
    state, replace = open_study(out, request, resume=resume, overwrite=overwrite)
    dev = resolve_device(device)
    ds = load_dataset(state.dataset, data_dir, download_missing=download_missing)  # fail (or fall back) early
    stages = select(declared.study_stages(describe(state.dataset)), only)
    env = environment(dev) | {"torch_threads": state.threads, "kernels": state.kernels}
    profile = PROFILES[state.profile]
    state.n, state.minutes, state.data_info, state.environment = profile.n, minutes, ds.info(), env
    setup = Setup(
        out, profile, state.dataset, data_dir, download_missing, dev.type, state.threads, caps(stages, minutes)
    )
    try:
        with connect(cluster, state.threads, state.kernels, log) as client:
            _prepare(client, out, replace, state)
            _execute(client, out, state, setup, stages, ds.source)
        write_report(out, state, stages)
    except OSError as exc:  # the study folder will not take a file (a full disk, a permission): one line
        raise MnistgenError(
            f"{write_failure(exc, out)}; the study stopped: free the space and continue it with --resume"
        ) from None
    return state


def _execute(client, out: Path, state: StudyState, setup: Setup, stages: Sequence[Stage], source: str) -> None:
    """Run the units not done yet, recording each as it finishes; the state is saved whatever stops them."""
    todo = plan(state, stages)
    log(
        f"mnistgen study -> {out} ({state.profile} profile, {state.dataset} from {source}, seeds "
        f"{seed_words(state.seeds)}, {len(todo)} units to run, {state.threads} threads each, {state.kernels} kernels)"
    )
    started = time.monotonic()
    done = {(r.stage, r.seed): r for r in state.units.values() if r.done}
    try:
        execute(client, setup, {s.name: s for s in stages}, todo, done, lambda rec: _record(out, state, rec))
    finally:
        state.wall_seconds += time.monotonic() - started  # summed over resumes
        with contextlib.suppress(OSError):  # a disk that failed a unit may fail this too: the last saved state holds
            save_state(out, state)


def _absolute(folder: str | None) -> str | None:
    return str(Path(folder).expanduser().resolve()) if folder else None


def _check(request: Request, minutes: float) -> None:
    if minutes < 0:
        raise MnistgenError(f"--minutes must be >= 0, got {minutes:g}")
    if request.profile is not None and request.profile not in PROFILES:
        raise MnistgenError(f"unknown profile {request.profile!r}; choose one of: {', '.join(PROFILES)}")
    if request.threads is not None and request.threads < 1:
        raise MnistgenError(f"--threads-per-worker must be >= 1, got {request.threads}")


def _prepare(client, out: Path, replace: bool, state: StudyState) -> None:
    """Check every worker against the folder (created for a new study, and removed again if a worker fails the
    check), replace an old study if asked, and write the new state."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        preflight(client, out, state.kernels, mnistgen.__version__)
    except MnistgenError:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    if replace:
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    save_state(out, state)


def _record(out: Path, state: StudyState, rec: UnitRecord) -> None:
    state.record(rec)
    save_state(out, state)
    log(
        f"[{rec.stage} seed {rec.seed}] {rec.status}"
        + (f" in {rec.seconds:.0f} s" if rec.seconds else "")
        + (f": {rec.error}" if rec.error else "")
    )


def stage_table(state: StudyState) -> str:
    """Per unit: status, the work it did and its wall time."""
    rows = [f"{'stage':<18} {'seed':>4} {'status':<8} {'work':<48} {'wall':>8}"]
    for r in state.ordered([s.name for s in declared.study_stages(describe(state.dataset))]):
        m = r.outcome.model if r.outcome is not None else None
        work = m.work.summary if m is not None and m.work is not None else ""
        rows.append(f"{r.stage:<18} {r.seed:>4} {r.status:<8} {work:<48} {r.seconds:>7.1f}s")
    rows.append(f"{'total':<18} {'':>4} {'':<8} {'':<48} {stage_seconds(state):>7.1f}s")
    return "\n".join(rows)


__all__ = [
    "FULL",
    "OWN_SUBSTUDIES",
    "PAPER",
    "PROFILES",
    "QUICK",
    "STATE",
    "Cluster",
    "Profile",
    "Request",
    "Stage",
    "StudyState",
    "UnitRecord",
    "caps",
    "load_state",
    "parse_seeds",
    "run_study",
    "select",
    "stage_table",
    "write_report",
]
