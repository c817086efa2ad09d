"""Generator capacity vs mode collapse: a ladder of generators from one too weak for its discriminator (the original's
anecdote) to the loss comparison's cross-entropy generator, each scored on its samples' classes and precision/recall.
``mnistgen sweep gan-capacity`` runs it on its own; the study runs it as a stage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mnistgen.config import replace_values
from mnistgen.datasets import DatasetInfo
from mnistgen.family import TrainedRun
from mnistgen.gan.config import GANRunConfig, configure
from mnistgen.gan.model import build, count_params
from mnistgen.gan.run import open_trained
from mnistgen.gan.study import words
from mnistgen.gan.study.figures import plot_capacity, save_collapse_grid
from mnistgen.gan.training import train
from mnistgen.metrics import Evaluator, precision_recall, prob_scores
from mnistgen.stagekit import Claim, Context, Phenomenon, Recipe, StageResult, Table, result_type

# The capacity ladder, weakest generator first: the `weak` MLP against the seed discriminator (the original's
# too-weak generator), then the `small` preset (latent 1, channels 16-8-4, no cluster code) and two wider variants of
# it against the fast preset's discriminator; the top rung is the loss comparison's cross-entropy run (the `fast`
# preset: latent 32, channels 128-64-32, 200 cluster codes).
# label -> (preset, config values, the discriminator it faces).
LADDER: dict[str, tuple[str, Mapping[str, Any], str]] = {
    "MLP 128 vs seed D": ("weak", {}, "seed discriminator"),
    "z 1, 16-8-4": ("small", {}, "fast discriminator"),
    "z 2, 32-16-8": ("small", {"model.z_dim": 2, "model.g_channels": (32, 16, 8)}, "fast discriminator"),
    "z 8, 64-32-16": ("small", {"model.z_dim": 8, "model.g_channels": (64, 32, 16)}, "fast discriminator"),
}
TOP_LABELS = {"fast": "fast (z 32, 128-64-32, 200 clusters)", "seed": "seed DCGAN (z 100, 128-128)"}
HEADERS = (
    "generator",
    "G params",
    "D params",
    "G steps",
    "IS (n = {n})",
    "modes ≥ 1 %",
    "class-KL",
    "top class share",
    "top class at confidence ≥ 0.9",
    "precision",
    "recall",
)


@dataclass(frozen=True)
class LadderRecipe(Recipe):
    """The ladder's recipe on a profile: config values over every rung's preset, and the samples scored per rung."""

    sweep_n: int = 2000


@result_type
@dataclass(frozen=True)
class Collapse(Phenomenon):
    """The too-weak generator's samples: the top class, its share, the share recognised as it at confidence >= 0.9,
    precision and recall, and the verdict ("one-item", "one-image", "partial", "none")."""

    top_class: int
    share: float
    confident_share: float
    precision: float
    recall: float
    modes: int
    verdict: str


@result_type
@dataclass(frozen=True)
class Ladder(Phenomenon):
    """The capacity ladder, weakest first: classes covered and IS of each rung, and whether both rise with capacity."""

    rungs: tuple[str, ...]
    modes: tuple[int, ...]
    scores: tuple[float, ...]
    rising: bool


def _collapse_words(p: Collapse, info: DatasetInfo) -> str:
    what = {"one-item": "one clear", "one-image": "one unclear image,", "partial": "partial:", "none": "no collapse:"}
    return (
        f"{what[p.verdict]} {info.label(p.top_class)} {100 * p.share:.0f} % "
        f"({100 * p.confident_share:.0f} % at conf. ≥ 0.9), {p.modes} class{'es' if p.modes != 1 else ''}"
    )


CLAIMS = (
    Claim(
        "collapse",
        Collapse,
        lambda i: f"the too-weak generator collapses onto one recognisable {i.item}",
        lambda p: p.verdict == "one-item",
        _collapse_words,
    ),
    Claim(
        "ladder",
        Ladder,
        lambda i: "classes covered and IS rise with the generator's capacity",
        lambda p: p.rising,
        lambda p, i: "classes " + " → ".join(map(str, p.modes)) + "; IS " + " → ".join(f"{s:.1f}" for s in p.scores),
    ),
)


def ladder_config(rung: str) -> GANRunConfig:
    """The run config of a rung of the ladder (see LADDER)."""
    preset, values, _ = LADDER[rung]
    return replace_values(configure(preset), values)


def rung_cap_shares() -> dict[str, float]:
    """How the rungs split the capacity stage's share of an optional ``--minutes`` cap: in proportion to the images
    each generates (steps x batch), a rough guide to their training time."""
    trains = {rung: ladder_config(rung).train for rung in LADDER}
    costs = {rung: t.steps * t.batch_size for rung, t in trains.items()}
    return {rung: cost / sum(costs.values()) for rung, cost in costs.items()}


def class_scores(probs: torch.Tensor, seed: int = 0) -> dict[str, Any]:
    """IS, modes, class histogram and the share of samples in the top class at confidence >= 0.9, from the evaluator's
    class probabilities (N, 10) of N samples."""
    s = prob_scores(probs, seed=seed)
    top = int(np.argmax(s["class_histogram"]))
    confident = float(((probs.argmax(1) == top) & (probs.max(1).values >= words.COLLAPSE_CONFIDENCE)).float().mean())
    keys = ("is", "modes", "class_kl", "class_histogram", "max_prob")
    return {k: s[k] for k in keys} | {"top_class": top, "top_confident_share": confident, "n": len(probs)}


@torch.no_grad()
def sweep_row(
    run: TrainedRun[GANRunConfig], rung: str, evaluator: Evaluator, n: int, discriminator: str
) -> dict[str, Any]:
    """A ladder rung's row: parameters, steps, and the class scores and precision/recall of ``n`` of its samples."""
    with torch.random.fork_rng():  # building the networks to count their weights draws initial weights
        g, d = build(run.config.model)
    probs, features = evaluator.probs_and_features(run.sample(n, 0))
    ref = evaluator.reference
    precision, recall = precision_recall(ref.features, features, k=3, real_radii=ref.radii(3))
    return {
        "width": rung,
        "discriminator": discriminator,
        "g_params": count_params(g),
        "d_params": count_params(d),
        "steps": run.work.counts["steps"],
        "precision": precision,
        "recall": recall,
    } | class_scores(probs)


