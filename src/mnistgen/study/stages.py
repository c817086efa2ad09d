"""The stages of a study, in order: the study's own (the evaluator, the real data's scores, the comparison figure)
around every registered family's declared stages. A stage runs once per seed (a *unit*) and returns a
:class:`StageResult`; the report renders what the units return, in the sections the stages declare, and names no
stage, family or figure path itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from mnistgen import families
from mnistgen.config import DATASETS
from mnistgen.data import load_dataset
from mnistgen.datasets import DatasetInfo, describe
from mnistgen.errors import MnistgenError
from mnistgen.metrics import evaluate_real, held_out, inception_score_of, mode_scores
from mnistgen.plotting import save_rows
from mnistgen.stacked import NAME as STACKED
from mnistgen.stagekit import (
    EVALUATOR,
    Context,
    EvaluatorInfo,
    ModelResult,
    ModeScores,
    Scores,
    Section,
    Stage,
    StageResult,
    SubStudy,
)
from mnistgen.stagekit.modes import ModesRecipe
from mnistgen.study.modes import modes_stage
from mnistgen.study.profiles import PROFILES

SETUP = Section("setup", "Setup", 0)
COMPARISON = Section("comparison", "Quantitative and qualitative comparison", 1)


def _evaluator(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
    ev = ctx.evaluator()
    return StageResult(evaluator=EvaluatorInfo(ev.identity(), ev.describe()))


def _real(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
    if ctx.info.stacked:
        return _real_modes(ctx)
    ev, s = ctx.evaluator(), ctx.setup
    n, kid = ctx.profile.n, ctx.profile.kid_subset
    scores = evaluate_real(
        ev, n=n, seed=ctx.seed, kid_subset_size=kid, data_dir=s.data_dir, download_missing=s.download_missing
    )
    mean, std = inception_score_of(held_out(ev, s.data_dir, s.download_missing), ev, n=500, seed=ctx.seed)
    metrics = scores | {"is_500_mean": mean, "is_500_std": std, "n_500": min(500, scores["n"])}
    label = f"real {ctx.info.title} (held out)"
    return StageResult(model=ModelResult("real", label, "real", Scores.of(metrics)))


def _real_modes(ctx: Context) -> StageResult:
    """Held-out stacked digits (made of the test digits) scored as samples are: the reference row."""
    s, n = ctx.setup, ctx.recipe_as(ModesRecipe).n
    images = load_dataset(ctx.dataset, s.data_dir, s.download_missing).test_images[:n]
    metrics = mode_scores(images, ctx.evaluator(), seed=ctx.seed, kid_subset_size=min(ctx.profile.kid_subset, n))
    label = f"real {ctx.info.title} (held out)"
    return StageResult(model=ModelResult("real", label, None, ModeScores.of(metrics)))


def _comparison(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
    """One figure: a row of real images, then a row of samples of each family's first finished model."""
    first: dict[str, ModelResult] = {}
    for result in deps.values():
        if result.model is not None and result.model.kind != "real":
            first.setdefault(result.model.kind, result.model)
    models = list(first.values())
    s = ctx.setup
    rows = [("real", held_out(ctx.evaluator(), s.data_dir, s.download_missing)[:12])]
    for m in models:
        assert m.run_dir is not None  # a trained model's result names its run
        rows.append((m.label.replace(" (", "\n(", 1), ctx.open(m.run_dir).sample(12, seed=ctx.seed)))
    names = [m.label.split(" (")[0] for m in models]  # "VAE", "GAN", "Flow matching"
    title = f"{ctx.info.title}: " + " vs ".join(["real", *names]) + " samples"  # e.g. "MNIST: real vs VAE vs GAN …"
    path = save_rows(rows, ctx.out / "figures" / "comparison.png", title)
    shown = ", ".join([f"a row of real {ctx.info.items}", *(f"a row of {m.label} samples" for m in models)])
    caption = f"{shown[0].upper()}{shown[1:]}: the first samples drawn, not chosen."
    return StageResult((ctx.fig(path, caption),))


ALL_DATASETS = tuple(DATASETS)
OWN_FIRST = (
    Stage(
        EVALUATOR,
        "the dataset's evaluator classifier (shipped with the package)",
        SETUP,
        _evaluator,
        datasets=ALL_DATASETS,
    ),
    Stage(
        "real",
        "real-data reference scores",
        SETUP,
        _real,
        needs=(EVALUATOR,),
        recipes={"full": ModesRecipe(), "quick": ModesRecipe(n=200)},  # how many held-out stacked images
        datasets=ALL_DATASETS,
    ),
)
OWN_LAST = (
    Stage(
        "comparison",
        "qualitative comparison figure",
        COMPARISON,
        _comparison,
        needs=(EVALUATOR,),
        after_models=True,
    ),
    Stage(
        "modes",
        "every model's 1,000 mode counts, sorted, beside a uniform spread",
        COMPARISON,
        modes_stage,
        needs=(EVALUATOR,),
        after=("real",),
        after_models=True,
        datasets=(STACKED,),
    ),
)
OWN_SUBSTUDIES = (
    SubStudy(
        "modes",
        "mode collapse on Stacked MNIST's 1,000 modes: DCGAN with and without packing, the fast GAN, the conv VAE "
        "and flow matching, beside the published table",
        (),
        dataset=STACKED,
    ),
)


def study_stages(dataset: DatasetInfo | None = None) -> list[Stage]:
    """The study's stages in order -- its own first ones, every family's, its own last ones -- for ``dataset`` (all
    of them when None), each ``after_models`` stage waiting for the model stages before it."""
    declared = [*OWN_FIRST, *families.stages(), *OWN_LAST]
    chosen = [s for s in declared if dataset is None or s.runs_on(dataset)]
    _check(chosen)
    out: list[Stage] = []
    for stage in chosen:
        if stage.after_models:
            earlier = tuple(s.name for s in out if s.kind is not None and s.name not in stage.after)
            stage = dataclasses.replace(stage, after=(*stage.after, *earlier))
        out.append(stage)
    return out


def _check(stages: Sequence[Stage]) -> None:
    """Names unique, dependencies declared, recipes only for known profiles."""
    seen: set[str] = set()
    for stage in stages:
        if stage.name in seen:
            raise MnistgenError(f"two study stages are named {stage.name!r}")
        unknown = [d for d in (*stage.needs, *stage.after) if d not in seen]
        if unknown:
            raise MnistgenError(f"stage {stage.name!r} waits for {unknown[0]!r}, which is not declared before it")
        strange = [p for p in stage.recipes if p not in PROFILES]
        if strange:
            raise MnistgenError(f"stage {stage.name!r} declares a recipe for the unknown profile {strange[0]!r}")
        seen.add(stage.name)


def by_name(dataset: str | None = None) -> dict[str, Stage]:
    return {s.name: s for s in study_stages(describe(dataset) if dataset else None)}


def generators(stages: Sequence[Stage]) -> tuple[str, ...]:
    """The stages that score a trained model, in order."""
    return tuple(s.name for s in stages if s.kind is not None)


def sections(stages: Sequence[Stage]) -> list[Section]:
    """The report's sections the stages declare, in their order."""
    return sorted({s.section for s in stages}, key=lambda sec: sec.order)
