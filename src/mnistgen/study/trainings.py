"""The study's training stages: a VAE preset, a GAN preset with a loss. Each trains its run in the unit's seed folder
(or continues it), scores it, and returns its model row, its report blocks and the phenomena it shows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from mnistgen import gan, rundir, vae
from mnistgen.family import TrainedRun
from mnistgen.metrics import Evaluator
from mnistgen.rundir import read_json
from mnistgen.study import captions
from mnistgen.study.context import Context
from mnistgen.study.results import Block, EarlyStop, KLTrend, LatentMap, ModelResult, Scores, StageResult

StageFn = Callable[[Context, Mapping[str, StageResult]], StageResult]

ORIGINAL_GAN_IMAGES = gan.PRESETS["seed"].train.steps * gan.PRESETS["seed"].train.batch_size  # the original recipe
VAE_NAMES = {"conv": "convolutional VAE", "seed": "seed VAE (LSTM encoder, tiny decoder)", "seed-2d": "2-D seed VAE"}


def _vae_blocks(ctx: Context, preset: str, run: TrainedRun, scores: Scores, hist: dict) -> list[Block]:
    figs, name, info, cfg = run.run_dir / rundir.FIGURES, VAE_NAMES[preset], ctx.info, run.config
    original_rise = info.original is not None  # the original study (on MNIST) saw the KL term rise
    how = ", " + captions.sampling_note(hist)
    blocks = [ctx.fig(figs / "samples.png", captions.samples_caption(name, scores.values(), info, how))]
    if (figs / "samples_normal.png").is_file():
        blocks.append(
            ctx.fig(
                figs / "samples_normal.png",
                "The same decoder on 100 codes z ~ N(0, I), the original "
                "study's recipe, for comparison with the fitted prior.",
            )
        )
    if (figs / "latent_map.json").is_file():
        caption = captions.latent_caption(read_json(figs / "latent_map.json"), info)
        blocks.append(ctx.fig(figs / "latent_map.png", caption, "LatentMap" if preset == "seed-2d" else ""))
    stop = captions.loss_caption(hist, cfg.train.patience, cfg.train.epochs)
    loss_words = f"The {name}. {stop} {captions.refinement_caption(hist)}"
    blocks += [
        ctx.fig(figs / "loss.png", loss_words.rstrip(), "EarlyStop" if preset == "seed" else ""),
        ctx.fig(
            figs / "kl.png",
            f"The {name}. " + captions.kl_caption(hist, original_rise),
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


def _vae_phenomena(preset: str, run: TrainedRun, scores: Scores, hist: dict) -> tuple[Any, ...]:
    """The KL term's trend for every VAE; the early stop of the seed VAE; the latent map of the 2-D one."""
    out: list[Any] = []
    val = hist.get("val_kl") or []
    if len(val) >= 2:
        out.append(KLTrend(preset, captions.kl_trend(val[0], val[-1]), float(val[0]), float(val[-1])))
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


def vae_stage(preset: str, label: str, warm_from: str | None = None) -> StageFn:
    """Train the VAE ``preset`` (started from the ``warm_from`` stage's run, if given), score it, describe it."""

    def run(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
        name = f"vae-{preset}"
        values = {"train.warm_start": str(ctx.out / warm_from)} if warm_from else {}
        cfg = ctx.configure(vae.configure(preset), name, values)
        trained = ctx.train(vae.FAMILY, cfg, name, preset)
        scores = ctx.score(trained)
        hist = read_json(trained.run_dir / rundir.HISTORY)
        model = ModelResult("vae", label, "vae", scores, ctx.rel(trained.run_dir), preset, trained.work)
        return StageResult(
            tuple(_vae_blocks(ctx, preset, trained, scores, hist)), model, _vae_phenomena(preset, trained, scores, hist)
        )

    return run


@torch.no_grad()
def code_purity(
    g: gan.Generator, cfg: gan.GANModelConfig, evaluator: Evaluator, rows: int = 10, per_row: int = 20
) -> float | None:
    """Mean share of the most common class among ``per_row`` samples of each of the first ``rows`` codes of ``g``
    (None without codes)."""
    if not g.categories:
        return None
    codes = torch.arange(min(rows, g.categories)).repeat_interleave(per_row)
    z = g.sample_latent(len(codes), torch.Generator().manual_seed(0), codes=codes)
    labels = evaluator.probs(gan.generate(g, z, cfg)).argmax(1).reshape(-1, per_row)
    return float(np.mean([np.bincount(r.numpy(), minlength=10).max() / per_row for r in labels]))


def _gan_blocks(ctx: Context, label: str, run: TrainedRun, scores: Scores) -> list[Block]:
    work, figs = run.work.counts, run.run_dir / rundir.FIGURES
    what = f"{label}, after {work['steps']:,} generator steps ({work['images']:,} images)"
    if run.preset.startswith("seed"):
        what += f", {work['images'] / ORIGINAL_GAN_IMAGES:.1%} of the original recipe's {ORIGINAL_GAN_IMAGES:,}"
    blocks: list[Block] = [ctx.fig(figs / "samples.png", captions.samples_caption(what, scores.values(), ctx.info))]
    if (figs / "codes.png").is_file():
        purity = code_purity(run.network(), run.config.model, ctx.evaluator())
        blocks.append(ctx.fig(figs / "codes.png", captions.code_caption(run.config.model.categories, purity, ctx.info)))
    return blocks


def gan_stage(
    name: str, preset: Callable[[Context], str], loss: str, label: Callable[[Context], str], show: bool
) -> StageFn:
    """Train the GAN ``preset(ctx)`` with ``loss`` into ``name``, score it, and (``show``) describe its samples."""

    def run(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
        chosen = preset(ctx)
        cfg = ctx.configure(gan.configure(chosen, loss), name)
        trained = ctx.train(gan.FAMILY, cfg, name, chosen, probe=ctx.probe())
        scores = ctx.score(trained)
        model = ModelResult("gan", label(ctx), "gan", scores, ctx.rel(trained.run_dir), chosen, trained.work)
        return StageResult(tuple(_gan_blocks(ctx, label(ctx), trained, scores)) if show else (), model)

    return run
