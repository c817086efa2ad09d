"""GAN run configuration: dataclass configs, the presets, per-loss tuning, precision and lr schedule.

``configure(preset, loss)`` is what ``mnistgen train gan --preset P --loss L`` starts from; the
resolved config is saved beside the weights (``config.json``) and inside every checkpoint.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from mnistgen.config import DataConfig, RuntimeConfig, apply_overrides, pick_preset
from mnistgen.errors import MnistgenError
from mnistgen.gan import loss as losses
from mnistgen.gan.model import GANModelConfig
from mnistgen.runtime import check_precision

KIND = "gan"
BUDGET_KEYS = ("train.steps", "train.max_minutes")  # what a resumed run may change


@dataclass(frozen=True)
class GANTrainConfig:
    loss: str = "bce"  # bce | wgan | wgan-gp
    batch_size: int = 256
    steps: int = 23400  # generator steps (0 = no step limit; then set max_minutes)
    max_minutes: float = 0.0  # wall-clock budget of one train() call (0 = none)
    # None = the loss's default (see mnistgen.gan.loss.DEFAULTS)
    optimizer: str | None = None  # adam | rmsprop
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    n_critic: int | None = None
    clip: float | None = None
    gp_weight: float | None = None
    adam_eps: float = 1e-8  # Adam's epsilon (Keras uses 1e-7)
    real_target: float = 1.0  # bce only: < 1 smooths the real labels (one-sided label smoothing)
    r1_weight: float = 0.0  # > 0: add r1_weight / 2 * E||grad D(x_real)||^2 to the discriminator's loss
    logit_clip: float = 0.0  # > 0: clamp D's logits to +-this in the bce loss (Keras's 1e-7 clipping: 16.12)
    info_weight: float = 1.0  # weight of the InfoGAN code loss (model.code info, categories > 0) in both D and G losses
    # EMA of generator weights (0 = off); samples come from the EMA copy (gan/averaging.py); its decay
    # min(ema_decay, (10 + step - ema_ramp) / (10 + step)) averages about the last 1/ema_ramp of the steps
    ema_decay: float = 0.0
    ema_ramp: float = 9.0
    ema_bn: bool = False  # recompute the EMA's BatchNorm statistics for its own weights before it draws (else: G's) ...
    ema_bn_latents: int = 1024  # ... from this many seeded latents
    lr_final: float = 1.0  # learning rates fall linearly to this fraction of their start over the budget (1 = constant)
    precision: str = "fp32"  # fp32 | bf16 (autocast of the forward passes) | auto (bf16 where the hardware has it)
    channels_last: bool = True  # channels-last memory format: ~20 % faster convolutions on CPU
    probe_every: int = 0  # quality probe every N steps (0 = off) ...
    probe_seconds: float = 0.0  # ... and/or every this many training seconds (0 = off)
    probe_dense_seconds: float = 0.0  # a denser probe interval (0 = none) used ...
    probe_dense_until: float = 0.0  # ... during the first this many training seconds (e.g. a loss-comparison window)
    probe_n: int = 2000
    grid_every: int = 0  # fixed-noise 10x10 grid every N steps (0 = only at the end)
    checkpoint_every: int = 500
    max_abs_loss: float = 1e4  # a loss beyond this (or NaN) stops training

    def __post_init__(self) -> None:
        losses.check_loss(self.loss)
        if self.batch_size < 1 or self.steps < 0 or self.max_minutes < 0 or self.probe_n < 10:
            raise MnistgenError("train.batch_size must be >= 1, train.steps/max_minutes >= 0, train.probe_n >= 10")
        if self.probe_seconds < 0 or self.probe_dense_seconds < 0 or self.probe_dense_until < 0:
            raise MnistgenError(
                "train.probe_seconds, train.probe_dense_seconds and train.probe_dense_until must be >= 0"
            )
        if self.checkpoint_every < 1:
            raise MnistgenError("train.checkpoint_every must be >= 1")
        check_precision(self.precision)
        if self.info_weight < 0:
            raise MnistgenError("train.info_weight must be >= 0")
        if self.ema_bn_latents < 1:
            raise MnistgenError("train.ema_bn_latents must be >= 1")
        if not 0.0 < self.ema_ramp <= 10.0:
            raise MnistgenError("train.ema_ramp must lie in (0, 10]")
        if not 0.0 <= self.lr_final <= 1.0:
            raise MnistgenError("train.lr_final must lie in [0, 1]")
        if self.adam_eps <= 0 or self.logit_clip < 0 or self.r1_weight < 0 or not 0.5 <= self.real_target <= 1.0:
            raise MnistgenError(
                "train.adam_eps must be > 0, train.logit_clip and train.r1_weight >= 0, train.real_target in [0.5, 1]"
            )


@dataclass(frozen=True)
class GANRunConfig:
    data: DataConfig = field(default_factory=lambda: DataConfig(val_size=0))
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    model: GANModelConfig = field(default_factory=GANModelConfig)
    train: GANTrainConfig = field(default_factory=GANTrainConfig)


FAST_MODEL = GANModelConfig(
    z_dim=32,
    g_channels=(128, 64, 32),
    g_head_kernel=3,
    g_norm="batch",
    g_act="relu",
    output="tanh",
    d_channels=(64, 128),
    d_kernel=4,
    d_dropout=0.0,
    d_norm="batch",
    categories=200,
    code="clusters",
)
SMALL_MODEL = dataclasses.replace(FAST_MODEL, code="info", categories=0, z_dim=1, g_channels=(16, 8, 4))
FAST_TRAIN = GANTrainConfig(
    batch_size=32,
    steps=1000,
    lr_g=2e-3,
    lr_d=2e-3,
    ema_decay=0.999,
    probe_every=100,
    grid_every=250,
    checkpoint_every=250,
)
# the original's table exactly (docs/original-study.md), initialised as Keras did (glorot-uniform, zero biases)
SEED_MODEL = GANModelConfig(init="keras")
ORIGINAL_STEPS = 23_400  # the original recipe: 100 epochs of 234 batches of 256
PRESETS: dict[str, GANRunConfig] = {
    # The study's table and its original recipe, Keras defaults included: Adam 2e-4 / beta1 0.5 / eps 1e-7, batch 256,
    # 100 epochs, cross-entropy on probabilities clipped at 1e-7 (logits at +-16.12). Hours on a CPU.
    "seed": GANRunConfig(
        model=SEED_MODEL,
        train=GANTrainConfig(
            batch_size=256,
            steps=ORIGINAL_STEPS,
            adam_eps=1e-7,
            logit_clip=16.118,
            probe_every=ORIGINAL_STEPS // 20,
            checkpoint_every=500,
            grid_every=ORIGINAL_STEPS // 10,
        ),
    ),
    # The same networks with a recipe that draws digits in a small fraction of that work (bench/RESULTS.md): batch 8
    # (per image seen, far more sample-efficient than 32 or 256), Adam 1e-3 for both nets, an EMA of the generator.
    "seed-fast": GANRunConfig(
        model=SEED_MODEL,
        train=GANTrainConfig(
            batch_size=8,
            steps=2400,
            lr_g=1e-3,
            lr_d=1e-3,
            ema_decay=0.999,
            probe_every=800,
            grid_every=1200,
            checkpoint_every=800,
        ),
    ),
    # Quality per step (see the experiment tables in bench/RESULTS.md): BN in G and D, 3x3 head at 28x28, tanh,
    # batch 32, Adam 2e-3 / beta1 0.5 for both nets, z in R^32 and a code of 200 k-means clusters of the training
    # images (no labels) that the generator is given and the discriminator is conditioned on by projection; samples
    # from an EMA of G's weights over about the last third of the steps, with BatchNorm statistics recomputed for the
    # averaged weights (gan/averaging.py: IS 9.33 -> 9.58, FID 2.67 -> 1.34 at the same 1,000 steps).
    "fast": GANRunConfig(model=FAST_MODEL, train=dataclasses.replace(FAST_TRAIN, ema_ramp=3.0, ema_bn=True)),
    # The original's anecdote: a generator far too simple for the seed discriminator -- an MLP z (100) -> 128 -> 784
    # (sigmoid), PyTorch's initialisation -- trained with Adam at a high rate (1e-3, batch 64) collapses within a few
    # hundred steps onto one image; averaged over the last ~1,000 steps (EMA 0.999) it is one image drawn over and over.
    # At 1,500 steps that image was a clear digit for 2 of seeds 0-4 (a speckled "1" for the others); kept training to
    # 3,000 steps it sharpens into a confidently classified "1" for all five, close enough to real ones (precision
    # >= 0.5) for four (bench/RESULTS.md, "The collapse rung"). The capacity ladder's first rung (`tiny` until
    # 2026-12-05).
    "weak": GANRunConfig(
        model=dataclasses.replace(SEED_MODEL, g_channels=(128,), init="torch"),
        train=GANTrainConfig(
            batch_size=64,
            steps=3000,
            lr_g=1e-3,
            lr_d=1e-3,
            ema_decay=0.999,
            adam_eps=1e-7,
            logit_clip=16.118,
            probe_every=600,
            grid_every=1500,
            checkpoint_every=500,
        ),
    ),
    # The fast preset's generator made too simple for its discriminator: a 1-D latent, no cluster code, channels 16-8-4.
    # It collapses onto a few kinds of digit (the ladder's second rung; wider variants of it are the next rungs). 500
    # steps: the ladder rises as clearly as at 1,000 (seeds 0-2, bench/RESULTS.md) in half the time. It keeps the short
    # weight average with copied BatchNorm statistics: with fast's longer one the 1-D rung drew better than the 2-D one
    # for seed 1 (IS 4.30 vs 4.16), and a rung of the ladder should show its capacity, not its averaging.
    "small": GANRunConfig(model=SMALL_MODEL, train=dataclasses.replace(FAST_TRAIN, steps=500)),
    # A plain DCGAN -- the row PacGAN's table calls "DCGAN" (Radford et al. 2016): the fast layout's BatchNorm networks
    # without a cluster code or a weight average, trained with the DCGAN recipe (Adam 2e-4, beta1 0.5, batch 64).
    # With model.pack 2 its discriminator judges two samples at once (PacDCGAN2). The mode-collapse benchmark's
    # baseline (mnistgen modes); on MNIST it trains as well.
    "dcgan": GANRunConfig(
        model=dataclasses.replace(FAST_MODEL, categories=0, code="info"),
        train=GANTrainConfig(batch_size=64, steps=1500, probe_every=250, probe_n=5000, checkpoint_every=500),
    ),
    # For the tests: the fast layout at a few channels, 6 steps of 32 of the first 256 training images.
    "tiny": GANRunConfig(
        data=DataConfig(val_size=0, limit=256),
        model=dataclasses.replace(FAST_MODEL, z_dim=8, g_channels=(8, 4), d_channels=(8, 8), categories=0, code="info"),
        train=GANTrainConfig(batch_size=32, steps=6, ema_decay=0.9, probe_n=50, checkpoint_every=3),
    ),
}
# Per (preset, loss) changes applied by configure() as --set style overrides; otherwise a loss
# other than the preset's own runs with that loss's defaults (mnistgen.gan.loss.DEFAULTS).
LOSS_TUNING: dict[tuple[str, str], list[str]] = {
    # batch norm would couple the per-sample gradient penalty; one critic step at twice the generator's lr (TTUR)
    ("fast", "wgan-gp"): ["model.d_norm=layer", "train.lr_g=5e-4", "train.lr_d=1e-3", "train.n_critic=1"],
    # weight clipping (0.01) as in the original WGAN, with RMSprop at the rate that suits this model and one critic step
    # per generator step, so every loss sees the same images (the paper's 5e-5 with 5 critic steps needs far more work)
    ("fast", "wgan"): ["train.lr_g=5e-4", "train.lr_d=5e-4", "train.n_critic=1"],
}


def configure(preset: str, loss: str | None = None, pack: int | None = None) -> GANRunConfig:
    """The named preset trained with ``loss`` (default: the preset's), with that pair's tuning; with ``pack`` m its
    discriminator judges m samples at once (PacGAN; 1 = one)."""
    cfg = pick_preset(PRESETS, preset, "gan")
    if pack is not None:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, pack=pack))
    loss = losses.check_loss(loss or cfg.train.loss)
    if loss != cfg.train.loss:
        untuned = dataclasses.replace(
            cfg.train,
            loss=loss,
            optimizer=None,
            lr_g=None,
            lr_d=None,
            beta1=None,
            beta2=None,
            n_critic=None,
            clip=None,
            gp_weight=None,
        )  # the new loss's own defaults
        cfg = dataclasses.replace(cfg, train=untuned)
    return apply_overrides(cfg, LOSS_TUNING.get((preset, loss), []))


def hyper(t: GANTrainConfig) -> losses.LossDefaults:
    """Loss defaults with the config's explicit values on top."""
    d = losses.defaults(t.loss)
    return losses.LossDefaults(
        **{
            f.name: getattr(t, f.name) if getattr(t, f.name) is not None else getattr(d, f.name)
            for f in dataclasses.fields(losses.LossDefaults)
        }
    )


def next_probe_time(t: GANTrainConfig, train_s: float) -> float:
    """Training seconds of the next timed probe after ``train_s``: the next multiple of ``probe_dense_seconds``
    inside ``probe_dense_until``, else of ``probe_seconds`` (``inf`` when neither is set)."""
    if t.probe_dense_seconds and train_s < t.probe_dense_until:
        dense = (math.floor(train_s / t.probe_dense_seconds + 1e-9) + 1) * t.probe_dense_seconds
        if dense <= t.probe_dense_until + 1e-9:
            return dense
    if t.probe_seconds:
        return (math.floor(train_s / t.probe_seconds + 1e-9) + 1) * t.probe_seconds
    return math.inf


def lr_scale(t: GANTrainConfig, step: int, train_s: float) -> float:
    """Linear decay from 1 to ``t.lr_final`` over the budget (steps, or minutes when there is no step limit)."""
    if t.lr_final >= 1.0:
        return 1.0
    done = step / t.steps if t.steps else train_s / (60.0 * t.max_minutes)
    return 1.0 - (1.0 - t.lr_final) * min(1.0, done)
