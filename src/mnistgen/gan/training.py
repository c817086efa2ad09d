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
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mnistgen import rundir
from mnistgen.errors import MnistgenError
from mnistgen.family import TrainedRun
from mnistgen.gan import loss as L
from mnistgen.gan.averaging import update_ema
from mnistgen.gan.config import BUDGET_KEYS, KIND, GANRunConfig, lr_scale, next_probe_time
from mnistgen.gan.figures import make_figures, save_progress_grid
from mnistgen.gan.run import trained_run
from mnistgen.gan.sampler import generate, grid_latent
from mnistgen.gan.state import Trainer, build_trainer, checkpoint, save_history
from mnistgen.images import load_splits
from mnistgen.metrics import load_evaluator, quick_scores
from mnistgen.runs import open_run
from mnistgen.runtime import ScalarLogger, batch_indices, memory_format, progress, set_rng_state, setup

PROBE_SEED = 4321  # noise of the quality probe (independent of the training RNG)
Probe = Callable[[torch.Tensor], dict]


def default_probe(dataset: str, device: torch.device | str = "cpu") -> Probe:
    """IS / modes / class-KL of images in [0, 1] with the dataset's shipped evaluator."""
    ev = load_evaluator(dataset, device=device)
    return lambda images: quick_scores(images, ev)


def discriminator_step(s: Trainer, cache: dict, last: bool) -> tuple[torch.Tensor, Any, Any, float, float]:
    """(1) One critic update on a real batch and fakes made from its clusters. Returns the fakes (with their graph
    on the ``last`` critic step, for the generator update), their clusters and codes, the D loss and W estimate."""
    t, g, d, hp = s.cfg.train, s.g, s.d, s.hp
    n, bs = len(s.data), min(t.batch_size, len(s.data))
    idx = batch_indices(n, bs, s.cfg.runtime.seed, s.batches, cache).to(s.device)
    real = s.data[idx].contiguous(memory_format=memory_format(t))
    s.batches += 1
    cond = s.clusters[idx] if s.clusters is not None else None  # (B,) fakes get the real batch's clusters
    z = g.sample_latent(bs, device=s.device, codes=cond)  # (B, z_dim [+ K])
    codes = g.codes_of(z) if g.categories else None  # (B,) the categorical codes, if any
    with torch.set_grad_enabled(last), s.autocast():
        fake = g(z)  # (B, 1, 28, 28)
    with s.autocast():
        rl, (fl, q) = d(real, cond).float(), d.forward_with_code(fake.detach(), cond)
    fl = fl.float()
    rl, fl = L.clip_logits(rl, t.logit_clip), L.clip_logits(fl, t.logit_clip)
    loss_d = L.d_loss(t.loss, rl, fl, t.real_target)
    if q is not None:
        loss_d = loss_d + t.info_weight * L.info_loss(q, codes)
    if hp.gp_weight > 0:
        loss_d = loss_d + hp.gp_weight * L.gradient_penalty(functools.partial(d, codes=cond), real, fake)
    if t.r1_weight > 0:
        loss_d = loss_d + 0.5 * t.r1_weight * L.r1_penalty(functools.partial(d, codes=cond), real)
    s.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    s.opt_d.step()
    if hp.clip > 0:
        L.clip_weights(d, hp.clip)
    return fake, cond, codes, float(loss_d.detach()), L.wasserstein_estimate(rl, fl)


def generator_step(s: Trainer, fake: torch.Tensor, cond: Any, codes: Any) -> float:
    """(2) One generator update through the frozen critic; returns the G loss."""
    t = s.cfg.train
    s.d.requires_grad_(False)
    with s.autocast():
        fl, q = s.d.forward_with_code(fake, cond)
    loss_g = L.g_loss(t.loss, L.clip_logits(fl.float(), t.logit_clip))
    if q is not None:
        code_ce = L.info_loss(q, codes)
        s.hist["info"].append(float(code_ce.detach()))
        loss_g = loss_g + t.info_weight * code_ce
    s.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    s.opt_g.step()
    s.d.requires_grad_(True)
    return float(loss_g.detach())


