"""Flow matching's part of the study: train the preset, score the profile's samples at its own solver and NFE, measure
quality against the number of function evaluations (and the adaptive reference solver) with the sampling speed, and
say from the numbers how it compares with the other families' models that the study trained before it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from mnistgen import rundir
from mnistgen.family import TrainedRun
from mnistgen.flow.config import KIND, FlowRunConfig, configure
from mnistgen.flow.model import VelocityNet
from mnistgen.flow.sweep import NfeRow, SweepReference, comparison_words, nfe_rows, plot_nfe
from mnistgen.flow.training import train
from mnistgen.metrics import evaluate_images
from mnistgen.stacked import NAME as STACKED
from mnistgen.stagekit import EVALUATOR, Block, Context, ModelResult, Recipe, Scores, Section, Stage, StageResult, Table
from mnistgen.stagekit.modes import ModesRecipe, modes_result, reaches_all

SECTION = Section("flow", "Flow matching", 30)


@dataclass(frozen=True)
class FlowRecipe(Recipe):
    """The flow stage's recipe on a profile: the preset and values, and the samples scored per point of its
    quality-against-NFE sweep."""

    nfe_n: int = 300


def representatives(deps: Mapping[str, StageResult]) -> dict[str, ModelResult]:
    """The first model of each other family among the stages this one ran after (in the study's order), by label."""
    first: dict[str, ModelResult] = {}
    for result in deps.values():
        model = result.model
        if (
            model is not None
            and model.kind not in (KIND, "real")
            and model.kind not in {m.kind for m in first.values()}
        ):
            first[model.label] = model
    return first


def references(ctx: Context, others: Mapping[str, ModelResult], n: int) -> list[SweepReference]:
    """The other models scored over the sweep's number of samples (FID is biased upwards at small n)."""
    refs = []
    for label, model in others.items():
        if model.run_dir is None:
            continue
        images = ctx.open(model.run_dir).sample(n, seed=ctx.seed)
        scores = evaluate_images(images, ctx.evaluator(), seed=ctx.seed, kid_subset_size=min(ctx.profile.kid_subset, n))
        refs.append(SweepReference(label, n, float(scores["fid"])))
    return refs


def flow_stage(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
    recipe = ctx.recipe_as(FlowRecipe)
    cfg = ctx.configure(configure(recipe.preset))
    trained = ctx.train(train, cfg, ctx.stage.name, recipe.preset, probe=ctx.probe())
    started = time.perf_counter()
    images = trained.sample(ctx.profile.n, seed=ctx.seed)
    draw_seconds = time.perf_counter() - started
    scores = ctx.score_images(images, ctx.evaluator())
    draw = trained.config.sample
    network = trained.network()
    assert isinstance(network, VelocityNet)
    rows = nfe_rows(
        network, draw.solver, draw.guidance, recipe.nfe_n, ctx.seed, ctx.evaluator(), ctx.profile.kid_subset
    )
    others = representatives(deps)
    refs = references(ctx, others, recipe.nfe_n)
    their = {k: m.scores for k, m in others.items() if isinstance(m.scores, Scores)}
    blocks = _blocks(ctx, trained, scores, rows, their, refs, draw_seconds, recipe)
    label = f"Flow matching ({recipe.preset})"
    model = ModelResult(KIND, label, None, scores, ctx.rel(trained.run_dir), recipe.preset, trained.work)
    return StageResult(tuple(blocks), model, note=f"{scores.n:,} samples drawn in {draw_seconds:.1f} s")


def _blocks(
    ctx: Context,
    run: TrainedRun[FlowRunConfig],
    scores: Scores,
    rows: list[NfeRow],
    others: Mapping[str, Scores],
    refs: list[SweepReference],
    draw_seconds: float,
    recipe: FlowRecipe,
) -> list[Block]:
    figs, draw = run.run_dir / rundir.FIGURES, run.config.sample
    title = f"{ctx.info.title}: flow matching against the number of function evaluations (n = {recipe.nfe_n:,} each)"
    nfe_path = plot_nfe(rows, refs, figs / "nfe.png", title)
    how = f"{draw.solver}, NFE {draw.nfe}"
    guided = (
        f", guided by its {'label' if run.config.model.code == 'labels' else 'cluster'} with weight {draw.guidance:g}"
        if run.config.model.classes and draw.guidance != 1.0
        else ""
    )
    table = Table(
        ("solver", "NFE", "s per 1,000 images", "IS", "FID", "precision", "recall", "coverage"),
        tuple(
            (r.solver, r.nfe, round(r.seconds_per_1000, 2), r.is_mean, r.fid, r.precision, r.recall, r.coverage)
            for r in rows
        ),
    )
    alone = f"FID {scores.fid:.2f}, recall {scores.recall:.3f}, coverage {scores.coverage:.3f}."
    return [
        ctx.fig(
            figs / "samples.png",
            f"100 samples of the flow-matching model ({run.work.detail}; drawn with {how}{guided}). Over "
            f"{scores.n:,} samples: " + (comparison_words(scores, others, rows, refs) if others else alone),
        ),
        ctx.fig(
            figs / "path.png",
            "The learned ODE carries each noise image (left, t = 0) to a sample (right, t = 1); "
            f"columns at equal steps of t ({how}).",
        ),
        ctx.fig(
            figs / "loss.png",
            "Flow-matching loss per optimiser step (the squared error of the predicted "
            "velocity; it stays high because the target velocity is random given x_t) and the probes' IS.",
        ),
        table,
        ctx.fig(
            nfe_path,
            f"Quality against the number of evaluations of the velocity field: FID, IS, recall and "
            f"coverage of {recipe.nfe_n:,} samples per point (FID is higher and IS and coverage lower over so "
            f"few samples than over {scores.n:,}), with the adaptive dopri5 solver as the reference; drawing the "
            f"study's {scores.n:,} samples at NFE {draw.nfe} took {draw_seconds:.1f} s.",
        ),
    ]


_QUICK = {
    "model.classes": 20,
    "train.steps": 4,
    "train.batch_size": 8,
    "train.warmup": 1,
    "train.probe_n": 50,
    "model.channels": (8, 16),
    "model.emb": 16,
    "train.checkpoint_every": 2,
}
STAGES: tuple[Stage, ...] = (
    Stage(
        "flow",
        "flow matching (a small U-Net, rectified flow), quality against the number of function evaluations",
        SECTION,
        flow_stage,
        kind=KIND,
        needs=(EVALUATOR,),
        after_models=True,
        recipes={"full": FlowRecipe("fast"), "quick": FlowRecipe("fast", _QUICK, nfe_n=50)},
        share=2.5,
    ),
)


def stacked_stage(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
    """Train the flow preset on the stacked digits and score the modes its samples reach."""
    preset = ctx.recipe.preset
    trained = ctx.train(train, ctx.configure(configure(preset)), ctx.stage.name, preset, probe=ctx.probe())
    return modes_result(ctx, trained, KIND, f"Flow matching ({preset})")


STAGES += (
    Stage(
        "flow-stacked",
        "flow matching (fast) on Stacked MNIST: modes reached of 1,000",
        SECTION,
        stacked_stage,
        kind=KIND,
        needs=(EVALUATOR,),
        recipes={"full": ModesRecipe("fast"), "quick": ModesRecipe("fast", _QUICK, n=200)},
        claims=(reaches_all("flow-stacked", "flow-matching model"),),
        datasets=(STACKED,),
        share=2.0,
    ),
)
