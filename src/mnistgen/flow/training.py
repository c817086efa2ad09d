"""Flow-matching training: fixed optimiser steps of Adam on the flow-matching loss, an EMA of the weights, quality
probes, checkpoints, and exact resume.

Each step draws a batch of training images (a seeded permutation per epoch), noise and times from the global RNG
(restored from the checkpoint on resume), optionally pairs noise and images by minibatch optimal transport, and for a
class-conditional run drops the label of ``train.label_dropout`` of the images. ``history.json`` holds the loss and
learning rate per step and the probes (IS and classes covered of ``train.probe_n`` EMA samples).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch

from mnistgen import rundir
from mnistgen.errors import MnistgenError
from mnistgen.family import TrainedRun
from mnistgen.flow.config import BUDGET_KEYS, KIND, FlowRunConfig
from mnistgen.flow.figures import make_figures
from mnistgen.flow.loss import flow_matching_loss, ot_pairing, path_point, sample_times
from mnistgen.flow.run import trained_run
from mnistgen.flow.sampler import Draw, generate
from mnistgen.flow.state import Trainer, build_trainer, checkpoint, lr_at, save_history, update_ema
from mnistgen.images import load_splits
from mnistgen.metrics import load_evaluator, quick_scores
from mnistgen.runs import open_run
from mnistgen.runtime import ScalarLogger, batch_indices, memory_format, progress, set_rng_state, setup

PROBE_SEED = 4321  # the probe's noise (independent of the training RNG)
Probe = Callable[[torch.Tensor], dict]


def train_step(s: Trainer, cache: dict) -> float:
    """One optimiser step on a batch; returns its loss."""
    t, fmt = s.cfg.train, memory_format(s.cfg.train)
    idx = batch_indices(len(s.data), min(t.batch_size, len(s.data)), s.cfg.runtime.seed, s.step, cache).to(s.device)
    x1 = s.data[idx]  # (B, 1, 28, 28) images in [-1, 1]
    x0 = torch.randn(x1.shape).to(s.device, memory_format=fmt)  # (B, 1, 28, 28) noise
    if t.ot_pairing:
        x0 = x0[ot_pairing(x0.cpu(), x1.cpu()).to(s.device)]
    times = sample_times(len(x1), t.time_sampler, None, t.time_scale).to(s.device)  # (B,)
    labels = None
    if s.cfg.model.classes:
        keep = torch.rand(len(x1)) >= t.label_dropout
        labels = torch.where(keep.to(s.device), s.labels[idx], s.cfg.model.classes)  # dropped: "no label"
    xt, u = path_point(x0, x1, times)
    for group in s.opt.param_groups:
        group["lr"] = lr_at(t, s.step)
    loss = flow_matching_loss(s.net(xt, times, labels), u)
    s.opt.zero_grad(set_to_none=True)
    loss.backward()
    if t.grad_clip:
        torch.nn.utils.clip_grad_norm_(s.net.parameters(), t.grad_clip)
    s.opt.step()
    s.step += 1
    if s.ema is not None:
        update_ema(s.ema, s.net, t, s.step)
    return float(loss.detach())


def run_probe(s: Trainer, probe: Probe | None, wall0: float) -> None:
    """Score ``probe_n`` samples of the sampling network (fixed noise, the run's sampling config)."""
    if probe is None:
        return
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(PROBE_SEED)
    images = generate(s.sampling_net, s.cfg.train.probe_n, gen, Draw.of(s.cfg))[0]
    scores = probe(images)
    s.hist["probe"].append(
        {
            "step": s.step,
            "train_seconds": s.train_s,
            "wall_seconds": time.perf_counter() - wall0,
            "n": s.cfg.train.probe_n,
            "is": scores["is"],
            "modes": scores["modes"],
            "class_kl": scores["class_kl"],
            "probe_seconds": time.perf_counter() - t0,
        }
    )


def _run_steps(s: Trainer, probe: Probe | None, logger: ScalarLogger, wall0: float) -> str:
    """Train to the step budget (or the optional wall-clock cap); returns why it stopped ("steps" or "time")."""
    t, cache = s.cfg.train, {}
    s.net.train()
    bar = progress(total=t.steps, initial=s.step, desc="flow", unit="step")
    try:
        while s.step < t.steps:
            if t.max_minutes and time.perf_counter() - wall0 >= 60 * t.max_minutes:
                return "time"
            t0 = time.perf_counter()
            loss = train_step(s, cache)
            s.train_s += time.perf_counter() - t0
            if not math.isfinite(loss) or abs(loss) > t.max_abs_loss:
                save_history(s)
                kept = (
                    f"the last good checkpoint (step {s.ck_step}) is kept" if s.ck_step else "no checkpoint was written"
                )
                raise MnistgenError(
                    f"flow training diverged at step {s.step} (loss {loss:.4g}); {kept} in {s.run_dir}; "
                    "lower train.lr and retry"
                )
            for key, value in (
                ("step", s.step),
                ("loss", loss),
                ("lr", lr_at(t, s.step - 1)),
                ("train_seconds", s.train_s),
            ):
                s.hist[key].append(value)
            bar.update(1)
            if s.step % 50 == 0:
                logger.scalars({"loss": loss, "lr": s.hist["lr"][-1]}, s.step)
            if t.probe_every and s.step % t.probe_every == 0:
                run_probe(s, probe, wall0)
            if s.step % t.checkpoint_every == 0:
                checkpoint(s)
                save_history(s)
        return "steps"
    finally:
        bar.close()


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
) -> TrainedRun:
    """Train (or resume) a flow run; returns it, sampling from the trained network in memory."""
    wall0 = time.perf_counter()
    run_dir, cfg, preset_name, ck = open_run(KIND, FlowRunConfig, cfg, out, resume, overwrite, preset_name, BUDGET_KEYS)
    device = setup(cfg.runtime)
    s = build_trainer(cfg, run_dir, device, load_splits(cfg.data, data_dir, download_missing), ck, preset_name)
    if probe == "default":
        probe = _default_probe(cfg.data.dataset, device)
    if ck is not None:  # after everything setup draws (building the network draws its initial weights)
        set_rng_state(ck["rng"])
    logger = ScalarLogger(run_dir, cfg.runtime.tensorboard)
    stopped = _run_steps(s, probe, logger, wall0)
    if not s.hist["probe"] or s.hist["probe"][-1]["step"] != s.step:
        run_probe(s, probe, wall0)
    checkpoint(s)
    s.hist["stopped"] = stopped
    save_history(s)
    logger.close()
    figures = make_figures(run_dir, s.sampling_net)
    wall = time.perf_counter() - wall0
    rundir.write_json(
        run_dir / rundir.METADATA,
        s.info | {"steps": s.step, "train_seconds": s.train_s, "last_call_wall_seconds": wall, "stopped": stopped},
    )
    summary = {
        "run_dir": str(run_dir),
        "preset": preset_name,
        "steps": s.step,
        "stopped": stopped,
        "train_seconds": s.train_s,
        "wall_seconds": wall,
        "batch_size": cfg.train.batch_size,
        "last_probe": s.hist["probe"][-1] if s.hist["probe"] else None,
        "params": s.info["params"],
        "figures": [str(p) for p in figures],
    }
    return trained_run(run_dir, cfg, preset_name, summary, s.sampling_net, device)


def _default_probe(dataset: str, device: torch.device) -> Probe:
    ev = load_evaluator(dataset, device=device)
    return lambda images: quick_scores(images, ev)
