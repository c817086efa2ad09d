"""Cross-entropy vs Wasserstein losses at equal work: the same generator trained with each loss for the same generator
steps and images, compared on convergence (steps to a target IS) and stability (the IS's wobble over the last third).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mnistgen import rundir
from mnistgen.datasets import DatasetInfo
from mnistgen.errors import MnistgenError
from mnistgen.family import TrainedRun
from mnistgen.gan.config import GANRunConfig, hyper
from mnistgen.gan.figures import plot_losses, plot_quality
from mnistgen.gan.loss import LOSSES
from mnistgen.gan.run import open_trained
from mnistgen.gan.study.figures import save_loss_grids
from mnistgen.gan.study.words import curves_caption, loss_comparison_caption
from mnistgen.stagekit import Block, Claim, Context, Phenomenon, StageResult, Table, result_type


@result_type
@dataclass(frozen=True)
class LossRace(Phenomenon):
    """The losses compared at equal work: generator steps to each target IS (None: never), and the IS spread about its
    trend over the last third (steadiness), per loss."""

    losses: tuple[str, ...]
    targets: tuple[float, ...]
    steps_to: tuple[tuple[int | None, ...], ...]  # [loss][target]
    wobble: tuple[float | None, ...]  # [loss]: the probe IS's spread about its trend over the last third
    loss_wobble: tuple[float | None, ...] = ()  # [loss]: the loss curves' late unsteadiness on their own scale

    def first(self, target: int) -> str | None:
        """The loss that reached target ``target`` (an index) in the fewest steps (None: none did, or a tie)."""
        reached = [(s[target], loss) for loss, s in zip(self.losses, self.steps_to) if s[target] is not None]
        if not reached:
            return None
        best = min(reached)[0]
        winners = [loss for steps, loss in reached if steps == best]
        return winners[0] if len(winners) == 1 else None

    def steadiest(self, measure: str = "wobble") -> str | None:
        """The loss with the smallest ``measure`` ("wobble": the probe IS's; "loss_wobble": the loss curves'), unless
        the runner-up is within 10 % of it (no winner then)."""
        ranked = sorted((w, loss) for loss, w in zip(self.losses, getattr(self, measure)) if w is not None)
        if not ranked or (len(ranked) > 1 and ranked[1][0] <= 1.1 * ranked[0][0]):
            return None
        return ranked[0][1]


def _race_words(p: LossRace, info: DatasetInfo, target: int) -> str:
    steps = [
        f"{loss} {s[target]:,}" if s[target] is not None else f"{loss} never" for loss, s in zip(p.losses, p.steps_to)
    ]
    return f"steps to IS {p.targets[target]:g}: " + ", ".join(steps)


def _steady_words(p: LossRace, info: DatasetInfo, measure: str = "wobble") -> str:
    ranked = sorted((w, loss) for loss, w in zip(p.losses, getattr(p, measure)) if w is not None)
    name = "IS wobble" if measure == "wobble" else "loss-curve unsteadiness"
    return f"{name} " + " < ".join(f"{loss} {w:.3f}" for w, loss in ranked)


CLAIMS = (
    Claim(
        "bce_first_low",
        LossRace,
        lambda i: f"cross-entropy reaches IS {i.is_targets[0]:g} first of the three losses",
        lambda p: p.first(0) == "bce",
        lambda p, i: _race_words(p, i, 0),
    ),
    Claim(
        "bce_first_high",
        LossRace,
        lambda i: f"cross-entropy reaches IS {i.is_targets[1]:g} first of the three losses",
        lambda p: p.first(1) == "bce",
        lambda p, i: _race_words(p, i, 1),
    ),
    Claim(
        "bce_steadiest_curves",
        LossRace,
        lambda i: "cross-entropy's loss curves are the steadiest of the three over the last third (on their own scale)",
        lambda p: p.steadiest("loss_wobble") == "bce",
        lambda p, i: _steady_words(p, i, "loss_wobble"),
        select=lambda p: bool(p.loss_wobble),
    ),
    Claim(
        "bce_steadiest",
        LossRace,
        lambda i: "cross-entropy is the steadiest loss in sample quality (probe IS) over the last third",
        lambda p: p.steadiest() == "bce",
        _steady_words,
    ),
)


def _detrended_std(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Standard deviation of ``y`` about its least-squares line in ``x`` (None below 3 points)."""
    if len(y) < 3:
        return None
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(xa, ya, 1)
    return float(np.std(ya - (slope * xa + intercept)))


