"""The VAE family: the study's LSTM-encoder / tiny-decoder VAE (``seed``, ``seed-2d``) and a strong ``conv`` one.

Modules: ``config`` (dataclass configs, presets), ``model`` (encoders, decoders; shape comments),
``prior`` (the ex-post Gaussian-mixture prior), ``loss`` (BCE + beta * KL), ``training`` (the loop with
early stopping), ``refine`` (the decoder trained alone after it), ``sampler`` (load a run, decode prior
samples), ``figures`` (curves, grids, latent map), ``study`` and ``words`` (its stages of the study, their
phenomena and captions).
"""

from __future__ import annotations

from mnistgen.family import Option
from mnistgen.vae.config import (
    BUDGET_KEYS,
    KIND,
    PRESETS,
    SCHEDULES,
    VAEModelConfig,
    VAERunConfig,
    VAETrainConfig,
    configure,
)
from mnistgen.vae.figures import make_figures
from mnistgen.vae.loss import evaluate
from mnistgen.vae.model import VAE
from mnistgen.vae.run import open_trained, trained_run, vae_work
from mnistgen.vae.sampler import build_model, load_config, load_model, load_sampler, sampler_of
from mnistgen.vae.study import STAGES
from mnistgen.vae.training import EarlyStopping, lr_at, train


class VAEFamily:
    """The VAE as the registry sees it (see :class:`mnistgen.family.Family`)."""

    name = KIND
    title = "variational autoencoder"
    generates = True
    presets = PRESETS
    default_preset = "conv"
    options: tuple[Option, ...] = ()
    sampling: tuple[Option, ...] = ()
    stages = STAGES
    substudies = ()
    budgets = (
        Option("--epochs", BUDGET_KEYS[0], "maximum number of epochs (default: the preset's)", int),
        Option(
            "--minutes", BUDGET_KEYS[1], "optional wall-clock cap in minutes; stops between epochs (0 = none)", float
        ),
    )
    configure = staticmethod(configure)
    train = staticmethod(train)
    load_config = staticmethod(load_config)
    open = staticmethod(open_trained)
    make_figures = staticmethod(make_figures)


FAMILY = VAEFamily()

__all__ = [
    "FAMILY",
    "KIND",
    "PRESETS",
    "SCHEDULES",
    "VAE",
    "EarlyStopping",
    "VAEModelConfig",
    "VAERunConfig",
    "VAETrainConfig",
    "build_model",
    "configure",
    "evaluate",
    "load_config",
    "load_model",
    "load_sampler",
    "lr_at",
    "make_figures",
    "open_trained",
    "sampler_of",
    "train",
    "trained_run",
    "vae_work",
]
