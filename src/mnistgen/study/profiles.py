"""How much the study trains: ``full`` (the default), ``quick`` (an end-to-end smoke run for the tests) and
``paper`` (the original study's recipes, for a GPU or a night on a CPU).

A profile fixes the work of every stage (epochs, generator steps) on top of the presets the stages
start from, so the same profile and seed give the same study on any machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    n: int  # samples scored per model
    kid_subset: int
    sweep_n: int = 2000  # samples scored per rung of the capacity ladder
    data: Mapping[str, Any] = field(default_factory=dict)  # config values set on every trained model (e.g. tiny data)
    recipes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # stage -> config values over its preset
    loss_preset: str = "fast"  # the GAN preset the three losses are compared on
    seed_gan_preset: str = "seed-fast"  # the recipe the study's seed DCGAN trains with
    flow_preset: str = "fast"  # the flow-matching preset of the flow stage ...
    nfe_n: int = 300  # ... and the samples scored per point of its quality-against-NFE sweep


FULL = Profile(
    "full",
    "the default: every phenomenon of the study, fixed work sized for minutes on a 2-core CPU",
    n=10000,
    kid_subset=1000,
)

_QUICK_GAN = {
    "train.steps": 4,
    "train.batch_size": 8,
    "train.probe_every": 4,
    "train.probe_n": 50,
    "train.grid_every": 0,
    "train.checkpoint_every": 2,
    "train.ema_bn_latents": 128,
}
_QUICK_VAE = {"train.batch_size": 128, "data.val_size": 100, "train.decoder_epochs": 1, "train.decoder_images": 300}
QUICK = Profile(
    "quick",
    "a seconds-long smoke run of every stage on tiny data (for the tests): not results",
    n=100,
    kid_subset=50,
    sweep_n=100,
    nfe_n=50,
    data={"data.limit": 600},
    recipes={
        "vae-conv": _QUICK_VAE | {"train.epochs": 1, "model.prior_components": 10},
        "vae-seed": _QUICK_VAE
        | {"train.epochs": 2, "train.epoch_images": 300, "train.patience": 1, "model.prior_components": 10},
        "vae-seed-2d": _QUICK_VAE | {"train.epochs": 1, "train.warm_plane": 200, "model.prior_components": 5},
        "gan-losses-bce": _QUICK_GAN | {"model.categories": 20},
        "gan-losses-wgan": _QUICK_GAN | {"model.categories": 20},
        "gan-losses-wgan-gp": _QUICK_GAN | {"model.categories": 20},
        "gan-seed": _QUICK_GAN,
        "gan-capacity": _QUICK_GAN,
        "flow": {
            "model.classes": 20,
            "train.steps": 4,
            "train.batch_size": 8,
            "train.warmup": 1,
            "train.probe_n": 50,
            "model.channels": (8, 16),
            "model.emb": 16,
            "train.checkpoint_every": 2,
        },
    },
)

# The original study's recipes (docs/original-study.md): Keras defaults, Adam 1e-3 for the VAE with early stopping
# on up to 100 epochs of the full training set, the DCGAN with Adam 2e-4 / beta1 0.5, batch 256, 100 epochs, and the
# Wasserstein losses with their papers' recipes on that same model.
_PAPER_VAE = {
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
PAPER = Profile(
    "paper",
    "the original study's recipes (100 GAN epochs at batch 256: hours on a CPU, minutes on a GPU)",
    n=10000,
    kid_subset=1000,
    recipes={"vae-seed": _PAPER_VAE, "vae-seed-2d": _PAPER_VAE},
    loss_preset="seed",
    seed_gan_preset="seed",
)

PROFILES = {p.name: p for p in (FULL, QUICK, PAPER)}