def unsteadiness(values: Sequence[float], window: int | None = None) -> float | None:
    """How much a loss curve still moves over its last third, on its own scale: the standard deviation of the curve
    over the last third, divided by its range over the whole run (5th to 95th percentile). The curve is the losses'
    moving average over ``window`` steps (default 1 % of them, at least 5), as the original plotted epoch means, not
    each batch's noise. A ratio of two spreads of the same curve, it is the same whatever the loss's units, sign or
    offset, so cross-entropy and a Wasserstein critic's loss -- of other scales and signs -- compare on it: about 0
    for a curve that has settled, 0.2 to 0.35 for one still swinging across its range. None below 30 steps."""
    y = np.asarray(values, float)
    if len(y) < 30 or not np.isfinite(y).all():
        return None
    w = window or max(5, len(y) // 100)
    curve = np.convolve(y, np.ones(w) / w, mode="valid")
    spread = float(np.percentile(curve, 95) - np.percentile(curve, 5))
    late = curve[-max(2, len(curve) // 3) :]
    return float(late.std() / spread) if spread > 0 else 0.0


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
        "loss_wobble": _mean_of(unsteadiness(hist["d_loss"]), unsteadiness(hist["g_loss"])),
    }


def _mean_of(*values: float | None) -> float | None:
    """The mean of the values, None if one is missing."""
    return None if any(v is None for v in values) else float(np.mean([v for v in values if v is not None]))


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
    "loss curves' late unsteadiness",
)
_BEFORE = ("loss", "recipe", "steps", "images", "real_images")
_AFTER = ("final_is", "best_is", "final_modes", "is_std", "is_wobble", "d_std", "g_std", "loss_wobble")


def loss_table(rows: list[dict], targets: tuple[float, ...]) -> Table:
    """One row per loss: its work, the steps to each target IS, then final quality and stability."""
    return Table(
        tuple(h.format(*targets) for h in HEADERS),
        tuple((*(r.get(k) for k in _BEFORE), *r["steps_to"], *(r.get(k) for k in _AFTER)) for r in rows),
    )


def compare(runs: Mapping[str, TrainedRun[GANRunConfig]], ctx: Context, title: str) -> tuple[list[Block], LossRace]:
    """Finished runs of one model trained with different losses: the table, the figures and the race to the dataset's
    target IS values."""
    if len(runs) < 2:
        raise MnistgenError("fewer than two of the loss runs finished: nothing to compare")
    hists = {loss: rundir.read_json(run.run_dir / rundir.HISTORY) for loss, run in runs.items()}
    targets = ctx.info.is_targets
    rows = []
    for loss, run in runs.items():
        w, tuned = run.work.counts, hyper(run.config.train)
        recipe = f"{tuned.optimizer} {tuned.lr_g:g} / {tuned.lr_d:g}, {tuned.n_critic}"
        rows.append(summarize(hists[loss], w["batch"], w["n_critic"], targets) | {"recipe": recipe})
    if len({r["steps"] for r in rows}) > 1:
        raise MnistgenError("the loss runs trained different numbers of generator steps; compare them at equal work")
    out = ctx.out / "gan-losses"
    out.mkdir(parents=True, exist_ok=True)
    n, race_words = rows[0].get("probe_n"), loss_comparison_caption(rows)
    blocks: list[Block] = [
        loss_table(rows, targets),
        ctx.fig(
            plot_losses(hists, out / "losses.png", f"GAN losses by loss type ({title})"),
            "Discriminator/critic and generator losses per generator step (moving average), one panel per loss, as "
            "the original study plotted them; the Wasserstein panels also show the critic's estimate of the "
            "Wasserstein distance. The losses are on different scales and signs, so each is judged on its own: "
            "how much the curve still moves over the last third against its range over the run. "
            + curves_caption(rows),
            "bce_steadiest_curves",
        ),
        ctx.fig(
            plot_quality(hists, out / "quality.png", f"Sample quality during training ({title})", targets),
            f"Probe Inception Score (n = {n}) and classes covered against generator steps, every loss over the "
            f"same {rows[0]['steps']:,} steps. " + race_words,
            "bce_first_low bce_first_high bce_steadiest",
        ),
        ctx.fig(
            save_loss_grids(runs, out / "samples.png", f"Final samples by loss ({title})"),
            "Final samples of each loss's run (EMA generator), after the same number of generator steps.",
        ),
    ]
    steps_to = tuple(tuple(r["steps_to"]) for r in rows)
    race = LossRace(
        tuple(runs),
        tuple(targets),
        steps_to,
        tuple(r["is_wobble"] for r in rows),
        tuple(r["loss_wobble"] for r in rows),
    )
    return blocks, race


def loss_stage(ctx: Context, deps: Mapping[str, Any]) -> StageResult:
    """Compare the loss runs of this seed that finished."""
    runs = {
        loss: open_trained(ctx.out / f"gan-losses-{loss}")
        for loss in LOSSES
        if (ctx.out / f"gan-losses-{loss}" / rundir.HISTORY).exists()
    }
    preset = next(iter(runs.values())).preset if runs else "?"
    blocks, race = compare(runs, ctx, f"{preset} preset")
    return StageResult(tuple(blocks), phenomena=(race,))
