"""GAN training: ONE loop for bce / wgan / wgan-gp, read top-down like pytorch/examples' dcgan.

Each *step* is (1) ``n_critic`` discriminator (critic) updates, (2) one generator update, then the
EMA of the generator's weights, the bookkeeping, and now and then a quality probe, a progress grid
and a checkpoint. Budgets: ``train.steps`` (total generator steps) and/or ``train.max_minutes``
(wall clock of this call). ``history.json`` holds per-step losses (and the critic's Wasserstein
estimate), training time, and the probes (IS, modes, class-KL on ``probe_n`` EMA samples).
``resume=RUN_DIR`` continues exactly: batches come from seeded per-epoch permutations and every
state (both nets, both optimisers, the EMA, the clusters, the global RNG) is in the checkpoint.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mnistgen import rundir, trainloop
from mnistgen.errors import MnistgenError
from mnistgen.family import TrainedRun
from mnistgen.gan import loss as losses
from mnistgen.gan.averaging import update_ema
from mnistgen.gan.config import BUDGET_KEYS, KIND, GANRunConfig, lr_scale, next_probe_time
from mnistgen.gan.figures import make_figures, save_progress_grid
from mnistgen.gan.run import trained_run
from mnistgen.gan.sampler import generate, grid_latent
from mnistgen.gan.state import Trainer, build_trainer
from mnistgen.images import load_splits
from mnistgen.runs import open_run
from mnistgen.runtime import BatchCache, ScalarLogger, batch_indices, memory_format, set_rng_state, setup
from mnistgen.trainloop import Probe


@dataclass
class Fakes:
    """What a critic update hands the generator update: the fakes (with their graph on the last critic step), the
    clusters they were made for and their categorical codes (None without them)."""

    images: torch.Tensor  # (B, C, 28, 28)
    clusters: torch.Tensor | None  # (B,)
    codes: torch.Tensor | None  # (B,)


def discriminator_step(trainer: Trainer, cache: BatchCache, last: bool) -> tuple[Fakes, float, float]:
    """(1) One critic update on a real batch and fakes made from its clusters. Returns the fakes, the D loss and the
    critic's Wasserstein estimate."""
    t, g, d, hyper = trainer.cfg.train, trainer.g, trainer.d, trainer.hyper
    n, batch = len(trainer.data), min(t.batch_size, len(trainer.data))
    idx = batch_indices(n, batch, trainer.cfg.runtime.seed, trainer.batches, cache).to(trainer.device)
    real = trainer.data[idx].contiguous(memory_format=memory_format(t))
    trainer.batches += 1
    clusters = trainer.clusters[idx] if trainer.clusters is not None else None  # (B,) fakes get the real batch's
    z = g.sample_latent(batch, device=trainer.device, codes=clusters)  # (B, z_dim [+ K])
    codes = g.codes_of(z) if g.categories else None  # (B,) the categorical codes, if any
    with torch.set_grad_enabled(last), trainer.autocast():
        fake = g(z)  # (B, C, 28, 28)
    with trainer.autocast():
        real_logits, (fake_logits, q) = d(real, clusters).float(), d.forward_with_code(fake.detach(), clusters)
    real_logits = losses.clip_logits(real_logits, t.logit_clip)
    fake_logits = losses.clip_logits(fake_logits.float(), t.logit_clip)
    loss_d = losses.d_loss(t.loss, real_logits, fake_logits, t.real_target)
    if q is not None and codes is not None:
        loss_d = loss_d + t.info_weight * losses.info_loss(q, codes)
    critic = functools.partial(d, codes=clusters)
    if hyper.gp_weight > 0:
        loss_d = loss_d + hyper.gp_weight * losses.gradient_penalty(critic, real, fake)
    if t.r1_weight > 0:
        loss_d = loss_d + 0.5 * t.r1_weight * losses.r1_penalty(critic, real)
    trainer.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    trainer.opt_d.step()
    if hyper.clip > 0:
        losses.clip_weights(d, hyper.clip)
    estimate = losses.wasserstein_estimate(real_logits, fake_logits)
    return Fakes(fake, clusters, codes), float(loss_d.detach()), estimate


