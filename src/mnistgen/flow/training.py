"""Flow-matching training: fixed optimiser steps of Adam on the flow-matching loss, an EMA of the weights, quality
probes, checkpoints, and exact resume.

Each step draws a batch of training images (a seeded permutation per epoch), noise and times from the global RNG
(restored from the checkpoint on resume), optionally pairs noise and images by minibatch optimal transport, and for a
class-conditional run drops the label of ``train.label_dropout`` of the images. ``history.json`` holds the loss and
learning rate per step and the probes (IS and classes covered of ``train.probe_n`` EMA samples).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mnistgen import rundir, trainloop
from mnistgen.errors import MnistgenError
from mnistgen.family import TrainedRun
from mnistgen.flow.config import BUDGET_KEYS, KIND, FlowRunConfig
from mnistgen.flow.figures import make_figures
from mnistgen.flow.loss import flow_matching_loss, ot_pairing, path_point, sample_times
from mnistgen.flow.run import trained_run
from mnistgen.flow.sampler import Draw, generate
from mnistgen.flow.state import Trainer, build_trainer, lr_at, update_ema
from mnistgen.images import load_splits
from mnistgen.runs import open_run
from mnistgen.runtime import BatchCache, ScalarLogger, batch_indices, memory_format, set_rng_state, setup
from mnistgen.trainloop import Probe


def train_step(trainer: Trainer, cache: BatchCache) -> dict[str, float]:
    """One optimiser step on a batch; records and returns its loss."""
    started = time.perf_counter()
    t, fmt = trainer.cfg.train, memory_format(trainer.cfg.train)
    n, batch = len(trainer.data), min(t.batch_size, len(trainer.data))
    idx = batch_indices(n, batch, trainer.cfg.runtime.seed, trainer.step, cache).to(trainer.device)
    x1 = trainer.data[idx]  # (B, C, 28, 28) images in [-1, 1]
    x0 = torch.randn(x1.shape).to(trainer.device, memory_format=fmt)  # (B, C, 28, 28) noise
    if t.ot_pairing:
        x0 = x0[ot_pairing(x0.cpu(), x1.cpu()).to(trainer.device)]
    times = sample_times(len(x1), t.time_sampler, None, t.time_scale).to(trainer.device)  # (B,)
    labels = None
    if trainer.cfg.model.classes:
        keep = torch.rand(len(x1)) >= t.label_dropout
        labels = torch.where(keep.to(trainer.device), trainer.labels[idx], trainer.cfg.model.classes)  # dropped: none
    xt, u = path_point(x0, x1, times)
    for group in trainer.opt.param_groups:
        group["lr"] = lr_at(t, trainer.step)
    loss = flow_matching_loss(trainer.net(xt, times, labels), u)
    trainer.opt.zero_grad(set_to_none=True)
    loss.backward()
    if t.grad_clip:
        torch.nn.utils.clip_grad_norm_(trainer.net.parameters(), t.grad_clip)
    trainer.opt.step()
    trainer.step += 1
    if trainer.ema is not None:
        update_ema(trainer.ema, trainer.net, t, trainer.step)
    trainer.train_s += time.perf_counter() - started
    value = float(loss.detach())
    for key, entry in (
        ("step", trainer.step),
        ("loss", value),
        ("lr", lr_at(t, trainer.step - 1)),
        ("train_seconds", trainer.train_s),
    ):
        trainer.hist[key].append(entry)
    return {"loss": value}


def run_probe(trainer: Trainer, probe: Probe | None, wall0: float) -> None:
    """Score ``probe_n`` samples of the sampling network (fixed noise, the run's sampling config)."""
    if probe is None:
        return
    draw = lambda: generate(
        trainer.sampling_net, trainer.cfg.train.probe_n, trainloop.probe_noise(), Draw.of(trainer.cfg)
    )[0]
    trainer.hist["probe"].append(trainloop.probe_entry(probe, draw, trainer.step, trainer.train_s, wall0))


def _guard(trainer: Trainer, step_losses: Mapping[str, float]) -> MnistgenError | None:
    """The divergence error when the loss is NaN or beyond ``train.max_abs_loss`` (the last good checkpoint stays)."""
    if trainloop.finite(step_losses, trainer.cfg.train.max_abs_loss):
        return None
    kept = f"step {trainer.checkpoint_step}" if trainer.checkpoint_step else None
    return trainloop.diverged("flow", f"step {trainer.step}", step_losses, kept, trainer.run_dir, "train.lr")


def _after_step(trainer: Trainer, probe: Probe | None, logger: ScalarLogger, wall0: float) -> None:
    """Log and probe when due after a step (the step loop checkpoints)."""
    t = trainer.cfg.train
    if trainer.step % 50 == 0:
        logger.scalars({"loss": trainer.hist["loss"][-1], "lr": trainer.hist["lr"][-1]}, trainer.step)
    if t.probe_every and trainer.step % t.probe_every == 0:
        run_probe(trainer, probe, wall0)


def _finish(trainer: Trainer, probe: Probe | None, logger: ScalarLogger, wall0: float, stopped: str) -> list[Path]:
    """The last probe, checkpoint and history, then the run's figures and metadata."""
    if not trainer.hist["probe"] or trainer.hist["probe"][-1]["step"] != trainer.step:
        run_probe(trainer, probe, wall0)
    trainer.checkpoint()
    trainer.hist["stopped"] = stopped
    trainer.save_history()
    logger.close()
    figures = make_figures(trainer.run_dir, trainer.sampling_net)
    wall = time.perf_counter() - wall0
    rundir.write_json(
        trainer.run_dir / rundir.METADATA,
        trainer.info
        | {"steps": trainer.step, "train_seconds": trainer.train_s, "last_call_wall_seconds": wall, "stopped": stopped},
    )
    return figures


def train(
    cfg: FlowRunConfig | None = None,
    out: str | Path | None = None,
    *,
    resume: str | Path | None = None,
    overwrite: bool = False,
    data_dir: str | Path | None = None,
    download_missing: bool = True,
    preset_name: str = "custom",
    probe: Probe | str | None = "default",
) -> TrainedRun[FlowRunConfig]:
    """Train (or resume) a flow run; returns it, sampling from the trained network in memory."""
    wall0 = time.perf_counter()
    run_dir, resolved, preset_name, saved = open_run(
        KIND, FlowRunConfig, cfg, out, resume, overwrite, preset_name, BUDGET_KEYS
    )
    cfg = resolved
    device = setup(cfg.runtime)
    trainer = build_trainer(cfg, run_dir, device, load_splits(cfg.data, data_dir, download_missing), saved, preset_name)
    chosen = trainloop.resolve_probe(probe, cfg.data.dataset, device)
    if saved is not None:  # after everything setup draws (building the network draws its initial weights)
        set_rng_state(saved["rng"])
    logger, t, cache = ScalarLogger(run_dir, cfg.runtime.tensorboard), cfg.train, BatchCache()
    trainer.net.train()
    stopped = trainloop.run_steps(
        trainer,
        t.steps,
        t.max_minutes,
        wall0,
        t.checkpoint_every,
        lambda: train_step(trainer, cache),
        lambda _: _after_step(trainer, chosen, logger, wall0),
        lambda step_losses: _guard(trainer, step_losses),
        desc="flow",
    )
    figures = _finish(trainer, chosen, logger, wall0, stopped)
    summary: dict[str, Any] = {
        "run_dir": str(run_dir),
        "preset": preset_name,
        "steps": trainer.step,
        "stopped": stopped,
        "train_seconds": trainer.train_s,
        "wall_seconds": time.perf_counter() - wall0,
        "batch_size": cfg.train.batch_size,
        "last_probe": trainer.hist["probe"][-1] if trainer.hist["probe"] else None,
        "params": trainer.info["params"],
        "figures": [str(p) for p in figures],
    }
    return trained_run(run_dir, cfg, preset_name, summary, trainer.sampling_net, device)
