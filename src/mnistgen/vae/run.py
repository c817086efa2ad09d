"""A VAE run as the study and the CLI see it: its work in words, and a :class:`TrainedRun` from memory or from disk."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mnistgen import rundir
from mnistgen.family import TrainedRun, Work
from mnistgen.vae.config import KIND, VAERunConfig
from mnistgen.vae.model import VAE
from mnistgen.vae.sampler import load_config, load_model, sampler_of


def vae_work(cfg: VAERunConfig, summary: Mapping[str, Any]) -> Work:
    """Epochs (of at most the config's), the best one, images trained on, and those the decoder saw alone after."""
    epochs, per_epoch = int(summary.get("epochs_completed", 0)), int(summary.get("epoch_images", 0))
    decoder = int((summary.get("decoder_refinement") or {}).get("images_seen", 0))
    images, cut = epochs * per_epoch, summary.get("stopped") == "time-budget"
    counts = {
        "epochs": epochs,
        "max_epochs": cfg.train.epochs,
        "best_epoch": int(summary.get("best_epoch", 0)),
        "images": images,
        "epoch_images": per_epoch,
        "train_images": int((summary.get("dataset") or {}).get("n_train_used", 0)),
        "decoder_images": decoder,
    }
    alone = f"; then the decoder alone, {decoder:,} images" if decoder else ""
    return Work(
        summary=f"{epochs} epochs, {images:,} images"
        + (f" + {decoder:,} decoder-only" if decoder else "")
        + (" (cut)" if cut else ""),
        detail=f"{epochs} of ≤ {cfg.train.epochs} epochs (best {counts['best_epoch']}), {images:,} images{alone}",
        images=images,
        cut_short=cut,
        counts=counts,
    )


def trained_run(
    run_dir: Path,
    cfg: VAERunConfig,
    preset: str,
    summary: Mapping[str, Any],
    model: VAE | None = None,
    device: torch.device | str = "cpu",
) -> TrainedRun[VAERunConfig]:
    """The run's :class:`TrainedRun`: its network is ``model`` (the best weights, in memory) when given, else the best
    checkpoint's, loaded on first use."""
    network = (lambda: model.eval()) if model is not None else (lambda: load_model(run_dir, device)[0])
    return TrainedRun(KIND, run_dir, cfg, preset, summary, vae_work(cfg, summary), network, sampler_of)


def open_trained(run_dir: str | Path, device: torch.device | str = "cpu") -> TrainedRun[VAERunConfig]:
    """A VAE run from disk: config, the summary its training wrote (metadata.json), a lazy sampler."""
    run_dir = Path(run_dir)
    cfg, preset = load_config(run_dir)
    meta = rundir.read_json(run_dir / rundir.METADATA) if (run_dir / rundir.METADATA).exists() else {}
    return trained_run(run_dir, cfg, preset, meta | {"run_dir": str(run_dir)}, device=device)
