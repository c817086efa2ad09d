"""The VAE's part of the study: the conv preset, the seed networks with early stopping, and their 2-D latent map --
each trained in the unit's seed folder (or continued), scored, described -- with the phenomena they show (the early
stop, the KL term's trend, the latent map) and the claims of the original study they answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnistgen import rundir
from mnistgen.datasets import DatasetInfo
from mnistgen.family import TrainedRun
from mnistgen.rundir import read_json
from mnistgen.stacked import NAME as STACKED
from mnistgen.stagekit import (
    EVALUATOR,
    Block,
    Claim,
    Context,
    ModelResult,
    Phenomenon,
    Recipe,
    Scores,
    Section,
    Stage,
    StageFn,
    StageResult,
    result_type,
    samples_caption,
)
from mnistgen.stagekit.modes import ModesRecipe, modes_result, reaches_all
from mnistgen.vae import words
from mnistgen.vae.config import KIND, VAERunConfig, configure
from mnistgen.vae.latent import CLAIMS as LATENT_CLAIMS
from mnistgen.vae.latent import OVERLAP, encoder_stage
from mnistgen.vae.training import train

SECTION = Section("vae", "Variational autoencoder", 10)
NAMES = {"conv": "convolutional VAE", "seed": "seed VAE (LSTM encoder, tiny decoder)", "seed-2d": "2-D seed VAE"}


@result_type
@dataclass(frozen=True)
class EarlyStop(Phenomenon):
    """The seed VAE's early stopping: the epoch it ended training at (None: it ran to ``max_epochs``)."""

    stopped_at: int | None
    best_epoch: int
    max_epochs: int
    patience: int


@result_type
@dataclass(frozen=True)
class KLTrend(Phenomenon):
    """Whether the validation KL term rose, fell or stayed flat over a VAE's epochs."""

    model: str
    trend: str  # "rises" | "falls" | "flat"
    first: float
    last: float


@result_type
@dataclass(frozen=True)
class LatentMap(Phenomenon):
    """The 2-D VAE's map: k-NN accuracy of the test classes on it, and the classes its samples cover."""

    knn_accuracy: float
    classes: int


def _stop_words(p: EarlyStop, info: DatasetInfo) -> str:
    if p.stopped_at is None:
        return f"no stop within {p.max_epochs} epochs (best {p.best_epoch})"
    return f"stops at epoch {p.stopped_at} (best {p.best_epoch})"


EARLY_STOP = Claim(
    "early_stop",
    EarlyStop,
    lambda i: "early stopping ends the seed VAE's training within its epoch limit",
    lambda p: p.stopped_at is not None,
    _stop_words,
)
KL_RISES = Claim(
    "kl_rises",
    KLTrend,
    lambda i: "the seed VAE's validation KL term rises over training",
    lambda p: p.trend == "rises",
    lambda p, i: f"{p.trend} ({p.first:.1f} → {p.last:.1f} nats)",
    select=lambda p: p.model == "seed",
)


def _blocks(ctx: Context, preset: str, run: TrainedRun[VAERunConfig], scores: Scores, hist: dict) -> list[Block]:
    figs, name, info, cfg = run.run_dir / rundir.FIGURES, NAMES[preset], ctx.info, run.config
    original_rise = info.original is not None  # the original study (on MNIST) saw the KL term rise
    how = ", " + words.sampling_note(hist)
    blocks: list[Block] = [ctx.fig(figs / "samples.png", samples_caption(name, scores.values(), info, how))]
    if (figs / "samples_normal.png").is_file():
        blocks.append(
            ctx.fig(
                figs / "samples_normal.png",
                "The same decoder on 100 codes z ~ N(0, I), the original "
                "study's recipe, for comparison with the fitted prior.",
            )
        )
    if (figs / "latent_map.json").is_file():
        caption = words.latent_caption(read_json(figs / "latent_map.json"), info)
        blocks.append(ctx.fig(figs / "latent_map.png", caption, OVERLAP.key if preset == "seed-2d" else ""))
    stop = words.loss_caption(hist, cfg.train.patience, cfg.train.epochs)
    loss_words = f"The {name}. {stop} {words.refinement_caption(hist)}"
    blocks += [
        ctx.fig(figs / "loss.png", loss_words.rstrip(), "EarlyStop" if preset == "seed" else ""),
        ctx.fig(
            figs / "kl.png",
            f"The {name}. " + words.kl_caption(hist, original_rise),
            "KLTrend" if preset == "seed" else "",
        ),
    ]
    if (figs / "reconstructions.png").is_file() and preset == "conv":
        blocks.append(
            ctx.fig(
                figs / "reconstructions.png",
                "Reconstructions of test images: inputs (top), decoded posterior means (bottom).",
            )
        )
    return blocks


def _phenomena(preset: str, run: TrainedRun[VAERunConfig], scores: Scores, hist: dict) -> tuple[Phenomenon, ...]:
    """The KL term's trend for every VAE; the early stop of the seed VAE; the latent map of the 2-D one."""
    out: list[Phenomenon] = []
    val = hist.get("val_kl") or []
    if len(val) >= 2:
        out.append(KLTrend(preset, words.kl_trend(val[0], val[-1]), float(val[0]), float(val[-1])))
    if preset == "seed":
        t = run.config.train
        epochs = hist.get("epoch") or [0]
        best = int(hist.get("best_epoch") or 0)
        stopped = epochs[-1] if epochs[-1] - best >= t.patience else None
        out.append(EarlyStop(stopped, best, t.epochs, t.patience))
    stats_path = run.run_dir / rundir.FIGURES / "latent_map.json"
    if preset == "seed-2d" and stats_path.is_file():
        out.append(LatentMap(float(read_json(stats_path)["knn_accuracy"]), scores.modes))
    return tuple(out)


