"""The study (``mnistgen run``): its profiles, stages, planning and execution, the GAN sub-studies and the report.

Modules: ``profiles`` (full / quick), ``core`` (Stage, Study, plan, execute), ``stages`` (the study's
stages in order), ``gan_studies`` (loss comparison, capacity sweep), ``captions`` (figure captions
computed from data), ``content`` and ``report`` (the report from what the stages returned).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

from mnistgen.data import load_dataset
from mnistgen.errors import MnistgenError
from mnistgen.rundir import write_json
from mnistgen.runtime import environment, resolve_device
from mnistgen.study.core import STATE, Stage, Study, execute, load_state, plan
from mnistgen.study.profiles import FULL, QUICK, Profile
from mnistgen.study.report import write_report
from mnistgen.study.stages import STAGES

DEFAULT_MINUTES = 16.5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def open_study(out: Path, *, quick: bool, resume: bool, overwrite: bool) -> dict[str, Any]:
    """The saved state of a study to resume, or {} for a new one (replacing an old one only with ``overwrite``)."""
    if out.exists() and not out.is_dir():
        raise MnistgenError(f"{out} exists and is not a directory")
    state = load_state(out) if (out / STATE).exists() else {}
    if state and not resume:
        if not overwrite:
            raise MnistgenError(f"{out} already holds a study; pass --resume to continue it or --overwrite to replace it")
        shutil.rmtree(out)
        state = {}
    if resume and not state:
        raise MnistgenError(f"--resume: {out} holds no study to continue")
    return state


def run_study(out: str | Path, *, minutes: float | None = None, quick: bool = False, resume: bool = False,
              overwrite: bool = False, dataset: str | None = None, data_dir: str | None = None,
              download_missing: bool = True, device: str = "auto", seed: int = 0) -> dict[str, Any]:
    """Run (or resume) the whole study into ``out``; returns its state (also in ``out/study.json``)."""
    out = Path(out)
    minutes = minutes if minutes is not None else (0.0 if quick else DEFAULT_MINUTES)
    if minutes < 0:
        raise MnistgenError(f"--minutes must be >= 0, got {minutes:g}")
    state = open_study(out, quick=quick, resume=resume, overwrite=overwrite)
    profile = QUICK if (state.get("profile") == "quick" if state else quick) else FULL
    dataset = state.get("dataset") or dataset or "mnist"
    dev = resolve_device(device)
    ds = load_dataset(dataset, data_dir, download_missing=download_missing)  # fail (or fall back) early
    (out / "figures").mkdir(parents=True, exist_ok=True)
    state.setdefault("profile", profile.name)
    state.setdefault("dataset", dataset)
    state.setdefault("seed", seed)
    state.update(n=profile.n, minutes=minutes, data_info=ds.info(), environment=environment(dev))
    study = Study(out, profile, data_dir, str(dev.type), state["seed"], download_missing, state)
    log(f"mnistgen study -> {out} ({profile.name} profile, {dataset} from {ds.source}, {minutes:g} min training budget, "
        f"device {dev})")
    started = time.monotonic()
    execute(study, STAGES, minutes, log)
    state["wall_seconds"] = state.get("wall_seconds", 0.0) + time.monotonic() - started  # summed over resumes
    write_json(out / STATE, state)
    state["paths"] = {k: str(v) for k, v in write_report(out, state).items()}
    return state


def stage_table(state: dict) -> str:
    rows = [f"{'stage':<18} {'status':<8} {'budget':>7} {'wall':>8}"]
    for name, s in state.get("stages", {}).items():
        budget = f"{s.get('budget_minutes', 0) or 0:.1f}m"
        rows.append(f"{name:<18} {s.get('status', '?'):<8} {budget:>7} {s.get('seconds', 0) or 0:>7.1f}s")
    rows.append(f"{'total':<18} {'':<8} {'':>7} {state.get('wall_seconds', 0):>7.1f}s")
    return "\n".join(rows)


__all__ = ["DEFAULT_MINUTES", "FULL", "QUICK", "STAGES", "STATE", "Profile", "Stage", "Study", "execute", "load_state", "plan",
           "run_study", "stage_table", "write_report"]
