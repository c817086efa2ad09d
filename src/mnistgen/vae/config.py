"""VAE run configuration: dataclass configs and the presets (``seed``, ``seed-2d``, ``conv``; ``tiny`` for the tests).

The resolved config is saved beside the weights (``config.json``) and inside every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from mnistgen.config import DataConfig, RuntimeConfig, pick_preset
from mnistgen.errors import MnistgenError
from mnistgen.layers import check_init
from mnistgen.vae.model import ARCHS, check_latent_dim

KIND = "vae"
SCHEDULES = ("constant", "cosine", "onecycle")
BUDGET_KEYS = ("train.epochs", "train.max_minutes")  # what a resumed run may change


@dataclass(frozen=True)
class VAEModelConfig:
    arch: str = "conv"  # seed (the original study's table: LSTM encoder, tiny decoder) | conv
    latent_dim: int = 8
    channels: int = 32  # conv: base channel count (encoder c, 2c; decoder 2c, c, c/2)
    hidden: int = 256  # seed: LSTM hidden size; conv: dense layer width
    # > 0: after training, fit a mixture of this many full-covariance Gaussians to the codes and sample from it
    prior_components: int = 0
    # torch (PyTorch's defaults) | keras (glorot-uniform kernels, orthogonal recurrent ones, zero biases)
    init: str = "torch"
    image_channels: int = 1  # channels of an image: the dataset's (3 for stacked-mnist), set when a run starts

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise MnistgenError(f"unknown VAE architecture {self.arch!r}; choose one of: {', '.join(ARCHS)}")
        check_latent_dim(self.latent_dim)
        if self.channels < 1 or self.hidden < 1 or self.prior_components < 0:
            raise MnistgenError("model.channels and model.hidden must be >= 1, model.prior_components >= 0")
        check_init(self.init)
        if self.image_channels < 1:
            raise MnistgenError("model.image_channels must be >= 1")
        if self.image_channels > 1 and self.arch == "seed":
            raise MnistgenError(
                f"the original's seed networks (an LSTM over the rows) take one-channel images, not "
                f"{self.image_channels}: train the conv VAE (preset conv) on a stacked dataset"
            )


@dataclass(frozen=True)
class VAETrainConfig:
    epochs: int = 6
    epoch_images: int = 0  # images per epoch, a fresh seeded draw from the training split each epoch (0 = all of it)
    batch_size: int = 256
    lr: float = 3e-3  # peak learning rate (Adam)
    schedule: str = "onecycle"  # constant | cosine | onecycle (10% linear warm-up, then cosine)
    weight_decay: float = 0.0
    adam_eps: float = 1e-8  # Adam's epsilon (Keras uses 1e-7)
    beta: float = 1.5  # weight of the KL term (> 1: posteriors closer to the prior, cleaner prior samples)
    warmup_epochs: float = 0.0  # KL warm-up: its weight rises linearly 0 -> 1 over this many epochs
    free_bits: float = 0.0  # > 0: each latent dimension's batch-mean KL is optimised only above this many nats
    warm_start: str = ""  # a VAE run directory: start from the weights of its best checkpoint that fit this model ...
    # ... and, from a larger latent, on its principal plane, fitted to this many training images (0 = off)
    warm_plane: int = 0
    mmd: float = 0.0  # weight of MMD(aggregate q(z), N(0, I)) added to the loss (InfoVAE); 0 = plain VAE
    patience: int = 4  # early stopping: epochs without a better validation loss
    min_delta: float = 0.0  # an improvement must beat the best by more than this
    max_minutes: float = 0.0  # wall-clock budget for this call (0 = none); stops between epochs
    channels_last: bool = True  # faster convolutions on CPU
    # at most this many EM iterations of the mixture prior (only when model.prior_components > 0) ...
    prior_iterations: int = 40
    prior_max_codes: int = 10_000  # ... fitted to at most this many training codes (a seeded random subset)
    # > 0: then train the decoder alone this many passes on the frozen encoder's posteriors (vae/refine.py) ...
    decoder_epochs: int = 0
    decoder_images: int = 0  # ... of this many training images, a seeded draw (0 = all of them) ...
    decoder_lr: float = 1e-2  # ... with Adam, one-cycle to this peak learning rate

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.epoch_images < 0 or self.warm_plane < 0:
            raise MnistgenError(
                "train.epochs, train.batch_size and train.lr must be positive, "
                "train.epoch_images and train.warm_plane >= 0"
            )
        if self.schedule not in SCHEDULES:
            raise MnistgenError(f"unknown train.schedule {self.schedule!r}; choose one of: {', '.join(SCHEDULES)}")
        if self.prior_iterations < 1 or self.prior_max_codes < 1:
            raise MnistgenError("train.prior_iterations and train.prior_max_codes must be positive")
        if self.decoder_epochs < 0 or self.decoder_images < 0 or self.decoder_lr <= 0:
            raise MnistgenError("train.decoder_epochs and train.decoder_images must be >= 0, train.decoder_lr > 0")
        if (
            self.beta < 0
            or self.warmup_epochs < 0
            or self.mmd < 0
            or self.patience < 1
            or self.max_minutes < 0
            or self.free_bits < 0
        ):
            raise MnistgenError(
                "train.beta, train.warmup_epochs, train.mmd and train.max_minutes must be >= 0, train.patience >= 1"
            )


@dataclass(frozen=True)
class VAERunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    model: VAEModelConfig = field(default_factory=VAEModelConfig)
    train: VAETrainConfig = field(default_factory=VAETrainConfig)


_SEED_MODEL = VAEModelConfig(arch="seed", latent_dim=10, hidden=256)
_SEED_TRAIN = VAETrainConfig(epochs=8, batch_size=128, lr=3e-3, beta=1.0, channels_last=False)
PRESETS: dict[str, VAERunConfig] = {
    # The table's networks at a constant lr 1e-2 on a fresh draw of 5,000 training images per epoch, until early
    # stopping ends the run (patience 4, at most 60 epochs); then the decoder alone, 10 passes over 20,000 training
    # images on the frozen encoder's posteriors (vae/refine.py: IS 7.3 -> 8.1 for ~20 s), and the ex-post mixture
    # prior (bench/RESULTS.md).
    "seed": VAERunConfig(
        data=DataConfig(val_size=2000),
        model=replace(_SEED_MODEL, prior_components=100),
        train=replace(
            _SEED_TRAIN,
            epochs=60,
            epoch_images=5000,
            lr=1e-2,
            schedule="constant",
            beta=0.5,
            decoder_epochs=10,
            decoder_images=20_000,
        ),
    ),
    # The same networks with a 2-D code, for the latent map. Trained alone they need many epochs before the decoder
    # uses the code; the study starts them from the 10-D model (train.warm_start: every weight that fits; the head to
    # mu and the decoder's first layer set to the 10-D model's principal plane, fitted to 5,000 training images; the
    # head to log var fresh), after which 5 epochs of 18,000 images draw a map; then the decoder alone, 10 passes over
    # them. With both decoders refined (this one, and the 10-D one it starts from) the map's k-NN went 0.68 -> 0.72,
    # the samples' classes 7 -> 9 and IS 4.2 -> 6.0 (bench/RESULTS.md).
    "seed-2d": VAERunConfig(
        data=DataConfig(limit=20000, val_size=2000),
        model=replace(_SEED_MODEL, latent_dim=2, prior_components=50),
        train=replace(_SEED_TRAIN, epochs=5, lr=5e-3, beta=0.5, warm_plane=5000, decoder_epochs=10),
    ),
    # Sharp reconstructions (latent 32, beta 0.1: the KL term weighs little, the ex-post mixture prior below is what
    # samples are drawn from; latent 16 / beta 0.5 -> latent 32 / beta 0.1: FID 3.5 -> 1.9, recall 0.36 -> 0.64 at
    # IS 9.5, bench/RESULTS.md): 2 joint epochs, then the decoder alone, 3 passes over 20,000 training images (better
    # on every score than a third joint epoch, in no more time), then a 200-component full-covariance mixture prior
    # fitted to the codes of 50,000 training images (fewer codes leave the density under-fitted).
    "conv": VAERunConfig(
        model=VAEModelConfig(latent_dim=32, prior_components=200),
        train=VAETrainConfig(epochs=2, beta=0.1, prior_max_codes=50_000, decoder_epochs=3, decoder_images=20_000),
    ),
    # The conv VAE's networks with a 2-D code, trained as seed-2d is (the same 18,000 images, epochs, rate and beta,
    # started from the principal plane of the 32-D conv VAE's codes): the study sets its latent map beside the seed
    # networks' to ask the original's question, whether the encoder is to blame for classes that overlap. Only the
    # map is used: no decoder refinement, no mixture prior.
    "conv-2d": VAERunConfig(
        data=DataConfig(limit=20000, val_size=2000),
        model=VAEModelConfig(latent_dim=2),
        train=replace(_SEED_TRAIN, epochs=5, lr=5e-3, beta=0.5, warm_plane=5000, channels_last=True),
    ),
    # For the tests: a conv VAE of a few channels, 2 epochs of the first 400 training images (200 more validate).
    "tiny": VAERunConfig(
        data=DataConfig(val_size=200, limit=600),
        model=VAEModelConfig(arch="conv", latent_dim=4, channels=4, hidden=16, prior_components=5),
        train=VAETrainConfig(epochs=2, batch_size=100, lr=3e-3, prior_max_codes=400),
    ),
}


def configure(preset: str, **options: Any) -> VAERunConfig:
    """The named preset's run config (the VAE has no family options)."""
    return pick_preset(PRESETS, preset, "VAE")