def vae_stage(label: str, warm_from: str | None = None) -> StageFn:
    """Train the stage's VAE preset (started from the ``warm_from`` stage's run, if given), score it, describe it."""

    def run(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
        preset = ctx.recipe.preset
        values = {"train.warm_start": str(ctx.out / warm_from)} if warm_from else {}
        cfg = ctx.configure(configure(preset), values)
        trained = ctx.train(train, cfg, ctx.stage.name, preset)
        scores = ctx.score(trained)
        hist = read_json(trained.run_dir / rundir.HISTORY)
        model = ModelResult(KIND, label, KIND, scores, ctx.rel(trained.run_dir), preset, trained.work)
        blocks = tuple(_blocks(ctx, preset, trained, scores, hist))
        return StageResult(blocks, model, _phenomena(preset, trained, scores, hist))

    return run


_QUICK = {"train.batch_size": 128, "data.val_size": 100, "train.decoder_epochs": 1, "train.decoder_images": 300}
# The original study's recipe: Keras defaults, Adam 1e-3, early stopping on up to 100 epochs of the full training set.
_PAPER = {
    "model.init": "keras",
    "train.schedule": "constant",
    "train.lr": 1e-3,
    "train.adam_eps": 1e-7,
    "train.epochs": 100,
    "train.epoch_images": 0,
    "train.batch_size": 128,
    "train.beta": 1.0,
    "data.limit": 0,
    "data.val_size": 5000,
    "model.prior_components": 0,
    "train.warm_start": "",
    "train.decoder_epochs": 0,
}


def _recipes(preset: str, quick: Mapping[str, Any], paper: bool = False) -> dict[str, Recipe]:
    recipes = {"full": Recipe(preset), "quick": Recipe(preset, _QUICK | dict(quick))}
    return recipes | ({"paper": Recipe(preset, _PAPER)} if paper else {})


STAGES: tuple[Stage, ...] = (
    Stage(
        "vae-conv",
        "VAE, strong convolutional preset (mixture prior)",
        SECTION,
        vae_stage("VAE (conv)"),
        kind=KIND,
        needs=(EVALUATOR,),
        recipes=_recipes("conv", {"train.epochs": 1, "model.prior_components": 10}),
        share=1.5,
    ),
    Stage(
        "vae-seed",
        "VAE, the study's LSTM / tiny-decoder networks (latent 10), with early stopping",
        SECTION,
        vae_stage("VAE (seed)"),
        kind=KIND,
        needs=(EVALUATOR,),
        recipes=_recipes(
            "seed",
            {"train.epochs": 2, "train.epoch_images": 300, "train.patience": 1, "model.prior_components": 10},
            paper=True,
        ),
        claims=(EARLY_STOP, KL_RISES),
        share=1.2,
    ),
    Stage(
        "vae-seed-2d",
        "VAE, the seed networks with a 2-D latent (the latent map), started from the 10-D one",
        SECTION,
        vae_stage("VAE (seed, 2-D)", warm_from="vae-seed"),
        kind=KIND,
        needs=(EVALUATOR, "vae-seed"),
        recipes=_recipes(
            "seed-2d", {"train.epochs": 1, "train.warm_plane": 200, "model.prior_components": 5}, paper=True
        ),
        share=0.5,
    ),
    Stage(
        "vae-conv-2d",
        "the conv VAE's networks with a 2-D code, trained as the seed networks' (is the encoder to blame?)",
        SECTION,
        encoder_stage,
        needs=(EVALUATOR, "vae-conv"),
        after=("vae-seed-2d",),
        recipes={
            "full": Recipe("conv-2d"),
            "quick": Recipe("conv-2d", _QUICK | {"train.epochs": 1, "train.warm_plane": 200}),
        },
        claims=LATENT_CLAIMS,
        share=0.5,
    ),
)


def stacked_stage(label: str) -> StageFn:
    """Train the stage's VAE preset on the stacked digits and score the modes its samples reach."""

    def run(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
        preset = ctx.recipe.preset
        trained = ctx.train(train, ctx.configure(configure(preset)), ctx.stage.name, preset)
        return modes_result(ctx, trained, KIND, label)

    return run


# On the stacked digits: the conv VAE's networks and recipe on 3 channels, 4 epochs, each a fresh draw of 64,000 of
# the 123,000 training images. At 2 epochs the code carried the blue digit and a blend of the other two (red and green
# named the same digit in 78 % of samples): 425 modes, KL 2.44; at 4: 1,000 modes in seeds 0 and 1 (KL 0.19, 0.08),
# seed 2 still blended (310 modes) (bench/RESULTS.md, "Stacked MNIST").
STAGES += (
    Stage(
        "vae-stacked",
        "VAE (conv) on Stacked MNIST: modes reached of 1,000",
        SECTION,
        stacked_stage("VAE (conv)"),
        kind=KIND,
        needs=(EVALUATOR,),
        recipes={
            "full": ModesRecipe("conv", {"train.epoch_images": 64_000, "train.epochs": 4}),
            "quick": ModesRecipe("conv", _QUICK | {"train.epochs": 1, "model.prior_components": 10}, n=200),
        },
        claims=(reaches_all("vae-stacked", "VAE (conv)"),),
        datasets=(STACKED,),
        share=1.5,
    ),
)
