"""GAN figures: progress grids, loss curves, quality vs time, final samples, the code grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mnistgen import rundir
from mnistgen.family import draw
from mnistgen.gan.model import GANModelConfig, Generator
from mnistgen.gan.sampler import generate, grid_latent, load_config, load_generator, sampler_of
from mnistgen.plotting import plt, save_figure, save_grid, smooth

LOSS_COLORS = {"bce": "tab:blue", "wgan": "tab:red", "wgan-gp": "tab:green"}


def save_progress_grid(images: torch.Tensor, run_dir: Path, step: int) -> Path:
    """Fixed-noise 10x10 grid at ``step`` under figures/progress/."""
    return save_grid(
        images[:100],
        Path(run_dir) / rundir.FIGURES / "progress" / f"grid_step{step:06d}.png",
        f"fixed noise, step {step}",
    )


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


def plot_quality(histories: dict[str, dict], path: Path, title: str, targets: tuple[float, ...] = (8.0, 9.0)) -> Path:
    """Probe IS (left) and classes covered (right) against generator steps, one line per history."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (label, h) in enumerate(histories.items()):
        pr = h.get("probe", [])
        if not pr:
            continue
        t = [p["step"] for p in pr]
        color = LOSS_COLORS.get(label, f"C{i}")
        ax1.plot(t, [p["is"] for p in pr], marker=".", label=label, color=color)
        ax2.plot(t, [p["modes"] for p in pr], marker=".", label=label, color=color)
    for target, style in zip(targets, ("--", ":")):
        ax1.axhline(target, ls=style, color="gray", lw=1, label=f"IS {target:g}")
    n = next((p["n"] for h in histories.values() for p in h.get("probe", [])), None)
    ax1.set_title(f"Inception Score (probe, n = {n})")
    ax1.set_ylabel("IS (max 10)")
    ax2.set_title("classes with >= 1% of samples")
    ax2.set_ylabel("modes")
    ax2.set_ylim(0, 10.5)
    for ax in (ax1, ax2):
        ax.set_xlabel("generator step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def make_figures(run_dir: str | Path, generator: Generator | None = None) -> list[Path]:
    """Every figure of one GAN run, redrawn from history.json and ``generator`` (the trained one still in memory) or,
    without it, the last checkpoint's (read once)."""
    run_dir = Path(run_dir)
    figs = run_dir / rundir.FIGURES
    hist = rundir.read_json(run_dir / rundir.HISTORY)
    loss = hist.get("loss", "bce")
    out = [plot_losses({loss: hist}, figs / "losses.png", f"GAN losses ({loss})")]
    if hist.get("probe"):
        out.append(plot_quality({loss: hist}, figs / "quality.png", f"GAN sample quality during training ({loss})"))
    steps = hist["step"][-1] if hist["step"] else 0
    cfg = load_config(run_dir)[0]
    g = generator if generator is not None else load_generator(run_dir)[0]
    images = draw(sampler_of(g, cfg.model), 100, seed=0)
    out.append(save_grid(images, figs / "samples.png", f"100 GAN samples ({loss}, step {steps})"))
    if cfg.model.categories:
        out.append(save_code_grid(g, cfg.model, figs / "codes.png"))
    return out


def save_code_grid(g: Generator, cfg: GANModelConfig, path: Path) -> Path:
    """10x10 grid of a generator with a categorical code (InfoGAN or k-means clusters): row r = code r (the first
    10 codes), fixed noise per column."""
    k = min(g.categories, 10)
    return save_grid(
        generate(g, grid_latent(g), cfg),
        path,
        f"one row per {'k-means cluster' if g.cluster_codes else 'categorical code'} ({k} of {g.categories} shown)",
    )
