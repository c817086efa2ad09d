"""Flow figures: the loss curve (with the probes), 100 samples, the path from noise to image, and one row per class
for a class-conditional run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mnistgen import rundir
from mnistgen.flow.model import VelocityNet
from mnistgen.flow.sampler import Draw, generate, load_config, load_net
from mnistgen.plotting import plt, save_figure, save_grid, smooth, tile

PATH_TIMES = (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875)  # columns of the path grid (then t = 1)
GRID_SEED = 1234


def plot_loss(hist: dict, path: Path, title: str) -> Path:
    """Flow-matching loss per step (moving average) and, on a second axis, the probes' IS."""
    fig, ax = plt.subplots(figsize=(7, 4))
    steps, w = np.asarray(hist["step"]), max(1, len(hist["step"]) // 50)
    ax.plot(steps[w - 1 :] if w > 1 else steps, smooth(hist["loss"], w), color="tab:blue", label=f"loss (mean of {w})")
    ax.set(xlabel="optimiser step", ylabel="flow-matching loss (MSE of the velocity)", title=title)
    ax.grid(alpha=0.3)
    lines = ax.get_legend_handles_labels()
    if hist.get("probe"):
        ax2 = ax.twinx()
        ax2.plot(
            [p["step"] for p in hist["probe"]],
            [p["is"] for p in hist["probe"]],
            "s--",
            color="tab:red",
            label=f"probe IS (n = {hist['probe'][-1]['n']})",
        )
        ax2.set(ylabel="Inception Score", ylim=(0, 10.5))
        extra = ax2.get_legend_handles_labels()
        lines = (lines[0] + extra[0], lines[1] + extra[1])
    ax.legend(*lines, loc="center right", fontsize=8)
    return save_figure(fig, path)


def save_path_grid(net: VelocityNet, draw: Draw, path: Path, rows: int = 8) -> Path:
    """One row per sample, from its noise (t = 0) along the ODE to the image (t = 1)."""
    states = generate(net, rows, torch.Generator().manual_seed(GRID_SEED), draw, keep=PATH_TIMES)
    images = torch.stack(states, 1).flatten(0, 1)  # (rows * columns, C, 28, 28), row-major
    fig, ax = plt.subplots(figsize=(1.0 * len(states), 1.0 * rows + 0.6))
    ax.imshow(tile(images, nrow=len(states)), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([(i + 0.5) * 30 for i in range(len(states))], [f"t = {t:g}" for t in (*PATH_TIMES, 1.0)], fontsize=7)
    ax.set_yticks([])
    ax.set_title(f"From noise (t = 0) to image (t = 1) along the learned ODE ({draw.solver.words()})")
    return save_figure(fig, path)


def make_figures(run_dir: str | Path, net: VelocityNet | None = None) -> list[Path]:
    """Every figure of one flow run, from history.json and ``net`` (the trained one in memory) or, without it, the
    last checkpoint's (read once)."""
    run_dir = Path(run_dir)
    figs, hist = run_dir / rundir.FIGURES, rundir.read_json(run_dir / rundir.HISTORY)
    cfg = load_config(run_dir)[0]
    net = net if net is not None else load_net(run_dir)[0]
    draw, steps = Draw.of(cfg), (hist["step"] or [0])[-1]
    out = [plot_loss(hist, figs / "loss.png", f"Flow matching: loss per step ({steps:,} steps)")]
    images = generate(net, 100, torch.Generator().manual_seed(0), draw)[0]
    out.append(save_grid(images, figs / "samples.png", f"100 flow samples (step {steps:,}; {draw.solver.words()})"))
    out.append(save_path_grid(net, draw, figs / "path.png"))
    if cfg.model.classes:  # one row per label, or per k-means cluster (the first 10)
        rows = min(cfg.model.classes, 10)
        by_code = torch.cat(
            [
                generate(net, 10, torch.Generator().manual_seed(GRID_SEED), Draw(draw.solver, k, draw.guidance))[0]
                for k in range(rows)
            ]
        )
        what = "label" if cfg.model.code == "labels" else f"k-means cluster (the first {rows} of {cfg.model.classes})"
        name = "classes.png" if cfg.model.code == "labels" else "codes.png"
        out.append(save_grid(by_code, figs / name, f"one row per {what}; guidance {draw.guidance:g}"))
    return out
