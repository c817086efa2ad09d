"""A GAN run as the study and the CLI see it: its work in words, and a :class:`TrainedRun` from memory or from disk."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mnistgen import rundir
from mnistgen.family import TrainedRun, Work
from mnistgen.gan.config import KIND, GANRunConfig, hyper
from mnistgen.gan.model import Generator
from mnistgen.gan.sampler import load_config, load_generator, sampler_of


def gan_work(cfg: GANRunConfig, steps: int, stopped: str | None) -> Work:
    """Generator steps, images generated (steps x batch) and real images the critic saw (x critic steps)."""
    batch, n_critic = cfg.train.batch_size, hyper(cfg.train).n_critic
    images, real = steps * batch, steps * batch * n_critic
    cut = stopped == "time"
    return Work(
        summary=f"{steps:,} steps, {images:,} images" + (" (cut)" if cut else ""),
        detail=f"{steps:,} generator steps, {images:,} images (D: {real:,} real)",
        images=images,
        cut_short=cut,
        counts={"steps": steps, "batch": batch, "n_critic": n_critic, "images": images, "real_images": real},
    )


def trained_run(
    run_dir: Path,
    cfg: GANRunConfig,
    preset: str,
    summary: Mapping[str, Any],
    generator: Generator | None = None,
    device: torch.device | str = "cpu",
) -> TrainedRun[GANRunConfig]:
    """The run's :class:`TrainedRun`: its network is ``generator`` (the trained one in memory) when given, else the
    checkpoint's (the EMA copy if the run kept one), loaded on first use."""
    work = gan_work(cfg, int(summary.get("steps", 0)), summary.get("stopped"))
    network = (lambda: generator.eval()) if generator is not None else (lambda: load_generator(run_dir, device)[0])
    return TrainedRun(KIND, run_dir, cfg, preset, summary, work, network, lambda g: sampler_of(g, cfg.model, device))


def open_trained(run_dir: str | Path, device: torch.device | str = "cpu") -> TrainedRun[GANRunConfig]:
    """A GAN run from disk: config, the summary its training wrote (metadata.json, history.json), a lazy sampler."""
    run_dir = Path(run_dir)
    cfg, preset = load_config(run_dir)
    meta = rundir.read_json(run_dir / rundir.METADATA) if (run_dir / rundir.METADATA).exists() else {}
    hist = rundir.read_json(run_dir / rundir.HISTORY) if (run_dir / rundir.HISTORY).exists() else {}
    steps = meta.get("steps", (hist.get("step") or [0])[-1])
    summary = {"run_dir": str(run_dir), "preset": preset, "steps": steps, "stopped": hist.get("stopped")}
    return trained_run(run_dir, cfg, preset, summary, device=device)
