"""The original's question about its 2-D latent map: the classes "were nested together ... the encoder is not
capable of creating distinct distributions". How much do the classes overlap in the seed networks' 2-D code, and is
the encoder to blame? The conv VAE's networks get a 2-D code, trained as the seed networks' is, and the two maps are
set side by side: their 5-NN accuracy and how much each class overlaps the others."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mnistgen import rundir
from mnistgen.datasets import DatasetInfo
from mnistgen.stagekit import Claim, Context, Phenomenon, StageResult, pct, result_type
from mnistgen.vae.config import configure
from mnistgen.vae.training import train
from mnistgen.vae.words import latent_caption

SEED_STAGE, WARM_FROM = "vae-seed-2d", "vae-conv"


@result_type
@dataclass(frozen=True)
class EncoderBlame(Phenomenon):
    """The seed networks' 2-D map against a convolutional encoder's: 5-NN accuracy and mean per-class overlap."""

    seed_knn: float
    conv_knn: float
    seed_overlap: float
    conv_overlap: float


def blame_words(p: EncoderBlame) -> str:
    """Which way the numbers fell, in the original's terms."""
    numbers = (
        f"5-NN {p.seed_knn:.3f} vs {p.conv_knn:.3f}, each class overlapping the others by {pct(p.seed_overlap)} vs "
        f"{pct(p.conv_overlap)} on average"
    )
    if p.conv_knn > p.seed_knn:
        return f"the seed networks' classes overlap; a convolutional encoder separates them better: {numbers}"
    return f"a convolutional encoder does not separate the classes better than the seed networks: {numbers}"


OVERLAP = Claim(
    "latent_map_overlap",
    EncoderBlame,
    lambda i: "the classes overlap in the seed networks' 2-D code, as the original saw (5-NN below 0.9)",
    lambda p: p.seed_knn < 0.9,
    lambda p, i: f"5-NN {p.seed_knn:.3f}; each class overlaps the others by {pct(p.seed_overlap)} on average",
    measures=lambda p: {"5-NN": p.seed_knn, "mean class overlap": p.seed_overlap},
)
CLAIM = Claim(
    "latent_map_encoder",
    EncoderBlame,
    lambda i: (
        "a convolutional encoder's 2-D code separates the classes better (the original's guess: the encoder "
        "is to blame)"
    ),
    lambda p: p.conv_knn > p.seed_knn,
    lambda p, i: blame_words(p),
    measures=lambda p: {"5-NN, conv": p.conv_knn, "mean class overlap, conv": p.conv_overlap},
)
CLAIMS = (OVERLAP, CLAIM)


def _stats(run_dir: Path) -> dict | None:
    path = run_dir / rundir.FIGURES / "latent_map.json"
    return rundir.read_json(path) if path.is_file() else None


def map_caption(conv: dict, seed: dict | None, info: DatasetInfo) -> str:
    head = "The conv VAE's networks with a 2-D code, trained as the seed networks' 2-D VAE is. "
    ours = latent_caption(conv, info)
    if seed is None:
        return head + ours + " (The seed networks' map did not finish: no comparison.)"
    p = EncoderBlame(seed["knn_accuracy"], conv["knn_accuracy"], seed["mean_overlap"], conv["mean_overlap"])
    return f"{head}{ours} Beside the seed networks' map: {blame_words(p)}."


def encoder_stage(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
    """Train the conv networks with a 2-D code (from the 32-D conv VAE's plane) and compare their map with the seed
    networks'."""
    preset = ctx.recipe.preset
    cfg = ctx.configure(configure(preset), {"train.warm_start": str(ctx.out / WARM_FROM)})
    trained = ctx.train(train, cfg, ctx.stage.name, preset)
    conv, seed = _stats(trained.run_dir), _stats(ctx.out / SEED_STAGE)
    if conv is None:
        return StageResult(note="no latent map was drawn (the dataset's test split was not found)")
    caption = map_caption(conv, seed, ctx.info)
    figure = ctx.fig(trained.run_dir / rundir.FIGURES / "latent_map.png", caption, f"{OVERLAP.key} {CLAIM.key}")
    if seed is None:
        return StageResult((figure,))
    blame = EncoderBlame(seed["knn_accuracy"], conv["knn_accuracy"], seed["mean_overlap"], conv["mean_overlap"])
    return StageResult((figure,), phenomena=(blame,))