def train_step(s: Trainer, cache: dict) -> tuple[float, float]:
    """One generator step: learning rates, (1) the critic updates, (2) the generator update, EMA; returns the D and
    G losses."""
    t0 = time.perf_counter()
    scale = lr_scale(s.cfg.train, s.step, s.train_s)
    for opt, lr in ((s.opt_g, s.hp.lr_g), (s.opt_d, s.hp.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr * scale
    d_vals, w_vals = [], []
    for i in range(s.hp.n_critic):
        fake, cond, codes, dl, w = discriminator_step(s, cache, last=i == s.hp.n_critic - 1)
        d_vals.append(dl)
        w_vals.append(w)
    gl = generator_step(s, fake, cond, codes)
    if s.ema is not None:
        update_ema(s.ema, s.g, s.cfg.train, s.step)
    s.step += 1
    s.train_s += time.perf_counter() - t0
    dl = sum(d_vals) / len(d_vals)
    for key, value in (
        ("step", s.step),
        ("d_loss", dl),
        ("g_loss", gl),
        ("train_seconds", s.train_s),
        ("wasserstein", sum(w_vals) / len(w_vals)),
    ):
        s.hist[key].append(value)
    return dl, gl


def _diverged(s: Trainer, dl: float, gl: float) -> None:
    """Stop with a one-line error naming the step; the last good checkpoint stays."""
    save_history(s)
    last = s.run_dir / rundir.LAST
    kept = (
        f"kept the last good checkpoint {last} (step {s.ck_step})"
        if s.ck_step is not None
        else "no checkpoint was saved yet"
    )
    raise MnistgenError(
        f"training diverged at step {s.step} (D loss {dl:.4g}, G loss {gl:.4g}); {kept}; lower the learning rates"
    )


@dataclass
class Loop:
    """What the step loop needs beside the trainer: the probe and its fixed noise, the grids' noise, the logger."""

    probe: Probe | None
    probe_z: torch.Tensor
    grid_z: torch.Tensor
    logger: ScalarLogger
    wall0: float


def run_probe(s: Trainer, loop: Loop) -> None:
    """Score ``probe_n`` samples of the EMA generator (fixed noise) and append them to the history."""
    if loop.probe is None:
        return
    t0 = time.perf_counter()
    scores = loop.probe(generate(s.sampling_generator(), loop.probe_z, s.cfg.model))
    entry = {
        "step": s.step,
        "train_seconds": s.train_s,
        "wall_seconds": time.perf_counter() - loop.wall0,
        "n": s.cfg.train.probe_n,
        "is": scores["is"],
        "modes": scores["modes"],
        "class_kl": scores["class_kl"],
        "probe_seconds": time.perf_counter() - t0,
    }
    s.hist["probe"].append(entry)
    loop.logger.scalars({"probe/is": entry["is"], "probe/modes": entry["modes"]}, s.step)


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
    run_dir, cfg, preset_name, ck = open_run(KIND, GANRunConfig, cfg, out, resume, overwrite, preset_name, BUDGET_KEYS)
    t = cfg.train
    if t.steps == 0 and t.max_minutes == 0:
        raise MnistgenError("give a budget: train.steps > 0 or --minutes > 0")
    device = setup(cfg.runtime)
    s = build_trainer(cfg, run_dir, device, load_splits(cfg.data, data_dir, download_missing), ck, preset_name)
    if probe == "default":
        probe = default_probe(cfg.data.dataset, device) if (t.probe_every or t.probe_seconds) else None
    if ck is not None:  # after everything setup draws (building the networks draws their initial weights)
        set_rng_state(ck["rng"])
    probe_z = s.g.sample_latent(t.probe_n, torch.Generator().manual_seed(PROBE_SEED), device)
    loop = Loop(
        probe, probe_z, grid_latent(s.g, device), ScalarLogger(run_dir, cfg.runtime.tensorboard), time.perf_counter()
    )
    return s, loop, preset_name


def _after_step(s: Trainer, loop: Loop, dl: float, gl: float, next_probe_t: float) -> float:
    """Log, probe, draw a progress grid and checkpoint when due after a step; returns the next probe time."""
    t = s.cfg.train
    if s.step % 50 == 0:
        loop.logger.scalars({"loss/d": dl, "loss/g": gl, "wasserstein": s.hist["wasserstein"][-1]}, s.step)
    if (t.probe_every and s.step % t.probe_every == 0) or s.train_s >= next_probe_t:
        run_probe(s, loop)
        next_probe_t = next_probe_time(t, s.train_s)
    if t.grid_every and s.step % t.grid_every == 0:
        save_progress_grid(generate(s.sampling_generator(), loop.grid_z, s.cfg.model), s.run_dir, s.step)
    if s.step % t.checkpoint_every == 0:
        checkpoint(s)
        save_history(s)
    return next_probe_t


def _run_steps(s: Trainer, loop: Loop) -> str:
    """Train until the step budget (or the optional wall-clock cap); returns why it stopped ("steps" or "time")."""
    t = s.cfg.train
    next_probe_t = next_probe_time(t, s.train_s)
    s.g.train(), s.d.train()
    bar = progress(total=t.steps or None, initial=s.step, desc=f"gan {t.loss}")
    cache: dict = {}
    try:
        while not t.steps or s.step < t.steps:
            if t.max_minutes and time.perf_counter() - loop.wall0 >= 60 * t.max_minutes:
                return "time"
            dl, gl = train_step(s, cache)
            bar.update(1)
            if not all(math.isfinite(v) and abs(v) <= t.max_abs_loss for v in (dl, gl)):
                _diverged(s, dl, gl)
            next_probe_t = _after_step(s, loop, dl, gl, next_probe_t)
        return "steps"
    finally:
        bar.close()


def _finish(s: Trainer, loop: Loop, stopped: str) -> tuple[list[Path], float]:
    """The last probe, checkpoint, history and grid, then the run's figures and metadata; returns the figures and the
    call's wall time (the one in metadata.json)."""
    if not s.hist["probe"] or s.hist["probe"][-1]["step"] != s.step:
        run_probe(s, loop)
    checkpoint(s)
    s.hist["stopped"] = stopped
    save_history(s)
    save_progress_grid(generate(s.sampling_generator(), loop.grid_z, s.cfg.model), s.run_dir, s.step)
    loop.logger.close()
    figures = make_figures(s.run_dir, s.sampling_generator())
    wall = time.perf_counter() - loop.wall0
    rundir.write_json(
        s.run_dir / rundir.METADATA,
        s.info | {"steps": s.step, "train_seconds": s.train_s, "last_call_wall_seconds": wall},
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
) -> TrainedRun:
    """Train (or resume) a GAN run; returns it, sampling from the trained generator in memory. See the module
    docstring."""
    s, loop, preset_name = _start(cfg, out, resume, overwrite, data_dir, download_missing, preset_name, probe)
    stopped = _run_steps(s, loop)
    figures, wall = _finish(s, loop, stopped)
    summary = {
        "run_dir": str(s.run_dir),
        "preset": preset_name,
        "loss": s.cfg.train.loss,
        "steps": s.step,
        "stopped": stopped,
        "train_seconds": s.train_s,
        "wall_seconds": wall,
        "steps_per_second": s.step / s.train_s if s.train_s else 0.0,
        "last_probe": s.hist["probe"][-1] if s.hist["probe"] else None,
        "params": s.info["params"],
        "figures": [str(p) for p in figures],
    }
    return trained_run(s.run_dir, s.cfg, preset_name, summary, s.sampling_generator(), s.device)
