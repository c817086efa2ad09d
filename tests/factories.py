"""What several test modules build: one tiny GAN config, and the check that a run interrupted and resumed ends in the
state of an uninterrupted one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from mnistgen import gan, rundir
from mnistgen.checkpoint import load_checkpoint
from mnistgen.config import replace_values


def tiny_gan(steps: int = 6, loss: str = "bce", seed: int = 3, train: Mapping[str, Any] | None = None, **model):
    """The GAN family's ``tiny`` preset (the fast layout at a few channels, 256 images) on the CPU, one thread, with
    ``steps`` generator steps, ``loss``, the ``train`` values and the ``model`` changes given."""
    cfg = gan.configure("tiny", loss)
    values = {"runtime.device": "cpu", "runtime.seed": seed, "runtime.threads": 1, "train.steps": steps}
    cfg = replace_values(cfg, values | {f"train.{k}": v for k, v in (train or {}).items()})
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, **model))


def same(a: Any, b: Any, where: str = "") -> None:
    """``a`` equals ``b`` bit for bit: tensors with torch.equal, containers item by item."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, Mapping):
        assert isinstance(b, Mapping) and set(a) == set(b), (where, set(a) ^ set(b))
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def resumes_exactly(
    train: Callable[..., Any], config_at: Callable[[int], Any], half: int, full: int, kind: str, tmp_path: Path, **kw
) -> tuple[dict, dict]:
    """Train ``config_at(full)`` at once and ``config_at(half)`` then resumed to ``full``; assert that the two last
    checkpoints hold the same networks, optimisers, extras and RNG state; return them (uninterrupted, resumed)."""
    train(config_at(full), tmp_path / "full", **kw)
    train(config_at(half), tmp_path / "part", **kw)
    train(config_at(full), resume=tmp_path / "part", **kw)
    a, b = (load_checkpoint(tmp_path / run / rundir.LAST, kind) for run in ("full", "part"))
    for section in ("models", "optimizers", "extra", "rng"):
        same(a[section], b[section], section)
    return a, b
