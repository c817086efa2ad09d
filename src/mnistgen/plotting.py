"""Shared figure helpers (PNG, matplotlib's Agg backend): image grids, labelled rows, smoothing, saving."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window; must precede pyplot

import matplotlib.pyplot as plt
import numpy as np
import torch

from mnistgen.rundir import atomic_write


def tile(images: torch.Tensor | np.ndarray, nrow: int = 10, pad: int = 2) -> np.ndarray:
    """(N, 1, 28, 28) or (N, 28, 28) images in [0, 1] -> one (H, W) mosaic, nrow images per row; three-channel images
    (N, 3, 28, 28), e.g. stacked digits, -> an RGB mosaic (H, W, 3)."""
    x = (
        images.detach().cpu().float().numpy()
        if isinstance(images, torch.Tensor)
        else np.asarray(images, dtype=np.float32)
    )
    if x.ndim == 4:
        x = x.transpose(0, 2, 3, 1) if x.shape[1] == 3 else x[:, 0]  # (N, 28, 28, 3) or (N, 28, 28)
    if x.max(initial=0) > 1.0:
        x = x / 255.0
    n, h, w = x.shape[:3]
    rows = int(np.ceil(n / nrow))
    canvas = np.ones((rows * (h + pad) + pad, nrow * (w + pad) + pad, *x.shape[3:]), dtype=np.float32) * 0.5
    for i in range(n):
        r, c = divmod(i, nrow)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = x[i]
    return canvas


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 120) -> Path:
    """Save atomically as PNG and close the figure."""
    path = Path(path)
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=dpi, bbox_inches="tight"))
    plt.close(fig)
    return path


def save_grid(images, path: str | Path, title: str, nrow: int = 10, caption: str | None = None) -> Path:
    """A titled grid of digits (white strokes on black, like MNIST)."""
    mosaic = tile(images, nrow=nrow)
    size = max(4.0, 0.5 * nrow)
    fig, ax = plt.subplots(figsize=(size, size * mosaic.shape[0] / mosaic.shape[1] + 0.6))
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
    if caption:
        fig.text(0.5, 0.01, caption, ha="center", va="bottom", fontsize=8)
    return save_figure(fig, path)


def save_rows(rows: Sequence[tuple[str, torch.Tensor]], path: str | Path, title: str) -> Path:
    """One labelled row of digits per entry, e.g. [("real", x), ("VAE", y), ("GAN", z)]."""
    n = max(len(r[1]) for r in rows)
    fig, axes = plt.subplots(len(rows), 1, figsize=(0.6 * n + 1.2, 0.75 * len(rows) + 0.6))
    axes = np.atleast_1d(axes)
    for ax, (label, imgs) in zip(axes, rows):
        ax.imshow(tile(imgs, nrow=n), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=11)
    fig.suptitle(title)
    return save_figure(fig, path)


def smooth(values: Sequence[float | None], window: int) -> np.ndarray:
    """Moving average over ``window`` points ('valid' mode; None counts as NaN)."""
    v = np.asarray([np.nan if x is None else x for x in values], dtype=float)
    if window <= 1 or len(v) < window:
        return v
    return np.convolve(v, np.ones(window) / window, mode="valid")
