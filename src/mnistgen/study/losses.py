"""Cross-entropy vs Wasserstein losses at equal work: the same generator trained with each loss for the same generator
steps and images, compared on convergence (steps to a target IS) and stability (the IS's wobble over the last third).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mnistgen import gan, rundir
from mnistgen.errors import MnistgenError
from mnistgen.family import TrainedRun
from mnistgen.study import captions
from mnistgen.study.context import Context
from mnistgen.study.figures import save_loss_grids
from mnistgen.study.results import Block, Figure, LossRace, StageResult, Table


def _detrended_std(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Standard deviation of ``y`` about its least-squares line in ``x`` (None below 3 points)."""
    if len(y) < 3:
        return None
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(xa, ya, 1)
    return float(np.std(ya - (slope * xa + intercept)))


def summarize(hist: dict, batch: int, n_critic: int, targets: tuple[float, ...] = (8.0, 9.0)) -> dict[str, Any]:
    """Convergence (generator steps and images until the probe IS first reaches each of ``targets``) and stability
    (spread of the probe IS and of the losses over the last third of the steps) of one GAN run."""
    probes, steps = hist.get("probe", []), (hist["step"][-1] if hist["step"] else 0)
    late = [p for p in probes if p["step"] >= 2 * steps / 3] or probes[-1:]
    third = max(1, len(hist["step"]) // 3)
    d_late, g_late = np.asarray(hist["d_loss"][-third:], float), np.asarray(hist["g_loss"][-third:], float)
    reach = [next((p["step"] for p in probes if p["is"] >= t), None) for t in targets]
    last = probes[-1] if probes else {}
    return {
        "loss": hist.get("loss"),
        "steps": steps,
        "images": steps * batch,
        "real_images": steps * batch * n_critic,
        "targets": list(targets),
        "steps_to": reach,
        "images_to": [r and r * batch for r in reach],
        "final_is": last.get("is"),
        "best_is": max((p["is"] for p in probes), default=None),
        "final_modes": last.get("modes"),
        "probe_n": last.get("n"),
        "is_std": float(np.std([p["is"] for p in late])) if late else None,
        "is_wobble": _detrended_std([p["step"] for p in late], [p["is"] for p in late]),
        "d_std": float(d_late.std()) if len(d_late) else None,
        "g_std": float(g_late.std()) if len(g_late) else None,
        "d_jitter": float(np.abs(np.diff(d_late)).mean()) if len(d_late) > 1 else None,
    }


HEADERS = (
    "loss",
    "lr G / D, critic steps",
    "G steps",
    "images (G)",
    "real images (D)",
    "steps to IS {0:g}",
    "steps to IS {1:g}",
    "final IS",
    "best IS",
    "modes",
    "IS std (last ⅓)",
    "IS std about trend",
    "D-loss std",
    "G-loss std",
)
_BEFORE = ("loss", "recipe", "steps", "images", "real_images")
_AFTER = ("final_is", "best_is", "final_modes", "is_std", "is_wobble", "d_std", "g_std")


def loss_table(rows: list[dict], targets: tuple[float, ...]) -> Table:
    """One row per loss: its work, the steps to each target IS, then final quality and stability."""
    return Table(
        tuple(h.format(*targets) for h in HEADERS),
        tuple((*(r.get(k) for k in _BEFORE), *r["steps_to"], *(r.get(k) for k in _AFTER)) for r in rows),
    )


def compare(runs: Mapping[str, TrainedRun], ctx: Context, title: str) -> tuple[list[Block], LossRace]:
    """Finished runs of one model trained with different losses: the table, the figures and the race to the dataset's
    target IS values."""
    if len(runs) < 2:
        raise MnistgenError("fewer than two of the loss runs finished: nothing to compare")
    hists = {loss: rundir.read_json(run.run_dir / rundir.HISTORY) for loss, run in runs.items()}
    targets = ctx.info.is_targets
    rows = []
    for loss, run in runs.items():
        w, hp = run.work.counts, gan.hyper(run.config.train)
        recipe = f"{hp.optimizer} {hp.lr_g:g} / {hp.lr_d:g}, {hp.n_critic}"
        rows.append(summarize(hists[loss], w["batch"], w["n_critic"], targets) | {"recipe": recipe})
    if len({r["steps"] for r in rows}) > 1:
        raise MnistgenError("the loss runs trained different numbers of generator steps; compare them at equal work")
    out = ctx.out / "gan-losses"
    out.mkdir(parents=True, exist_ok=True)
    n, race = rows[0].get("probe_n"), captions.loss_comparison_caption(rows)
    blocks: list[Block] = [
        loss_table(rows, targets),
        ctx.fig(
            gan.plot_losses(hists, out / "losses.png", f"GAN losses by loss type ({title})"),
            "Discriminator/critic and generator losses per generator step (moving average), one panel per loss; "
            "the Wasserstein panels also show the critic's estimate of the Wasserstein distance. The losses are on "
            "different scales: compare how each settles, not their values.",
        ),
        ctx.fig(
            gan.plot_quality(hists, out / "quality.png", f"Sample quality during training ({title})", targets),
            f"Probe Inception Score (n = {n}) and classes covered against generator steps, every loss over the "
            f"same {rows[0]['steps']:,} steps. " + race,
            "LossRace",
        ),
        ctx.fig(
            save_loss_grids(runs, out / "samples.png", f"Final samples by loss ({title})"),
            "Final samples of each loss's run (EMA generator), after the same number of generator steps.",
        ),
    ]
    steps_to = tuple(tuple(r["steps_to"]) for r in rows)
    return blocks, LossRace(tuple(runs), tuple(targets), steps_to, tuple(r["is_wobble"] for r in rows))


def loss_stage(ctx: Context, deps: Mapping[str, Any]) -> StageResult:
    """Compare the loss runs of this seed that finished."""
    runs = {
        loss: gan.open_trained(ctx.out / f"gan-losses-{loss}")
        for loss in gan.LOSSES
        if (ctx.out / f"gan-losses-{loss}" / rundir.HISTORY).exists()
    }
    blocks, race = compare(runs, ctx, f"{ctx.profile.loss_preset} preset")
    return StageResult(tuple(blocks), phenomena=(race,))


__all__ = ["HEADERS", "Figure", "compare", "loss_stage", "loss_table", "summarize"]
