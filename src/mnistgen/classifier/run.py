"""A classifier run as the CLI sees it: its work in words and a :class:`TrainedRun` (which draws no images)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mnistgen import rundir
from mnistgen.classifier.config import KIND, ClassifierRunConfig
from mnistgen.family import TrainedRun, Work
from mnistgen.runs import load_run_config


def classifier_work(summary: dict[str, Any]) -> Work:
    """Epochs and the images its optimiser steps saw."""
    epochs, images = int(summary.get("epochs", 0)), int(summary.get("images_seen", 0))
    words = f"{epochs} epochs, {images:,} images"
    return Work(words, words, images, counts={"epochs": epochs, "images": images})


def trained_run(
    run_dir: Path, cfg: ClassifierRunConfig, preset: str, summary: dict[str, Any]
) -> TrainedRun[ClassifierRunConfig]:
    """A classifier run (it draws no images: no sampler)."""
    return TrainedRun(KIND, run_dir, cfg, preset, summary, classifier_work(summary))


def open_trained(run_dir: str | Path, device: torch.device | str = "cpu") -> TrainedRun[ClassifierRunConfig]:
    """A classifier run from disk."""
    cfg, preset = load_run_config(run_dir, KIND, ClassifierRunConfig)
    meta_path = Path(run_dir) / rundir.METADATA
    meta = rundir.read_json(meta_path) if meta_path.exists() else {}
    hist = rundir.read_json(Path(run_dir) / rundir.HISTORY) if (Path(run_dir) / rundir.HISTORY).exists() else {}
    epochs = len(hist.get("epochs", []))
    summary = meta | {
        "run_dir": str(run_dir),
        "epochs": epochs,
        "images_seen": meta.get("steps", 0) * cfg.train.batch_size,
    }
    return trained_run(Path(run_dir), cfg, preset, summary)
