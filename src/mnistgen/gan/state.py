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
from mnistgen.gan import loss as L
from mnistgen.gan.averaging import recalibrate_bn
from mnistgen.gan.config import KIND, GANRunConfig, hyper
from mnistgen.gan.model import Discriminator, Generator, build, count_params
from mnistgen.images import Splits, unit_to_pm1
from mnistgen.runtime import environment, memory_format, use_bf16


@dataclass
class Trainer:
    """Everything one call of :func:`train` works on."""

    cfg: GANRunConfig
    run_dir: Path
    device: torch.device
    hp: L.LossDefaults
    g: Generator
    d: Discriminator
    ema: Generator | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    data: torch.Tensor  # (N, 1, 28, 28) training images in the generator's output range
    clusters: torch.Tensor | None  # (N,) k-means cluster of every training image (cluster codes only)
    hist: dict[str, Any]
    info: dict[str, Any]
    bf16: bool = False
    step: int = 0
    batches: int = 0
    train_s: float = 0.0
    ck_step: int | None = None  # the step of the last checkpoint written or loaded
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


def _clusters(
    cfg: GANRunConfig, g: Generator, splits: Splits, ck: dict | None, device: torch.device
) -> torch.Tensor | None:
    """The cluster codes of the training images (from the checkpoint on resume); sets the generator's frequencies."""
    if not g.cluster_codes:
        return None
    n, k = len(splits.train), cfg.model.categories
    if n < k:
        raise MnistgenError(
            f"model.categories={k} k-means clusters need at least as many training images; the data has {n}"
        )
    if ck is not None and "clusters" not in ck["extra"]:
        raise MnistgenError("the checkpoint holds no cluster codes; it was not written by a cluster-conditioned run")
    clusters = (
        ck["extra"]["clusters"].long().cpu()
        if ck is not None
        else cluster_images(splits.train, k, seed=cfg.runtime.seed)
    )
    if len(clusters) != n:
        raise MnistgenError(f"the run's {len(clusters)} cluster codes do not match its {n} training images")
    g.code_freq.copy_(torch.bincount(clusters, minlength=k).float() / n)
    return clusters.to(device)


def build_trainer(
    cfg: GANRunConfig, run_dir: Path, device: torch.device, splits: Splits, ck: dict | None, preset: str
) -> Trainer:
    """Networks, optimisers, EMA and history; restored from ``ck`` (with the global RNG) on resume."""
    t, hp = cfg.train, hyper(cfg.train)
    data = (unit_to_pm1(splits.train) if cfg.model.output == "tanh" else splits.train).to(device)
    g, d = build(cfg.model)
    g, d = g.to(device, memory_format=memory_format(t)), d.to(device, memory_format=memory_format(t))
    opt_g = L.make_optimizer(hp.optimizer, g.parameters(), hp.lr_g, (hp.beta1, hp.beta2), t.adam_eps)
    opt_d = L.make_optimizer(hp.optimizer, d.parameters(), hp.lr_d, (hp.beta1, hp.beta2), t.adam_eps)
    clusters = _clusters(cfg, g, splits, ck, device)
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
        "hyper": dataclasses.asdict(hp),
        "data": splits.info,
        "environment": environment(device),
        "params": {"generator": count_params(g), "discriminator": count_params(d)},
    }
    s = Trainer(
        cfg, run_dir, device, hp, g, d, ema, opt_g, opt_d, data, clusters, hist, info, use_bf16(t.precision, device)
    )
    s.info["precision"] = "bf16" if s.bf16 else "fp32"
    if ck is not None:
        restore(s, ck)
    return s


def restore(s: Trainer, ck: dict) -> None:
    load_module_state(s.g, ck["models"]["generator"], "generator")
    load_module_state(s.d, ck["models"]["discriminator"], "discriminator")
    s.opt_g.load_state_dict(ck["optimizers"]["generator"])
    s.opt_d.load_state_dict(ck["optimizers"]["discriminator"])
    if s.ema is not None:
        load_module_state(s.ema, ck["extra"]["ema"], "EMA generator")
    s.step, s.batches, s.train_s = ck["state"]["step"], ck["state"]["batches"], ck["state"]["train_seconds"]
    s.ck_step = s.step  # the global RNG is restored last, by train(), once setup has drawn all it draws
    old = rundir.read_json(s.run_dir / rundir.HISTORY) if (s.run_dir / rundir.HISTORY).exists() else s.hist
    keep = sum(1 for step in old["step"] if step <= s.step)
    s.hist = {k: (v[:keep] if k not in ("probe", "loss") else v) for k, v in old.items()}
    s.hist["probe"] = [p for p in old.get("probe", []) if p["step"] <= s.step]


def checkpoint(s: Trainer) -> None:
    extra = ({"ema": s.sampling_generator().state_dict()} if s.ema is not None else {}) | (
        {"clusters": s.clusters.to(torch.int16).cpu()} if s.clusters is not None else {}
    )
    save_checkpoint(
        s.run_dir / rundir.LAST,
        kind=KIND,
        models={"generator": s.g, "discriminator": s.d},
        optimizers={"generator": s.opt_g, "discriminator": s.opt_d},
        state={"step": s.step, "batches": s.batches, "train_seconds": s.train_s},
        config=to_dict(s.cfg),
        data=s.info["data"],
        extra=extra,
    )
    s.ck_step = s.step


def save_history(s: Trainer) -> None:
    rundir.write_json(s.run_dir / rundir.HISTORY, s.hist)
