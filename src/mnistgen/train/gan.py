"""GAN training: ONE loop (bce / wgan / wgan-gp), exact resume, sampling.

A *step* is one generator update, preceded by ``n_critic`` discriminator (critic) updates.
Budgets: ``train.steps`` (total generator steps) and/or ``train.max_minutes`` (wall clock of this
call). ``history.json`` holds per-step losses (and the critic's Wasserstein estimate), training time,
and a periodic quality probe (IS, modes, class-KL on ``probe_n`` samples of the EMA generator).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch

from mnistgen import rundir
from mnistgen.checkpoint import load_checkpoint, load_module_state, save_checkpoint
from mnistgen.clusters import cluster_images
from mnistgen.config import from_dict, load_config_json, save_config, to_dict
from mnistgen.errors import MnistgenError
from mnistgen.images import load_splits, pm1_to_unit, unit_to_pm1
from mnistgen.losses import gan as L
from mnistgen.models.gan import GANModelConfig, Generator, build, count_params
from mnistgen.runtime import ScalarLogger, environment, progress, set_rng_state, setup, use_bf16
from mnistgen.train.gan_config import (  # noqa: F401  (re-exported: the GAN API lives in one namespace)
    FAST_MODEL, LOSS_TUNING, PRESETS, GANRunConfig, GANTrainConfig, configure, hyper, lr_scale, next_probe_time,
)

KIND = "gan"
PROBE_SEED = 4321  # noise of the quality probe (independent of the training RNG)
GRID_SEED = 1234  # the fixed 10x10 noise of the progress grids

def _batch(n: int, bs: int, seed: int, b: int, cache: dict) -> torch.Tensor:
    """Indices of global batch number ``b``: a seeded permutation per epoch (resume-exact)."""
    per_epoch = max(1, n // bs)
    epoch, pos = divmod(b, per_epoch)
    if cache.get("epoch") != epoch:
        cache["epoch"], cache["perm"] = epoch, torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100003 + epoch))
    return cache["perm"][pos * bs : (pos + 1) * bs]


def to_unit_images(x: torch.Tensor, cfg: GANModelConfig) -> torch.Tensor:
    return (pm1_to_unit(x) if cfg.output == "tanh" else x).clamp(0, 1)


@torch.no_grad()
def generate(g: Generator, z: torch.Tensor, cfg: GANModelConfig, batch: int = 1000) -> torch.Tensor:
    was = g.training
    g.eval()
    out = torch.cat([to_unit_images(g(z[i : i + batch]), cfg).cpu() for i in range(0, len(z), batch)])
    g.train(was)
    return out


def grid_latent(g: Generator, device: torch.device | str = "cpu") -> torch.Tensor:
    """The fixed noise of the 10x10 progress grids (100, latent_dim); with a categorical code, row r shows
    code r mod K (so each row is one of the modes the generator found)."""
    gen = torch.Generator().manual_seed(GRID_SEED)
    codes = (torch.arange(100) // 10) % g.categories if g.categories else None
    return g.sample_latent(100, gen, device, codes=codes)


def default_probe(dataset: str, data_dir: str | Path | None = None, download_missing: bool = True,
                  device: torch.device | str = "cpu") -> Callable[[torch.Tensor], dict]:
    """IS / modes / class-KL of images in [0, 1] with the shared evaluator classifier."""
    from mnistgen.metrics import get_evaluator, quick_scores

    ev = get_evaluator(dataset, data_dir, device=device, download_missing=download_missing)
    return lambda images: quick_scores(images, ev)


def _load_resume(run_dir: Path, cfg: GANRunConfig | None) -> tuple[GANRunConfig, str]:
    saved = load_config_json(run_dir / rundir.CONFIG)
    old = from_dict(GANRunConfig, saved.get("config", {}))
    if cfg is not None:  # only the budgets may change on resume
        old = dataclasses.replace(old, train=dataclasses.replace(old.train, steps=cfg.train.steps, max_minutes=cfg.train.max_minutes))
    return old, saved.get("preset", "custom")


def train(cfg: GANRunConfig | None = None, out: str | Path | None = None, *, resume: str | Path | None = None,
          overwrite: bool = False, data_dir: str | Path | None = None, download_missing: bool = True,
          preset_name: str = "custom", probe: Callable[[torch.Tensor], dict] | None | str = "default") -> dict:
    """Train (or resume) a GAN run; returns a summary dict. See the module docstring."""
    from mnistgen.plots.gan import save_progress_grid

    if resume is not None:
        run_dir = rundir.require_run_dir(resume)
        cfg, preset_name = _load_resume(run_dir, cfg)
    else:
        if cfg is None or out is None:
            raise MnistgenError("train needs a config and an output directory (or resume=RUN_DIR)")
        run_dir = rundir.prepare_run_dir(out, overwrite=overwrite)
        save_config(cfg, run_dir / rundir.CONFIG, {"kind": KIND, "preset": preset_name})
    t = cfg.train
    if t.steps == 0 and t.max_minutes == 0:
        raise MnistgenError("give a budget: train.steps > 0 or --minutes > 0")
    hp = hyper(t)
    device = setup(cfg.runtime)
    splits = load_splits(cfg.data, data_dir, download_missing)
    data = (unit_to_pm1(splits.train) if cfg.model.output == "tanh" else splits.train).to(device)
    n, bs = len(data), min(t.batch_size, len(data))
    g, d = build(cfg.model)
    g, d = g.to(device), d.to(device)
    opt_g = L.make_optimizer(hp.optimizer, g.parameters(), hp.lr_g, (hp.beta1, hp.beta2))
    opt_d = L.make_optimizer(hp.optimizer, d.parameters(), hp.lr_d, (hp.beta1, hp.beta2))
    last = run_dir / rundir.LAST
    ck = load_checkpoint(last, KIND, map_location=device) if resume is not None else None
    clusters = None  # (N,) k-means cluster of every training image, for cluster-conditioned codes
    if g.cluster_codes:
        if n < cfg.model.categories:
            raise MnistgenError(f"model.categories={cfg.model.categories} k-means clusters need at least as many training "
                                f"images; the data has {n}")
        if ck is not None and "clusters" not in ck["extra"]:
            raise MnistgenError(f"{last} holds no cluster codes; it was not written by a cluster-conditioned run")
        clusters = (ck["extra"]["clusters"].long().cpu() if ck is not None
                    else cluster_images(splits.train, cfg.model.categories, seed=cfg.runtime.seed))
        if len(clusters) != n:
            raise MnistgenError(f"the run's {len(clusters)} cluster codes do not match its {n} training images")
        g.code_freq.copy_(torch.bincount(clusters, minlength=cfg.model.categories).float() / n)
        clusters = clusters.to(device)
    ema = copy.deepcopy(g).requires_grad_(False) if t.ema_decay > 0 else None
    hist: dict[str, Any] = {"loss": t.loss, "step": [], "d_loss": [], "g_loss": [], "wasserstein": [], "train_seconds": [], "probe": []}
    if d.q_head is not None:
        hist["info"] = []  # per step: the generator's code cross-entropy (log K = no information)
    step = batches = 0
    train_s = 0.0
    if ck is not None:
        load_module_state(g, ck["models"]["generator"], "generator")
        load_module_state(d, ck["models"]["discriminator"], "discriminator")
        opt_g.load_state_dict(ck["optimizers"]["generator"])
        opt_d.load_state_dict(ck["optimizers"]["discriminator"])
        if ema is not None:
            load_module_state(ema, ck["extra"]["ema"], "EMA generator")
        step, batches, train_s = ck["state"]["step"], ck["state"]["batches"], ck["state"]["train_seconds"]
        set_rng_state(ck["rng"])
        old = rundir.read_json(run_dir / rundir.HISTORY) if (run_dir / rundir.HISTORY).exists() else hist
        keep = sum(1 for s in old["step"] if s <= step)
        hist = {k: (v[:keep] if k not in ("probe", "loss") else v) for k, v in old.items()}
        hist["probe"] = [p for p in old.get("probe", []) if p["step"] <= step]
    if probe == "default":
        probe = default_probe(cfg.data.dataset, data_dir, download_missing, device) if (t.probe_every or t.probe_seconds) else None
    sampler_g = ema if ema is not None else g
    probe_z = g.sample_latent(t.probe_n, torch.Generator().manual_seed(PROBE_SEED), device)
    grid_z = grid_latent(g, device)
    logger = ScalarLogger(run_dir, cfg.runtime.tensorboard)
    info = {"preset": preset_name, "loss": t.loss, "hyper": dataclasses.asdict(hp), "data": splits.info, "environment": environment(device),
            "params": {"generator": count_params(g), "discriminator": count_params(d)}}
    state = {"ck_step": step if resume is not None else None}

    bf16 = use_bf16(t.precision, device)
    info["precision"] = "bf16" if bf16 else "fp32"

    def autocast() -> torch.autocast:
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    def checkpoint() -> None:
        save_checkpoint(last, kind=KIND, models={"generator": g, "discriminator": d}, optimizers={"generator": opt_g, "discriminator": opt_d},
                        state={"step": step, "batches": batches, "train_seconds": train_s}, config=to_dict(cfg), data=splits.info,
                        extra=({"ema": ema.state_dict()} if ema is not None else {})
                        | ({"clusters": clusters.to(torch.int16).cpu()} if clusters is not None else {}))
        state["ck_step"] = step

    def do_probe() -> None:
        if probe is None:
            return
        t0 = time.perf_counter()
        scores = probe(generate(sampler_g, probe_z, cfg.model))
        entry = {"step": step, "train_seconds": train_s, "wall_seconds": time.perf_counter() - wall0, "n": t.probe_n,
                 "is": scores["is"], "modes": scores["modes"], "class_kl": scores["class_kl"], "probe_seconds": time.perf_counter() - t0}
        hist["probe"].append(entry)
        logger.scalars({"probe/is": entry["is"], "probe/modes": entry["modes"]}, step)

    def save_history() -> None:
        rundir.write_json(run_dir / rundir.HISTORY, hist)

    wall0 = time.perf_counter()
    next_probe_t = next_probe_time(t, train_s)
    g.train(), d.train()
    bar = progress(total=t.steps or None, initial=step, desc=f"gan {t.loss}")
    stopped = "steps"
    cache: dict = {}
    while not t.steps or step < t.steps:
        if t.max_minutes and time.perf_counter() - wall0 >= 60 * t.max_minutes:
            stopped = "time"
            break
        t0 = time.perf_counter()
        scale = lr_scale(t, step, train_s)
        for opt, lr in ((opt_g, hp.lr_g), (opt_d, hp.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * scale
        d_vals, w_vals = [], []
        for i in range(hp.n_critic):
            idx = _batch(n, bs, cfg.runtime.seed, batches, cache).to(device)
            real = data[idx]
            batches += 1
            cond = clusters[idx] if clusters is not None else None  # (B,) fakes get the real batch's clusters
            z = g.sample_latent(bs, device=device, codes=cond)  # (B, z_dim [+ K])
            codes = g.codes_of(z) if g.categories else None  # (B,) the categorical codes, if any
            last_critic = i == hp.n_critic - 1
            with torch.set_grad_enabled(last_critic), autocast():
                fake = g(z)  # (B, 1, 28, 28); kept with its graph on the last critic step for the G update
            with autocast():
                rl, (fl, q) = d(real, cond).float(), d.forward_with_code(fake.detach(), cond)
            fl = fl.float()
            loss_d = L.d_loss(t.loss, rl, fl)
            if q is not None:
                loss_d = loss_d + t.info_weight * L.info_loss(q, codes)
            if hp.gp_weight > 0:
                loss_d = loss_d + hp.gp_weight * L.gradient_penalty(functools.partial(d, codes=cond), real, fake)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            if hp.clip > 0:
                L.clip_weights(d, hp.clip)
            d_vals.append(float(loss_d.detach()))
            w_vals.append(L.wasserstein_estimate(rl, fl))
        d.requires_grad_(False)
        with autocast():
            fl, q = d.forward_with_code(fake, cond)
        loss_g = L.g_loss(t.loss, fl.float())
        if q is not None:
            code_ce = L.info_loss(q, codes)
            hist["info"].append(float(code_ce.detach()))
            loss_g = loss_g + t.info_weight * code_ce
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        d.requires_grad_(True)
        if ema is not None:
            decay = min(t.ema_decay, (1 + step) / (10 + step))
            with torch.no_grad():
                for pe, pg in zip(ema.parameters(), g.parameters()):
                    pe.lerp_(pg, 1.0 - decay)
                for be, bg in zip(ema.buffers(), g.buffers()):
                    be.copy_(bg)
        step += 1
        train_s += time.perf_counter() - t0
        dl, gl = sum(d_vals) / len(d_vals), float(loss_g.detach())
        hist["step"].append(step), hist["d_loss"].append(dl), hist["g_loss"].append(gl), hist["train_seconds"].append(train_s)
        hist["wasserstein"].append(sum(w_vals) / len(w_vals))
        bar.update(1)
        if not all(math.isfinite(v) and abs(v) <= t.max_abs_loss for v in (dl, gl)):
            save_history()
            bar.close()
            kept = f"kept the last good checkpoint {last} (step {state['ck_step']})" if state["ck_step"] is not None else "no checkpoint was saved yet"
            raise MnistgenError(f"training diverged at step {step} (D loss {dl:.4g}, G loss {gl:.4g}); {kept}; lower the learning rates")
        if step % 50 == 0:
            logger.scalars({"loss/d": dl, "loss/g": gl, "wasserstein": hist["wasserstein"][-1]}, step)
        if (t.probe_every and step % t.probe_every == 0) or train_s >= next_probe_t:
            do_probe()
            next_probe_t = next_probe_time(t, train_s)
        if t.grid_every and step % t.grid_every == 0:
            save_progress_grid(generate(sampler_g, grid_z, cfg.model), run_dir, step)
        if step % t.checkpoint_every == 0:
            checkpoint()
            save_history()
    bar.close()
    if not hist["probe"] or hist["probe"][-1]["step"] != step:
        do_probe()
    checkpoint()
    hist["stopped"] = stopped
    save_history()
    save_progress_grid(generate(sampler_g, grid_z, cfg.model), run_dir, step)
    logger.close()
    wall = time.perf_counter() - wall0
    rundir.write_json(run_dir / rundir.METADATA, info | {"steps": step, "train_seconds": train_s, "last_call_wall_seconds": wall})
    return {"run_dir": str(run_dir), "preset": preset_name, "loss": t.loss, "steps": step, "stopped": stopped,
            "train_seconds": train_s, "wall_seconds": wall, "steps_per_second": step / train_s if train_s else 0.0,
            "last_probe": hist["probe"][-1] if hist["probe"] else None, "params": info["params"]}


def load_run_config(run_dir: str | Path) -> GANRunConfig:
    saved = load_config_json(rundir.require_run_dir(run_dir) / rundir.CONFIG)
    return from_dict(GANRunConfig, saved.get("config", {}))


def load_generator(run_dir: str | Path, device: torch.device | str = "cpu") -> tuple[Generator, GANRunConfig]:
    """The trained generator (the EMA copy if the run kept one), in eval mode."""
    cfg = load_run_config(run_dir)
    ck = load_checkpoint(Path(run_dir) / rundir.LAST, KIND, map_location=device)
    g = Generator(cfg.model)
    load_module_state(g, ck["extra"].get("ema") or ck["models"]["generator"], "generator")
    return g.to(device).eval(), cfg


def load_sampler(run_dir: Path, device: torch.device) -> Callable[[int, torch.Generator], torch.Tensor]:
    g, cfg = load_generator(run_dir, device)

    @torch.no_grad()
    def sample(n: int, gen: torch.Generator) -> torch.Tensor:
        z = g.sample_latent(n, gen, device)
        return to_unit_images(g(z), cfg.model).cpu()  # (n, 1, 28, 28) in [0, 1]

    return sample


def make_figures(run_dir: Path) -> list[Path]:
    from mnistgen.plots.gan import run_figures

    return run_figures(Path(run_dir))
