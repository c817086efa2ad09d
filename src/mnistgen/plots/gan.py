"""GAN figures: progress grids, loss curves, quality vs time, final samples, study comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from mnistgen import rundir
from mnistgen.plots.common import save_figure, save_grid

LOSS_COLORS = {"bce": "tab:blue", "wgan": "tab:red", "wgan-gp": "tab:green"}


def save_progress_grid(images: torch.Tensor, run_dir: Path, step: int) -> Path:
    """Fixed-noise 10x10 grid at ``step`` under figures/progress/."""
    return save_grid(images[:100], Path(run_dir) / rundir.FIGURES / "progress" / f"grid_step{step:06d}.png",
                     f"fixed noise, step {step}")


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    v = np.asarray([np.nan if x is None else x for x in values], dtype=float)
    if window <= 1 or len(v) < window:
        return v
    kernel = np.ones(window) / window
    return np.convolve(v, kernel, mode="valid")


def plot_losses(histories: dict[str, dict], path: Path, title: str) -> Path:
    """D and G loss per step (moving average), one panel per history; Wasserstein estimate if present."""
    fig, axes = plt.subplots(1, len(histories), figsize=(5.2 * len(histories), 3.8), squeeze=False)
    for ax, (label, h) in zip(axes[0], histories.items()):
        steps = np.asarray(h["step"])
        w = max(1, len(steps) // 100)
        x = steps[w - 1 :] if w > 1 and len(steps) >= w else steps
        ax.plot(x, smooth(h["d_loss"], w), label="D / critic loss", color="tab:orange")
        ax.plot(x, smooth(h["g_loss"], w), label="G loss", color="tab:purple")
        if h.get("loss", "bce") != "bce" and h.get("wasserstein"):
            ax.plot(x, smooth(h["wasserstein"], w), label="Wasserstein estimate", color="black", lw=1)
        if h.get("info"):
            ax.plot(x, smooth(h["info"], w), label="code cross-entropy (InfoGAN)", color="tab:cyan", lw=1)
        ax.set_title(f"{label} (moving average of {w})")
        ax.set_xlabel("generator step")
        ax.set_ylabel("loss")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_quality_vs_time(histories: dict[str, dict], path: Path, title: str, target: float | None = 9.0) -> Path:
    """Probe IS (left) and modes covered (right) against training seconds."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (label, h) in enumerate(histories.items()):
        pr = h.get("probe", [])
        if not pr:
            continue
        t = [p["train_seconds"] for p in pr]
        color = LOSS_COLORS.get(label, f"C{i}")
        ax1.plot(t, [p["is"] for p in pr], marker=".", label=label, color=color)
        ax2.plot(t, [p["modes"] for p in pr], marker=".", label=label, color=color)
    if target:
        ax1.axhline(target, ls="--", color="gray", lw=1, label=f"IS {target:g}")
    n = next((p["n"] for h in histories.values() for p in h.get("probe", [])), None)
    ax1.set_title(f"Inception Score (probe, n = {n})")
    ax1.set_ylabel("IS (max 10)")
    ax2.set_title("classes with >= 1% of samples")
    ax2.set_ylabel("modes")
    ax2.set_ylim(0, 10.5)
    for ax in (ax1, ax2):
        ax.set_xlabel("training time (s)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def run_figures(run_dir: Path) -> list[Path]:
    """Every figure of one GAN run, redrawn from history.json and the last checkpoint."""
    from mnistgen.sampling import sample_images
    from mnistgen.train.gan import load_run_config

    run_dir = Path(run_dir)
    figs = run_dir / rundir.FIGURES
    hist = rundir.read_json(run_dir / rundir.HISTORY)
    loss = hist.get("loss", "bce")
    out = [plot_losses({loss: hist}, figs / "losses.png", f"GAN losses ({loss})")]
    if hist.get("probe"):
        out.append(plot_quality_vs_time({loss: hist}, figs / "quality_vs_time.png", f"GAN sample quality vs training time ({loss})"))
    steps = hist["step"][-1] if hist["step"] else 0
    out.append(save_grid(sample_images(run_dir, 100, seed=0), figs / "samples.png", f"100 GAN samples ({loss}, step {steps})"))
    if load_run_config(run_dir).model.categories:
        out.append(save_code_grid(run_dir, figs / "codes.png"))
    return out


def save_code_grid(run_dir: Path, path: Path) -> Path:
    """10x10 grid of a generator with a categorical code (InfoGAN or k-means clusters): row r = code r (the first
    10 codes), fixed noise per column."""
    from mnistgen.train.gan import generate, grid_latent, load_generator

    g, cfg = load_generator(run_dir)
    k = min(g.categories, 10)
    return save_grid(generate(g, grid_latent(g), cfg.model), path,
                     f"one row per {'k-means cluster' if g.cluster_codes else 'categorical code'} ({k} of {g.categories} shown)")


def save_loss_grids(runs: dict[str, Path], path: Path, title: str, n: int = 100) -> Path:
    """One 10x10 panel of final samples per run (e.g. per loss), side by side."""
    from mnistgen.plots.common import tile
    from mnistgen.sampling import sample_images

    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 4.6), squeeze=False)
    for ax, (label, run) in zip(axes[0], runs.items()):
        ax.imshow(tile(sample_images(run, n, seed=0)), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(label)
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_capacity(rows: list[dict], path: Path, title: str) -> Path:
    """IS and modes covered against generator parameter count (log scale)."""
    params = [r["g_params"] for r in rows]
    fig, ax1 = plt.subplots(figsize=(6.4, 4.0))
    ax1.plot(params, [r["is"] for r in rows], marker="o", color="tab:blue", label="Inception Score")
    ax1.set_xscale("log")
    ax1.set_xlabel("generator parameters")
    ax1.set_ylabel("IS (max 10)", color="tab:blue")
    ax1.set_ylim(0, 10.5)
    ax2 = ax1.twinx()
    ax2.plot(params, [r["modes"] for r in rows], marker="s", ls="--", color="tab:red", label="modes (classes >= 1%)")
    ax2.set_ylabel("modes covered", color="tab:red")
    ax2.set_ylim(0, 10.5)
    for r in rows:
        ax1.annotate(f"w={r['width']}", (r["g_params"], r["is"]), textcoords="offset points", xytext=(4, -12), fontsize=8)
    lines = ax1.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax1.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax1.legend(lines, labels, loc="lower right", fontsize=8)
    ax1.grid(alpha=0.3)
    ax1.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


def save_collapse_grid(small: Path, large: Path, path: Path, title: str) -> Path:
    """Samples of the smallest generator (collapsed) beside the largest (diverse)."""
    return save_loss_grids({f"smallest generator ({Path(small).name})": small, f"largest generator ({Path(large).name})": large},
                           path, f"Mode collapse: {title}")
