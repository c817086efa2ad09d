"""A GAN stage of the study: train the stage's preset with a loss in the unit's seed folder (or continue it), score it,
and describe its samples (and, for a run with a cluster code, its code grid)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from mnistgen import rundir
from mnistgen.family import TrainedRun
from mnistgen.gan.config import KIND, PRESETS, GANRunConfig, configure
from mnistgen.gan.model import GANModelConfig, Generator
from mnistgen.gan.sampler import generate
from mnistgen.gan.study.words import code_caption
from mnistgen.gan.training import train
from mnistgen.metrics import Evaluator
from mnistgen.stagekit import Block, Context, ModelResult, Scores, StageFn, StageResult, samples_caption

ORIGINAL_GAN_IMAGES = PRESETS["seed"].train.steps * PRESETS["seed"].train.batch_size  # the original recipe


@torch.no_grad()
def code_purity(
    g: Generator, cfg: GANModelConfig, evaluator: Evaluator, rows: int = 10, per_row: int = 20
) -> float | None:
    """Mean share of the most common class among ``per_row`` samples of each of the first ``rows`` codes of ``g``
    (None without codes)."""
    if not g.categories:
        return None
    codes = torch.arange(min(rows, g.categories)).repeat_interleave(per_row)
    z = g.sample_latent(len(codes), torch.Generator().manual_seed(0), codes=codes)
    labels = evaluator.probs(generate(g, z, cfg)).argmax(1).reshape(-1, per_row)
    return float(np.mean([np.bincount(r.numpy(), minlength=10).max() / per_row for r in labels]))


def _blocks(ctx: Context, label: str, run: TrainedRun[GANRunConfig], scores: Scores) -> list[Block]:
    work, figs = run.work.counts, run.run_dir / rundir.FIGURES
    what = f"{label}, after {work['steps']:,} generator steps ({work['images']:,} images)"
    if run.preset.startswith("seed"):
        what += f", {work['images'] / ORIGINAL_GAN_IMAGES:.1%} of the original recipe's {ORIGINAL_GAN_IMAGES:,}"
    blocks: list[Block] = [ctx.fig(figs / "samples.png", samples_caption(what, scores.values(), ctx.info))]
    if (figs / "codes.png").is_file():
        network = run.network()
        assert isinstance(network, Generator)
        purity = code_purity(network, run.config.model, ctx.evaluator())
        blocks.append(ctx.fig(figs / "codes.png", code_caption(run.config.model.categories, purity, ctx.info)))
    return blocks


def gan_stage(loss: str, label: str, show: bool) -> StageFn:
    """Train the stage's GAN preset with ``loss`` into the stage's folder, score it, and (``show``) describe its
    samples; ``label`` is its row label with ``{preset}`` standing for the preset."""

    def run(ctx: Context, deps: Mapping[str, StageResult]) -> StageResult:
        preset = ctx.recipe.preset
        cfg = ctx.configure(configure(preset, loss))
        trained = ctx.train(train, cfg, ctx.stage.name, preset, probe=ctx.probe())
        scores = ctx.score(trained)
        row = label.format(preset=preset)
        model = ModelResult(KIND, row, KIND, scores, ctx.rel(trained.run_dir), preset, trained.work)
        return StageResult(tuple(_blocks(ctx, row, trained, scores)) if show else (), model)

    return run
