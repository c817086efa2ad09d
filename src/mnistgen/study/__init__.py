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
from mnistgen.study.content import stage_seconds
from mnistgen.study.core import STATE, Stage, Study, caps, execute, load_state
from mnistgen.study.profiles import FULL, PAPER, PROFILES, QUICK, Profile
from mnistgen.study.report import write_report
from mnistgen.study.stages import STAGES


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def open_study(out: Path, *, resume: bool, overwrite: bool) -> dict[str, Any]:
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


def run_study(out: str | Path, *, profile: str = "full", minutes: float = 0.0, resume: bool = False,
              overwrite: bool = False, dataset: str | None = None, data_dir: str | None = None,
              download_missing: bool = True, device: str = "auto", seed: int = 0,
              only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Run (or resume) the whole study into ``out``; returns its state (also in ``out/study.json``).

    ``minutes`` (0 = none) caps the training time; the work is otherwise fixed by the profile. ``only`` runs just
    the named stages (a sub-study, e.g. the loss comparison)."""
    out = Path(out)
    if minutes < 0:
        raise MnistgenError(f"--minutes must be >= 0, got {minutes:g}")
    if profile not in PROFILES:
        raise MnistgenError(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")
    state = open_study(out, resume=resume, overwrite=overwrite)
    profile = PROFILES[state.get("profile", profile)]
    dataset = state.get("dataset") or dataset or "mnist"
    dev = resolve_device(device)
    ds = load_dataset(dataset, data_dir, download_missing=download_missing)  # fail (or fall back) early
    (out / "figures").mkdir(parents=True, exist_ok=True)
    state.setdefault("profile", profile.name)
    state.setdefault("dataset", dataset)
    state.setdefault("seed", seed)
    state.update(n=profile.n, minutes=minutes, data_info=ds.info(), environment=environment(dev))
    study = Study(out, profile, data_dir, str(dev.type), state["seed"], download_missing, state)
    cap = f", training capped at {minutes:g} min" if minutes else ""
    log(f"mnistgen study -> {out} ({profile.name} profile, {dataset} from {ds.source}, device {dev}{cap})")
    started = time.monotonic()
    execute(study, [s for s in STAGES if only is None or s.name in only], minutes, log)
    state["wall_seconds"] = state.get("wall_seconds", 0.0) + time.monotonic() - started  # summed over resumes
    write_json(out / STATE, state)
    state["paths"] = {k: str(v) for k, v in write_report(out, state).items()}
    return state


def stage_table(state: dict) -> str:
    """Per stage: status, the work it did and its wall time."""
    rows = [f"{'stage':<18} {'status':<8} {'work':<50} {'wall':>8}"]
    for name, s in state.get("stages", {}).items():
        rows.append(f"{name:<18} {s.get('status', '?'):<8} {work_words(s.get('result') or {}):<50} {s.get('seconds', 0) or 0:>7.1f}s")
    rows.append(f"{'total':<18} {'':<8} {'':<50} {stage_seconds(state):>7.1f}s")
    return "\n".join(rows)


def work_words(result: dict) -> str:
    work = result.get("work") or {}
    if "epochs" in work:
        decoder = f" + {work['decoder_images']:,} decoder-only" if work.get("decoder_images") else ""
        return f"{work['epochs']} epochs, {work['images']:,} images{decoder}" + (" (cut)" if result.get("cut_short") else "")
    if "steps" in work:
        return f"{work['steps']:,} steps, {work['images']:,} images" + (" (cut)" if result.get("cut_short") else "")
    return ""


__all__ = ["FULL", "PAPER", "PROFILES", "QUICK", "STAGES", "STATE", "Profile", "Stage", "Study", "caps", "execute", "load_state",
           "run_study", "stage_table", "work_words", "write_report"]
