"""The GAN family: the study's DCGAN (``seed``), a collapsing ``weak`` generator and the ``fast`` design.

Modules: ``config`` (dataclass configs, presets, per-loss tuning), ``model`` (generator and
discriminator; the discriminator returns logits; shape comments), ``loss`` (bce / wgan / wgan-gp on
logits, one module for all), ``averaging`` (the EMA and its BatchNorm statistics), ``state`` and ``training``
(the loop: update D, update G, EMA, probe, checkpoint), ``sampler`` (load a run, draw images), ``run`` (a run as
a TrainedRun), ``figures``, ``study`` (its stages of the study and its sub-studies).
"""

from __future__ import annotations

from mnistgen.family import Option
from mnistgen.gan.config import (
    BUDGET_KEYS,
    FAST_MODEL,
    KIND,
    LOSS_TUNING,
    PRESETS,
    GANRunConfig,
    GANTrainConfig,
    configure,
    hyper,
    lr_scale,
    next_probe_time,
)
from mnistgen.gan.figures import make_figures, plot_losses, plot_quality
from mnistgen.gan.loss import LOSSES
from mnistgen.gan.model import Discriminator, GANModelConfig, Generator, build, count_params
from mnistgen.gan.run import gan_work, open_trained, trained_run
from mnistgen.gan.sampler import generate, grid_latent, load_config, load_generator, load_sampler, sampler_of
from mnistgen.gan.study import STAGES, SUBSTUDIES
from mnistgen.gan.training import train


class GANFamily:
    """The GAN as the registry sees it (see :class:`mnistgen.family.Family`)."""

    name = KIND
    title = "generative adversarial network"
    generates = True
    presets = PRESETS
    default_preset = "fast"
    options = (
        Option("--loss", "loss", "bce (default), wgan (weight clipping) or wgan-gp", choices=LOSSES),
        Option("--pack", "pack", "the discriminator judges this many samples at once (PacGAN; default 1)", int),
    )
    sampling: tuple[Option, ...] = ()
    stages = STAGES
    substudies = SUBSTUDIES
    budgets = (
        Option("--steps", BUDGET_KEYS[0], "total generator steps (default: the preset's)", int),
        Option("--minutes", BUDGET_KEYS[1], "optional wall-clock cap of this call in minutes (0 = none)", float),
    )
    configure = staticmethod(configure)
    train = staticmethod(train)
    load_config = staticmethod(load_config)
    open = staticmethod(open_trained)
    make_figures = staticmethod(make_figures)


FAMILY = GANFamily()

__all__ = [
    "FAMILY",
    "FAST_MODEL",
    "KIND",
    "LOSSES",
    "LOSS_TUNING",
    "PRESETS",
    "Discriminator",
    "GANModelConfig",
    "GANRunConfig",
    "GANTrainConfig",
    "Generator",
    "build",
    "configure",
    "count_params",
    "gan_work",
    "generate",
    "grid_latent",
    "hyper",
    "load_config",
    "load_generator",
    "load_sampler",
    "lr_scale",
    "make_figures",
    "next_probe_time",
    "open_trained",
    "plot_losses",
    "plot_quality",
    "sampler_of",
    "train",
    "trained_run",
]
