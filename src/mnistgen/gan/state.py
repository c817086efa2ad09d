"""The GAN trainer's state: networks, optimisers, EMA, data and clusters; building, restoring and checkpointing it."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mnistgen import rundir
from mnistgen.checkpoint import load_module_state, save_checkpoint
from mnistgen.clusters import cluster_images
from mnistgen.config import to_dict
from mnistgen.errors import MnistgenError
from mnistgen.gan import loss as losses
from mnistgen.gan.averaging import recalibrate_bn
from mnistgen.gan.config import KIND, GANRunConfig, hyper
from mnistgen.gan.model import Discriminator, Generator, build, count_params
from mnistgen.images import Splits, unit_to_pm1
from mnistgen.runtime import environment, memory_format, placed, use_bf16
from mnistgen.trainloop import trim_history


@dataclass
class Trainer:
    """Everything one call of :func:`train` works on."""

    cfg: GANRunConfig
    run_dir: Path
    device: torch.device
    hyper: losses.LossDefaults
    g: Generator
    d: Discriminator
    ema: Generator | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    data: torch.Tensor  # (N, C, 28, 28) training images in the generator's output range
    clusters: torch.Tensor | None  # (N,) k-means cluster of every training image (cluster codes only)
    hist: dict[str, Any]
    info: dict[str, Any]
    bf16: bool = False
    step: int = 0
    batches: int = 0
    train_s: float = 0.0
    checkpoint_step: int | None = None  # the step of the last checkpoint written or loaded
    bn_step: int | None = None  # the step at which the EMA's BatchNorm statistics were last recomputed (train.ema_bn)

    def sampling_generator(self) -> Generator:
        """The generator samples come from: the EMA (its BatchNorm statistics recomputed for its weights, once per
        step, when ``train.ema_bn``), else the live one."""
        if self.ema is None:
            return self.g
        if self.cfg.train.ema_bn and self.bn_step != self.step:
            recalibrate_bn(self.ema, self.device, self.cfg.train.ema_bn_latents)
            self.bn_step = self.step
        return self.ema

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def checkpoint(self) -> None:
        checkpoint(self)

    def save_history(self) -> None:
        rundir.write_json(self.run_dir / rundir.HISTORY, self.hist)


def _clusters(
    cfg: GANRunConfig, g: Generator, splits: Splits, saved: dict | None, device: torch.device
) -> torch.Tensor | None:
    """The cluster codes of the training images (from the checkpoint ``saved`` on resume); sets the generator's
    frequencies."""
    if not g.cluster_codes:
        return None
    n, k = len(splits.train), cfg.model.categories
    if n < k:
        raise MnistgenError(
            f"model.categories={k} k-means clusters need at least as many training images; the data has {n}"
        )
    if saved is not None and "clusters" not in saved["extra"]:
        raise MnistgenError("the checkpoint holds no cluster codes; it was not written by a cluster-conditioned run")
    clusters = (
        saved["extra"]["clusters"].long().cpu()
        if saved is not None
        else cluster_images(splits.train, k, seed=cfg.runtime.seed)
    )
    if len(clusters) != n:
        raise MnistgenError(f"the run's {len(clusters)} cluster codes do not match its {n} training images")
    g.code_freq.copy_(torch.bincount(clusters, minlength=k).float() / n)
    return clusters.to(device)


def build_trainer(
    cfg: GANRunConfig, run_dir: Path, device: torch.device, splits: Splits, saved: dict | None, preset: str
) -> Trainer:
    """Networks, optimisers, EMA and history; restored from the checkpoint ``saved`` (but the global RNG, which
    train() restores last) on resume."""
    t, hyper_values = cfg.train, hyper(cfg.train)
    if t.batch_size % cfg.model.pack:
        raise MnistgenError(f"train.batch_size {t.batch_size} must be a multiple of model.pack {cfg.model.pack}")
    data = (unit_to_pm1(splits.train) if cfg.model.output == "tanh" else splits.train).to(device)
    g, d = build(cfg.model)
    g, d = placed(g, device, memory_format(t)), placed(d, device, memory_format(t))
    betas = (hyper_values.beta1, hyper_values.beta2)
    opt_g = losses.make_optimizer(hyper_values.optimizer, g.parameters(), hyper_values.lr_g, betas, t.adam_eps)
    opt_d = losses.make_optimizer(hyper_values.optimizer, d.parameters(), hyper_values.lr_d, betas, t.adam_eps)
    clusters = _clusters(cfg, g, splits, saved, device)
    ema = copy.deepcopy(g).requires_grad_(False) if t.ema_decay > 0 else None
    hist: dict[str, Any] = {
        "loss": t.loss,
        "step": [],
        "d_loss": [],
        "g_loss": [],
        "wasserstein": [],
        "train_seconds": [],
        "probe": [],
    }
    if d.q_head is not None:
        hist["info"] = []  # per step: the generator's code cross-entropy (log K = no information)
    info = {
        "preset": preset,
        "loss": t.loss,
        "hyper": dataclasses.asdict(hyper_values),
        "data": splits.info,
        "environment": environment(device),
        "params": {"generator": count_params(g), "discriminator": count_params(d)},
    }
    trainer = Trainer(
        cfg=cfg,
        run_dir=run_dir,
        device=device,
        hyper=hyper_values,
        g=g,
        d=d,
        ema=ema,
        opt_g=opt_g,
        opt_d=opt_d,
        data=data,
        clusters=clusters,
        hist=hist,
        info=info,
        bf16=use_bf16(t.precision, device),
    )
    trainer.info["precision"] = "bf16" if trainer.bf16 else "fp32"
    if saved is not None:
        restore(trainer, saved)
    return trainer


def restore(trainer: Trainer, saved: dict) -> None:
    load_module_state(trainer.g, saved["models"]["generator"], "generator")
    load_module_state(trainer.d, saved["models"]["discriminator"], "discriminator")
    trainer.opt_g.load_state_dict(saved["optimizers"]["generator"])
    trainer.opt_d.load_state_dict(saved["optimizers"]["discriminator"])
    if trainer.ema is not None:
        load_module_state(trainer.ema, saved["extra"]["ema"], "EMA generator")
    state = saved["state"]
    trainer.step, trainer.batches, trainer.train_s = state["step"], state["batches"], state["train_seconds"]
    trainer.checkpoint_step = trainer.step  # the global RNG is restored last, by train(), once setup has drawn all
    history = trainer.run_dir / rundir.HISTORY
    trainer.hist = trim_history(rundir.read_json(history) if history.exists() else trainer.hist, trainer.step)


def checkpoint(trainer: Trainer) -> None:
    extra = ({"ema": trainer.sampling_generator().state_dict()} if trainer.ema is not None else {}) | (
        {"clusters": trainer.clusters.to(torch.int16).cpu()} if trainer.clusters is not None else {}
    )
    save_checkpoint(
        trainer.run_dir / rundir.LAST,
        kind=KIND,
        models={"generator": trainer.g, "discriminator": trainer.d},
        optimizers={"generator": trainer.opt_g, "discriminator": trainer.opt_d},
        state={"step": trainer.step, "batches": trainer.batches, "train_seconds": trainer.train_s},
        config=to_dict(trainer.cfg),
        data=trainer.info["data"],
        extra=extra,
    )
    trainer.checkpoint_step = trainer.step
