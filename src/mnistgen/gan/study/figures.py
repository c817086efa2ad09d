"""Figures of the GAN's study stages: final samples side by side, capacity vs quality, the collapse grid."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mnistgen.datasets import DatasetInfo
from mnistgen.family import TrainedRun
from mnistgen.plotting import plt, save_figure, tile


def save_loss_grids(runs: Mapping[str, TrainedRun[Any]], path: Path, title: str, n: int = 100) -> Path:
    """One 10x10 panel of final samples per run (e.g. per loss), side by side."""
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 4.6), squeeze=False)
    for ax, (label, run) in zip(axes[0], runs.items()):
        ax.imshow(tile(run.sample(n, seed=0)), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(label)
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_capacity(rows: list[dict], path: Path, title: str) -> Path:
    """IS and classes covered for each generator of the ladder, weakest first (its parameter count under its name)."""
    x = np.arange(len(rows))
    fig, ax1 = plt.subplots(figsize=(7.2, 4.2))
    ax1.plot(x, [r["is"] for r in rows], marker="o", color="tab:blue", label="Inception Score")
    ax1.set_ylabel("IS (max 10)", color="tab:blue")
    ax1.set_ylim(0, 10.5)
    ax2 = ax1.twinx()
    ax2.plot(
        x, [r["modes"] for r in rows], marker="s", ls="--", color="tab:red", label="classes with >= 1 % of samples"
    )
    ax2.set_ylabel("classes covered", color="tab:red")
    ax2.set_ylim(0, 10.5)
    ax1.set_xticks(x, [f"{r['width']}\n{r['g_params']:,} params" for r in rows], fontsize=7)
    ax1.set_xlabel("generator (latent size, channels; the discriminator it faced), weakest first")
    lines = ax1.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax1.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax1.legend(lines, labels, loc="lower right", fontsize=8)
    ax1.grid(alpha=0.3)
    ax1.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


def save_collapse_grid(
    small: TrainedRun[Any], large: TrainedRun[Any], path: Path, info: DatasetInfo, names: tuple[str, str]
) -> Path:
    """100 samples of the too-weak generator beside 100 of the most complex one (``names``: their ladder labels)."""
    return save_loss_grids(
        {f"too weak: {names[0]}": small, f"most complex: {names[1]}": large},
        path,
        f"{info.title}: a generator too weak for its discriminator vs the most complex one",
    )
