"""The flow trainer's state: the velocity network, its EMA, the optimiser, the data; building, restoring and
checkpointing it, and the learning rate and EMA schedules (pure functions of the step: resume-exact)."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mnistgen import rundir
from mnistgen.checkpoint import load_module_state, save_checkpoint
from mnistgen.clusters import cluster_images
from mnistgen.config import to_dict
from mnistgen.errors import MnistgenError
from mnistgen.flow.config import KIND, FlowRunConfig, FlowTrainConfig
from mnistgen.flow.model import VelocityNet, count_params
from mnistgen.images import Splits, unit_to_pm1
from mnistgen.runtime import environment, memory_format, placed
from mnistgen.trainloop import trim_history


@dataclass
class Trainer:
    """Everything one call of :func:`mnistgen.flow.training.train` works on."""

    cfg: FlowRunConfig
    run_dir: Path
    device: torch.device
    net: VelocityNet
    ema: VelocityNet | None
    opt: torch.optim.Optimizer
    data: torch.Tensor  # (N, C, 28, 28) training images in [-1, 1]
    labels: torch.Tensor  # (N,) their codes: classes, or k-means clusters (used only by conditional runs)
    hist: dict[str, Any]
    info: dict[str, Any]
    step: int = 0
    train_s: float = 0.0
    checkpoint_step: int | None = None  # the step of the last checkpoint written or loaded

    @property
    def sampling_net(self) -> VelocityNet:
        """The network samples come from: the EMA when the run keeps one."""
        return self.ema if self.ema is not None else self.net

    def checkpoint(self) -> None:
        checkpoint(self)

    def save_history(self) -> None:
        rundir.write_json(self.run_dir / rundir.HISTORY, self.hist)


def lr_at(t: FlowTrainConfig, step: int) -> float:
    """Linear warm-up over ``t.warmup`` steps, then cosine decay to ``t.lr_final`` x the peak at the last step."""
    if step < t.warmup:
        return t.lr * (step + 1) / t.warmup
    done = min(1.0, (step - t.warmup) / max(1, t.steps - t.warmup))
    return t.lr * (t.lr_final + (1.0 - t.lr_final) * 0.5 * (1.0 + math.cos(math.pi * done)))


@torch.no_grad()
def update_ema(ema: VelocityNet, net: VelocityNet, t: FlowTrainConfig, step: int) -> None:
    """One EMA step towards the weights after optimiser step ``step`` (a copy before ``t.ema_start``); its decay warms
    up as min(decay, (1 + k) / (10 + k)) over the k steps since the start."""
    k = step - t.ema_start
    decay = 0.0 if k < 0 else min(t.ema_decay, (1 + k) / (10 + k))
    for pe, p in zip(ema.parameters(), net.parameters()):
        pe.lerp_(p, 1.0 - decay)


def build_trainer(
    cfg: FlowRunConfig, run_dir: Path, device: torch.device, splits: Splits, saved: dict | None, preset: str
) -> Trainer:
    """Network, EMA, optimiser and history; restored from the checkpoint ``saved`` on resume (the global RNG is
    restored by train())."""
    t, fmt = cfg.train, memory_format(cfg.train)
    net = placed(VelocityNet(cfg.model), device, fmt)
    ema = copy.deepcopy(net).requires_grad_(False) if t.ema_decay > 0 else None
    opt = torch.optim.Adam(net.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    data = unit_to_pm1(splits.train).to(device, memory_format=fmt)
    labels = _codes(cfg, net, ema, splits, saved).to(device)
    hist: dict[str, Any] = {"step": [], "loss": [], "lr": [], "train_seconds": [], "probe": []}
    info = {
        "preset": preset,
        "data": splits.info,
        "environment": environment(device),
        "params": {"velocity_net": count_params(net)},
    }
    trainer = Trainer(
        cfg=cfg,
        run_dir=run_dir,
        device=device,
        net=net,
        ema=ema,
        opt=opt,
        data=data,
        labels=labels,
        hist=hist,
        info=info,
    )
    if saved is not None:
        restore(trainer, saved)
    return trainer


def _codes(
    cfg: FlowRunConfig, net: VelocityNet, ema: VelocityNet | None, splits: Splits, saved: dict | None
) -> torch.Tensor:
    """The code of every training image: its label, or its k-means cluster (from the checkpoint on resume), whose
    frequencies the networks keep to draw codes from."""
    m = cfg.model
    if not m.classes or m.code == "labels":
        return splits.train_labels
    if len(splits.train) < m.classes:
        raise MnistgenError(f"model.classes={m.classes} k-means clusters need at least as many training images")
    found = saved["extra"].get("clusters") if saved is not None else None
    codes = found.long().cpu() if found is not None else cluster_images(splits.train, m.classes, seed=cfg.runtime.seed)
    freq = torch.bincount(codes, minlength=m.classes).float() / len(codes)
    for module in (net, ema):
        if module is not None:
            module.code_freq.copy_(freq)
    return codes


def restore(trainer: Trainer, saved: dict) -> None:
    load_module_state(trainer.net, saved["models"]["velocity_net"], "velocity network")
    trainer.opt.load_state_dict(saved["optimizers"]["adam"])
    if trainer.ema is not None:
        load_module_state(trainer.ema, saved["extra"]["ema"], "EMA velocity network")
    trainer.step, trainer.train_s = saved["state"]["step"], saved["state"]["train_seconds"]
    trainer.checkpoint_step = trainer.step
    history = trainer.run_dir / rundir.HISTORY
    trainer.hist = trim_history(rundir.read_json(history) if history.exists() else trainer.hist, trainer.step)


def checkpoint(trainer: Trainer) -> None:
    save_checkpoint(
        trainer.run_dir / rundir.LAST,
        kind=KIND,
        models={"velocity_net": trainer.net},
        optimizers={"adam": trainer.opt},
        state={"step": trainer.step, "train_seconds": trainer.train_s},
        config=to_dict(trainer.cfg),
        data=trainer.info["data"],
        extra=({"ema": trainer.ema.state_dict()} if trainer.ema is not None else {})
        | ({"clusters": trainer.labels.to(torch.int16).cpu()} if trainer.cfg.model.code == "clusters" else {}),
    )
    trainer.checkpoint_step = trainer.step
