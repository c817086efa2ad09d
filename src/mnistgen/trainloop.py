"""The parts every generating family's training loop shares: the quality probe (its fixed noise seed, the default
probe, the history entry it writes), trimming a history to a resumed checkpoint's step, the divergence guard with
its one message, and the step loop of the step-based families (budget, wall-clock cap, progress bar, guard, after-step
work and checkpoint cadence)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import torch

from mnistgen.datasets import describe
from mnistgen.errors import MnistgenError
from mnistgen.metrics import load_evaluator, quick_scores, stacked_quick_scores
from mnistgen.runtime import progress

PROBE_SEED = 4321  # noise of the quality probe (independent of the training RNG)
Probe = Callable[[torch.Tensor], dict]


def default_probe(dataset: str, device: torch.device | str = "cpu") -> Probe:
    """IS / modes / class-KL of images in [0, 1] with the dataset's shipped evaluator (on stacked digits: the channels'
    mean IS, the modes of 1,000 and the KL from uniform)."""
    ev = load_evaluator(dataset, device=device)
    if describe(dataset).stacked:
        return lambda images: stacked_quick_scores(images, ev)
    return lambda images: quick_scores(images, ev)


def resolve_probe(probe: Probe | str | None, dataset: str, device: torch.device, wanted: bool = True) -> Probe | None:
    """A training call's ``probe`` argument as a probe: "default" is the dataset's evaluator (None when the run takes
    no probes: ``wanted`` false), a callable is itself, None is none."""
    if isinstance(probe, str):
        if probe != "default":
            raise MnistgenError(f"probe must be a function, 'default' or None, got {probe!r}")
        return default_probe(dataset, device) if wanted else None
    return probe


def probe_noise() -> torch.Generator:
    """The generator the probe's noise is drawn from: the same every time, whatever the training RNG's state."""
    return torch.Generator().manual_seed(PROBE_SEED)


def probe_entry(probe: Probe, draw: Callable[[], torch.Tensor], step: int, train_seconds: float, wall0: float) -> dict:
    """Draw the probe's images (``draw``), score them with ``probe`` and return the history's probe entry (``wall0``:
    the call's start, for its wall time; ``probe_seconds`` counts drawing and scoring)."""
    started = time.perf_counter()
    images = draw()
    scores = probe(images)
    return {
        "step": step,
        "train_seconds": train_seconds,
        "wall_seconds": time.perf_counter() - wall0,
        "n": len(images),
        "is": scores["is"],
        "modes": scores["modes"],
        "class_kl": scores["class_kl"],
        "probe_seconds": time.perf_counter() - started,
    }


def trim_history(history: Mapping[str, Any], step: int) -> dict[str, Any]:
    """A step-based history cut back to ``step`` (the checkpoint a run resumes from): every per-step list keeps its
    entries up to that step, the probes those taken at or before it, and anything else stays as it is."""
    per_step = len(history.get("step", []))
    keep = sum(1 for s in history.get("step", []) if s <= step)
    out: dict[str, Any] = {}
    for key, value in history.items():
        if key == "probe":
            out[key] = [p for p in value if p["step"] <= step]
        elif isinstance(value, list) and len(value) == per_step:
            out[key] = value[:keep]
        else:
            out[key] = value
    return out


def finite(values: Mapping[str, float], limit: float = math.inf) -> bool:
    """Are all ``values`` finite and at most ``limit`` in size?"""
    return all(math.isfinite(v) and abs(v) <= limit for v in values.values())


def diverged(model: str, where: str, values: Mapping[str, float], kept: str | None, run_dir: Path, remedy: str):
    """The one error of a training run whose loss became NaN or exploded: what, where, which values, what was kept
    (``kept``: the last good checkpoint's step or epoch in words, None when none was written) and what to change."""
    shown = ", ".join(f"{name} {value:.4g}" for name, value in values.items())
    saved = f"the last good checkpoint ({kept}) is kept in {run_dir}" if kept else "no checkpoint was written yet"
    return MnistgenError(f"{model} training diverged at {where} ({shown}); {saved}; lower {remedy} and retry")


class StepState(Protocol):
    """What the step loop reads of a step-based trainer."""

    step: int

    def checkpoint(self) -> None: ...

    def save_history(self) -> None: ...


def run_steps(
    state: StepState,
    steps: int,
    max_minutes: float,
    wall0: float,
    checkpoint_every: int,
    train_step: Callable[[], Mapping[str, float]],
    after_step: Callable[[Mapping[str, float]], None],
    guard: Callable[[Mapping[str, float]], MnistgenError | None],
    desc: str,
) -> str:
    """Step until ``steps`` (0: no limit) or the optional wall-clock cap of this call; returns why it stopped
    ("steps" or "time"). After every step: the ``guard`` (an error to raise, with the history saved, or None), the
    family's ``after_step`` work, and a checkpoint with the history every ``checkpoint_every`` steps."""
    bar = progress(total=steps or None, initial=state.step, desc=desc, unit="step")
    try:
        while not steps or state.step < steps:
            if max_minutes and time.perf_counter() - wall0 >= 60 * max_minutes:
                return "time"
            losses = train_step()
            bar.update(1)
            error = guard(losses)
            if error is not None:
                state.save_history()
                raise error
            after_step(losses)
            if state.step % checkpoint_every == 0:
                state.checkpoint()
                state.save_history()
        return "steps"
    finally:
        bar.close()
