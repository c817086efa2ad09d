"""What every family's stage on stacked digits does with its trained run (mnistgen.stacked): score the modes its
samples reach of 1,000, draw them as an RGB grid (red, green and blue: the three digits), and report whether it reaches
them all -- a phenomenon of the mode-collapse benchmark, asked of every seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnistgen import rundir
from mnistgen.datasets import DatasetInfo
from mnistgen.family import TrainedRun
from mnistgen.plotting import save_grid
from mnistgen.stacked import MODES, TEST_SIZE
from mnistgen.stagekit.context import Context
from mnistgen.stagekit.results import Block, ModelResult, ModeScores, Phenomenon, StageResult, result_type
from mnistgen.stagekit.stage import Claim, Recipe
from mnistgen.stagekit.words import pct


@dataclass(frozen=True)
class ModesRecipe(Recipe):
    """A stage's recipe on stacked digits: the preset and values, and the samples whose modes are counted."""

    n: int = TEST_SIZE  # PacGAN's 26,000


@result_type
@dataclass(frozen=True)
class ModesReached(Phenomenon):
    """How many of the 1,000 modes a model's samples reach, and the KL of their histogram from uniform."""

    model: str  # the stage
    label: str
    modes: int
    kl: float
    n: int


def reaches_all(stage: str, label: str) -> Claim:
    """The claim that the ``stage``'s model reaches all 1,000 modes."""
    return Claim(
        f"all_modes_{stage}",
        ModesReached,
        lambda i: f"the {label} reaches all {MODES:,} modes",
        lambda p: p.modes == MODES,
        lambda p, i: f"{modes_count(p.modes)}, KL {p.kl:.3f} (n = {p.n:,})",
        select=lambda p: p.model == stage,
    )


def modes_count(k: int) -> str:
    """'1 mode', '998 modes'."""
    return f"{k:,} mode{'' if k == 1 else 's'}"


def modes_words(s: ModeScores) -> str:
    """'its 26,000 samples reach 998 of 1,000 modes (KL from uniform 0.041); the classifier is unsure of 2 % ...'."""
    unsure = sum(s.channel_unsure) / len(s.channel_unsure)
    return (
        f"its {s.n:,} samples reach {s.modes:,} of {MODES:,} modes (KL from uniform {s.kl:.3f}); the classifier is "
        f"unsure of {pct(unsure)} of their channels; each channel as a digit: IS {s.is_mean:.2f}, FID {s.fid:.2f}"
    )


def grid(ctx: Context, run: TrainedRun[Any], label: str, scores: ModeScores, info: DatasetInfo) -> Block:
    """100 samples as an RGB grid (each channel one digit), captioned from the model's mode scores."""
    path = save_grid(run.sample(100, seed=ctx.seed), run.run_dir / rundir.FIGURES / "stacked.png", f"{label}")
    caption = (
        f"100 samples of {label} on {info.title} (red, green and blue: the three digits), not chosen; "
        + modes_words(scores)
        + "."
    )
    return ctx.fig(path, caption, "ModesReached")


def modes_result(
    ctx: Context, run: TrainedRun[Any], kind: str, label: str, blocks: tuple[Block, ...] = ()
) -> StageResult:
    """Score ``run``'s samples on stacked digits (the recipe's n) and return its row, grid and phenomenon."""
    n = ctx.recipe_as(ModesRecipe).n
    scores = ctx.score_modes(run, n)
    model = ModelResult(kind, label, None, scores, ctx.rel(run.run_dir), run.preset, run.work)
    seen = ModesReached(ctx.stage.name, label, scores.modes, scores.kl, scores.n)
    return StageResult((grid(ctx, run, label, scores, ctx.info), *blocks), model, (seen,))
