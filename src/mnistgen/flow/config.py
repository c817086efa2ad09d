"""Flow-matching run configuration: dataclass configs and the presets (``fast`` for the CPU study, ``tiny`` for the
tests, ``gpu`` for a GPU), and how a run draws its samples by default.

``configure(preset, conditional)`` is what ``mnistgen train flow --preset P [--conditional on]`` starts from; the
resolved config is saved beside the weights (``config.json``) and inside every checkpoint.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from mnistgen.config import DataConfig, RuntimeConfig, pick_preset
from mnistgen.errors import MnistgenError
from mnistgen.flow.loss import check_time_sampler
from mnistgen.flow.model import FlowModelConfig
from mnistgen.flow.solve import SOLVERS, Solver

KIND = "flow"
BUDGET_KEYS = ("train.steps", "train.max_minutes")  # what a resumed run may change


@dataclass(frozen=True)
class FlowTrainConfig:
    steps: int = 2000  # optimiser steps
    batch_size: int = 128
    lr: float = 2e-3  # peak learning rate (Adam)
    warmup: int = 100  # steps of linear warm-up ...
    lr_final: float = 0.0  # ... then cosine decay to this fraction of the peak at the last step (1 = constant)
    weight_decay: float = 0.0
    grad_clip: float = 1.0  # clip the gradient's norm to this (0 = off)
    ema_decay: float = 0.999  # EMA of the weights, which draws the samples (0 = the live weights) ...
    ema_start: int = 0  # ... started at this step (before it the EMA copies the weights)
    time_sampler: str = "logit-normal"  # uniform | logit-normal: how the training times t are drawn
    time_scale: float = 1.0  # the logit-normal's standard deviation
    ot_pairing: bool = False  # pair noise and images by minibatch optimal transport
    label_dropout: float = 0.1  # class-conditional runs: the share of images trained without their label
    max_minutes: float = 0.0  # optional wall-clock cap of one train() call (0 = none)
    channels_last: bool = True
    probe_every: int = 0  # quality probe every N steps (0 = only at the end)
    probe_n: int = 1000
    checkpoint_every: int = 250
    max_abs_loss: float = 1e3  # a loss beyond this (or NaN) stops training

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 2 or self.lr <= 0 or self.warmup < 0 or self.checkpoint_every < 1:
            raise MnistgenError(
                "train.steps and train.checkpoint_every must be >= 1, train.batch_size >= 2, "
                "train.lr > 0, train.warmup >= 0"
            )
        if not 0.0 <= self.lr_final <= 1.0 or not 0.0 <= self.ema_decay < 1.0 or not 0.0 <= self.label_dropout < 1.0:
            raise MnistgenError("train.lr_final must lie in [0, 1], train.ema_decay and train.label_dropout in [0, 1)")
        if self.probe_n < 10 or self.max_minutes < 0 or self.grad_clip < 0 or self.time_scale <= 0:
            raise MnistgenError(
                "train.probe_n must be >= 10, train.max_minutes and train.grad_clip >= 0, train.time_scale > 0"
            )
        check_time_sampler(self.time_sampler)


@dataclass(frozen=True)
class FlowSampleConfig:
    """How a run draws samples unless told otherwise (``mnistgen sample --solver/--nfe/--guidance``)."""

    solver: str = "midpoint"
    nfe: int = 8
    guidance: float = 1.0  # class-conditional runs: 1 = the conditional field alone; > 1 pushes towards the label

    def __post_init__(self) -> None:
        Solver(self.solver, self.nfe)
        if self.guidance < 0:
            raise MnistgenError("sample.guidance must be >= 0")


@dataclass(frozen=True)
class FlowRunConfig:
    data: DataConfig = field(default_factory=lambda: DataConfig(val_size=0))
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    model: FlowModelConfig = field(default_factory=FlowModelConfig)
    train: FlowTrainConfig = field(default_factory=FlowTrainConfig)
    sample: FlowSampleConfig = field(default_factory=FlowSampleConfig)


_FAST_MODEL = FlowModelConfig(channels=(24, 48), patch=2, classes=200, code="clusters")
PRESETS: dict[str, FlowRunConfig] = {
    # For the CPU study (bench/RESULTS.md, "Flow matching"): a 0.42 M-weight U-Net on 2x2 patches (14 and 7 pixels)
    # given one of 200 k-means clusters of the training images (no labels; as the fast GAN), 700 steps of 128 images
    # at Adam 3e-3 (warm-up 50, cosine to 0), logit-normal times, an EMA of the weights; 15 % of the images train
    # without their cluster, so that the samples can be guided (weight 1.5) by it; midpoint solver, 4 evaluations.
    "fast": FlowRunConfig(
        model=_FAST_MODEL,
        train=FlowTrainConfig(steps=700, batch_size=128, lr=3e-3, warmup=50, label_dropout=0.15),
        sample=FlowSampleConfig("midpoint", 4, guidance=1.5),
    ),
    "tiny": FlowRunConfig(
        data=DataConfig(val_size=0, limit=300),
        model=FlowModelConfig(channels=(8, 16), patch=2, emb=16),
        train=FlowTrainConfig(steps=20, batch_size=16, warmup=2, probe_n=50, checkpoint_every=10),
    ),
    # For a GPU: a wider U-Net at full resolution, 40,000 steps of 256 images, 16 evaluations.
    "gpu": FlowRunConfig(
        model=FlowModelConfig(channels=(64, 128, 128), blocks=2, emb=256, classes=200, code="clusters"),
        train=FlowTrainConfig(
            steps=40_000, batch_size=256, lr=1e-3, warmup=1000, ema_decay=0.9999, label_dropout=0.15, probe_every=2000
        ),
        sample=FlowSampleConfig("midpoint", 16, guidance=1.5),
    ),
}


def configure(preset: str, conditional: str | None = None) -> FlowRunConfig:
    """The named preset; with ``conditional`` 'on', conditional on the dataset's 10 labels instead of its own code
    (label dropout, so that samples can be guided towards a label); 'off' or None: the preset as it is."""
    cfg = pick_preset(PRESETS, preset, "flow")
    if conditional not in (None, "on", "off"):
        raise MnistgenError(f"--conditional takes on or off, got {conditional!r}")
    if conditional == "on":
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, classes=10, code="labels"))
    return cfg


__all__ = [
    "BUDGET_KEYS",
    "KIND",
    "PRESETS",
    "SOLVERS",
    "FlowRunConfig",
    "FlowSampleConfig",
    "FlowTrainConfig",
    "configure",
]