def ladder_table(rows: list[dict]) -> Table:
    keys = ("width", "g_params", "d_params", "steps", "is", "modes", "class_kl")
    return Table(
        tuple(h.format(n=rows[-1]["n"]) for h in HEADERS),
        tuple(
            (*(r[k] for k in keys), max(r["class_histogram"]), r["top_confident_share"], r["precision"], r["recall"])
            for r in rows
        ),
    )


def phenomena(rows: list[dict]) -> tuple[Collapse, Ladder]:
    """The weakest rung's collapse and whether the ladder rises, as :mod:`captions` judges them."""
    weak = rows[0]
    hist = weak["class_histogram"]
    collapse = Collapse(
        int(np.argmax(hist)),
        float(max(hist)),
        weak["top_confident_share"],
        weak["precision"],
        weak["recall"],
        weak["modes"],
        words.collapse_verdict(weak),
    )
    modes, scores = tuple(r["modes"] for r in rows), tuple(float(r["is"]) for r in rows)
    return collapse, Ladder(tuple(r["width"] for r in rows), modes, scores, words.rising(modes, scores))


def capacity_stage(ctx: Context, deps: Mapping[str, Any]) -> StageResult:
    """Train the ladder's rungs, score them and the cross-entropy run above them, and describe the collapse."""
    ev, runs, rows = ctx.evaluator(), [], []
    shares, sweep_n = rung_cap_shares(), ctx.recipe_as(LadderRecipe).sweep_n
    for rung, (preset, _, discriminator) in LADDER.items():
        cfg = ctx.configure(ladder_config(rung), cap_share=shares[rung])
        folder = "gan-capacity/" + re.sub("[^a-z0-9]+", "-", rung.lower()).strip("-")
        runs.append(ctx.train(train, cfg, folder, preset, probe=None))
        rows.append(sweep_row(runs[-1], rung, ev, sweep_n, discriminator))
    runs.append(open_trained(ctx.out / "gan-losses-bce"))  # the most complex generator: the loss comparison's
    preset = runs[-1].preset
    rows.append(sweep_row(runs[-1], TOP_LABELS.get(preset, preset), ev, sweep_n, f"{preset} discriminator"))
    return StageResult((ladder_table(rows), *_figures(ctx, rows, runs, ctx.info)), phenomena=phenomena(rows))


def _figures(
    ctx: Context, rows: list[dict], runs: list[TrainedRun[GANRunConfig]], info: DatasetInfo
) -> tuple[Any, ...]:
    out = ctx.out / "gan-capacity"
    capacity = plot_capacity(rows, out / "capacity.png", f"{info.title}: generator capacity vs quality")
    collapse = save_collapse_grid(runs[0], runs[-1], out / "collapse.png", info, (rows[0]["width"], rows[-1]["width"]))
    return (
        ctx.fig(capacity, words.capacity_caption(rows, info)),
        ctx.fig(collapse, words.collapse_caption(rows[0], info, rows[0]["discriminator"])),
    )