def generator_step(trainer: Trainer, fakes: Fakes) -> float:
    """(2) One generator update through the frozen critic; returns the G loss."""
    t = trainer.cfg.train
    trainer.d.requires_grad_(False)
    with trainer.autocast():
        fake_logits, q = trainer.d.forward_with_code(fakes.images, fakes.clusters)
    loss_g = losses.g_loss(t.loss, losses.clip_logits(fake_logits.float(), t.logit_clip))
    if q is not None and fakes.codes is not None:
        code_ce = losses.info_loss(q, fakes.codes)
        trainer.hist["info"].append(float(code_ce.detach()))
        loss_g = loss_g + t.info_weight * code_ce
    trainer.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    trainer.opt_g.step()
    trainer.d.requires_grad_(True)
    return float(loss_g.detach())


def train_step(trainer: Trainer, cache: BatchCache) -> dict[str, float]:
    """One generator step: learning rates, (1) the critic updates, (2) the generator update, EMA; returns the D and
    G losses."""
    started = time.perf_counter()
    scale = lr_scale(trainer.cfg.train, trainer.step, trainer.train_s)
    for opt, lr in ((trainer.opt_g, trainer.hyper.lr_g), (trainer.opt_d, trainer.hyper.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr * scale
    d_losses, estimates = [], []
    for i in range(trainer.hyper.n_critic):
        fakes, d_loss, estimate = discriminator_step(trainer, cache, last=i == trainer.hyper.n_critic - 1)
        d_losses.append(d_loss)
        estimates.append(estimate)
    g_loss = generator_step(trainer, fakes)
    if trainer.ema is not None:
        update_ema(trainer.ema, trainer.g, trainer.cfg.train, trainer.step)
    trainer.step += 1
    trainer.train_s += time.perf_counter() - started
    d_loss = sum(d_losses) / len(d_losses)
    for key, value in (
        ("step", trainer.step),
        ("d_loss", d_loss),
        ("g_loss", g_loss),
        ("train_seconds", trainer.train_s),
        ("wasserstein", sum(estimates) / len(estimates)),
    ):
        trainer.hist[key].append(value)
    return {"D loss": d_loss, "G loss": g_loss}


def _guard(trainer: Trainer, step_losses: Mapping[str, float]) -> MnistgenError | None:
    """The divergence error when a loss is NaN or beyond ``train.max_abs_loss`` (the last good checkpoint stays)."""
    if trainloop.finite(step_losses, trainer.cfg.train.max_abs_loss):
        return None
    kept = f"step {trainer.checkpoint_step}" if trainer.checkpoint_step is not None else None
    where = f"step {trainer.step}"
    return trainloop.diverged("GAN", where, step_losses, kept, trainer.run_dir, "the learning rates")


@dataclass
class Loop:
    """What the step loop needs beside the trainer: the probe and its fixed noise, the grids' noise, the logger, the
    call's start and the next timed probe."""

    probe: Probe | None
    probe_z: torch.Tensor
    grid_z: torch.Tensor
    logger: ScalarLogger
    wall0: float
    next_probe_t: float = 0.0


def run_probe(trainer: Trainer, loop: Loop) -> None:
    """Score ``probe_n`` samples of the EMA generator (fixed noise) and append them to the history."""
    if loop.probe is None:
        return
    draw = lambda: generate(trainer.sampling_generator(), loop.probe_z, trainer.cfg.model)
    entry = trainloop.probe_entry(loop.probe, draw, trainer.step, trainer.train_s, loop.wall0)
    trainer.hist["probe"].append(entry)
    loop.logger.scalars({"probe/is": entry["is"], "probe/modes": entry["modes"]}, trainer.step)


def _start(
    cfg: GANRunConfig | None,
    out: str | Path | None,
    resume: str | Path | None,
    overwrite: bool,
    data_dir: str | Path | None,
    download_missing: bool,
    preset_name: str,
    probe: Probe | str | None,
) -> tuple[Trainer, Loop, str]:
    """Open (or reopen) the run directory, build or restore the trainer, and set up the probe, the grids and the
    logger."""
    run_dir, resolved, preset_name, saved = open_run(
        KIND, GANRunConfig, cfg, out, resume, overwrite, preset_name, BUDGET_KEYS
    )
    cfg = resolved
    t = cfg.train
    if t.steps == 0 and t.max_minutes == 0:
        raise MnistgenError("give a budget: train.steps > 0 or --minutes > 0")
    device = setup(cfg.runtime)
    trainer = build_trainer(cfg, run_dir, device, load_splits(cfg.data, data_dir, download_missing), saved, preset_name)
    chosen = trainloop.resolve_probe(probe, cfg.data.dataset, device, wanted=bool(t.probe_every or t.probe_seconds))
    if saved is not None:  # after everything setup draws (building the networks draws their initial weights)
        set_rng_state(saved["rng"])
    probe_z = trainer.g.sample_latent(t.probe_n, trainloop.probe_noise(), device)
    logger = ScalarLogger(run_dir, cfg.runtime.tensorboard)
    loop = Loop(chosen, probe_z, grid_latent(trainer.g, device), logger, time.perf_counter())
    loop.next_probe_t = next_probe_time(t, trainer.train_s)
    return trainer, loop, preset_name


def _after_step(trainer: Trainer, loop: Loop, step_losses: Mapping[str, float]) -> None:
    """Log, probe and draw a progress grid when due after a step (the step loop checkpoints)."""
    t = trainer.cfg.train
    if trainer.step % 50 == 0:
        scalars = {"loss/d": step_losses["D loss"], "loss/g": step_losses["G loss"]}
        loop.logger.scalars(scalars | {"wasserstein": trainer.hist["wasserstein"][-1]}, trainer.step)
    if (t.probe_every and trainer.step % t.probe_every == 0) or trainer.train_s >= loop.next_probe_t:
        run_probe(trainer, loop)
        loop.next_probe_t = next_probe_time(t, trainer.train_s)
    if t.grid_every and trainer.step % t.grid_every == 0:
        save_progress_grid(
            generate(trainer.sampling_generator(), loop.grid_z, trainer.cfg.model), trainer.run_dir, trainer.step
        )


def _run_steps(trainer: Trainer, loop: Loop) -> str:
    """Train until the step budget (or the optional wall-clock cap); returns why it stopped ("steps" or "time")."""
    t, cache = trainer.cfg.train, BatchCache()
    trainer.g.train(), trainer.d.train()
    return trainloop.run_steps(
        trainer,
        t.steps,
        t.max_minutes,
        loop.wall0,
        t.checkpoint_every,
        lambda: train_step(trainer, cache),
        lambda step_losses: _after_step(trainer, loop, step_losses),
        lambda step_losses: _guard(trainer, step_losses),
        desc=f"gan {t.loss}",
    )


def _finish(trainer: Trainer, loop: Loop, stopped: str) -> tuple[list[Path], float]:
    """The last probe, checkpoint, history and grid, then the run's figures and metadata; returns the figures and the
    call's wall time (the one in metadata.json)."""
    if not trainer.hist["probe"] or trainer.hist["probe"][-1]["step"] != trainer.step:
        run_probe(trainer, loop)
    trainer.checkpoint()
    trainer.hist["stopped"] = stopped
    trainer.save_history()
    save_progress_grid(
        generate(trainer.sampling_generator(), loop.grid_z, trainer.cfg.model), trainer.run_dir, trainer.step
    )
    loop.logger.close()
    figures = make_figures(trainer.run_dir, trainer.sampling_generator())
    wall = time.perf_counter() - loop.wall0
    rundir.write_json(
        trainer.run_dir / rundir.METADATA,
        trainer.info | {"steps": trainer.step, "train_seconds": trainer.train_s, "last_call_wall_seconds": wall},
    )
    return figures, wall


def train(
    cfg: GANRunConfig | None = None,
    out: str | Path | None = None,
    *,
    resume: str | Path | None = None,
    overwrite: bool = False,
    data_dir: str | Path | None = None,
    download_missing: bool = True,
    preset_name: str = "custom",
    probe: Probe | str | None = "default",
) -> TrainedRun[GANRunConfig]:
    """Train (or resume) a GAN run; returns it, sampling from the trained generator in memory. See the module
    docstring."""
    trainer, loop, preset_name = _start(cfg, out, resume, overwrite, data_dir, download_missing, preset_name, probe)
    stopped = _run_steps(trainer, loop)
    figures, wall = _finish(trainer, loop, stopped)
    summary: dict[str, Any] = {
        "run_dir": str(trainer.run_dir),
        "preset": preset_name,
        "loss": trainer.cfg.train.loss,
        "steps": trainer.step,
        "stopped": stopped,
        "train_seconds": trainer.train_s,
        "wall_seconds": wall,
        "steps_per_second": trainer.step / trainer.train_s if trainer.train_s else 0.0,
        "last_probe": trainer.hist["probe"][-1] if trainer.hist["probe"] else None,
        "params": trainer.info["params"],
        "figures": [str(p) for p in figures],
    }
    generator = trainer.sampling_generator()
    return trained_run(trainer.run_dir, trainer.cfg, preset_name, summary, generator, trainer.device)
