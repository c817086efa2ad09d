"""The study's own summary of a stacked-digits study: every model's 1,000 mode counts, sorted from the most to the
least visited, beside the flat line of a uniform spread -- collapse shows as a cliff, coverage as a long flat run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mnistgen.plotting import plt, save_figure
from mnistgen.stacked import MODES
from mnistgen.stagekit import Context, ModelResult, ModeScores, StageResult
from mnistgen.stagekit.modes import modes_count


def _with_modes(deps: Mapping[str, StageResult]) -> list[tuple[ModelResult, ModeScores]]:
    return [
        (r.model, r.model.scores)
        for r in deps.values()
        if r.model is not None and isinstance(r.model.scores, ModeScores)
    ]


def plot_mode_counts(rows: list[tuple[ModelResult, ModeScores]], path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5.6))
    for model, s in rows:
        counts = np.sort(np.asarray(s.mode_counts))[::-1]
        style = {"color": "black", "lw": 2.2} if model.kind == "real" else {"lw": 1.4}
        ax.plot(np.arange(1, MODES + 1), counts, label=f"{model.label}: {s.modes:,} modes, KL {s.kl:.3f}", **style)
    n = rows[0][1].n
    ax.axhline(n / MODES, color="gray", ls=":", label=f"uniform: {n / MODES:g} samples per mode (n = {n:,})")
    ax.set(
        xlabel="modes, from the most to the least visited",
        ylabel="samples in the mode",
        title=title,
        xlim=(1, MODES),
    )
    ax.set_yscale("symlog", linthresh=1)  # empty modes stay on the axis at 0
    ax.set_ylim(0, max(max(s.mode_counts) for _, s in rows) * 1.5)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    return save_figure(fig, path)


def counts_caption(rows: list[tuple[ModelResult, ModeScores]]) -> str:
    """Which models reach every mode, and whose histogram is furthest from uniform, from the numbers."""
    models = [(m, s) for m, s in rows if m.kind != "real"]
    full = [m.label for m, s in models if s.modes == MODES]
    worst = max(models, key=lambda ms: ms[1].kl) if models else None
    reach = (
        f"{', '.join(full)} reach{'es' if len(full) == 1 else ''} all {MODES:,} modes"
        if full
        else f"no model reaches all {MODES:,} modes"
    )
    spread = (
        f"; the least even spread is the {worst[0].label}'s (KL {worst[1].kl:.3f}, {modes_count(worst[1].modes)})"
        if worst is not None
        else ""
    )
    n = rows[0][1].n
    return (
        f"Every model's {MODES:,} mode counts over {n:,} samples, sorted, beside a uniform spread ({n / MODES:g} "
        f"per mode; held-out real triples in black): {reach}{spread}."
    )


def modes_stage(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
    rows = _with_modes(deps)
    if not rows:
        return StageResult(note="no model of stacked digits finished")
    real = [r for r in rows if r[0].kind == "real"]
    rows = real + [r for r in rows if r[0].kind != "real"]
    path = plot_mode_counts(rows, ctx.out / "figures" / "mode-counts.png", f"{ctx.info.title}: how the samples spread")
    return StageResult((ctx.fig(path, counts_caption(rows)),))
