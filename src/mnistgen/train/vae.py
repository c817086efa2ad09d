"""Training the VAE family: the one training loop, and loading a trained decoder.

``train(cfg, out)`` is used by ``mnistgen train vae`` and, in-process, by the study command. Every
epoch appends train and validation (combined loss, reconstruction, KL) to ``history.json``; early
stopping watches the validation combined loss; ``checkpoint_best.pt`` keeps the best epoch and
``checkpoint_last.pt`` the latest, from which ``resume=RUN_DIR`` continues bit for bit (on CPU):
shuffling and reparameterisation noise come from per-epoch seeded generators, the learning rate
and KL warm-up are pure functions of the step, and model/optimizer state is restored exactly.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

import torch

from mnistgen import rundir
from mnistgen.checkpoint import load_checkpoint, load_module_state, rewrite_checkpoint, save_checkpoint
from mnistgen.config import from_dict, load_config_json, save_config, to_dict
from mnistgen.errors import MnistgenError
from mnistgen.images import Splits, load_splits
from mnistgen.losses.vae import kl_warmup, mmd_to_standard_normal, vae_loss
from mnistgen.models.vae import VAE
from mnistgen.runtime import ScalarLogger, environment, progress, set_rng_state, setup
from mnistgen.train.vae_config import (  # noqa: F401  (re-exported: the VAE API lives in one namespace)
    PRESETS, SCHEDULES, VAEModelConfig, VAERunConfig, VAETrainConfig,
)

KIND = "vae"
CURVES = ("loss", "recon", "kl")


class EarlyStopping:
    """Stop after ``patience`` epochs without the monitored value beating the best by > ``min_delta``."""

    def __init__(self, patience: int = 4, min_delta: float = 0.0) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.bad_epochs = math.inf, 0, 0

    def update(self, value: float, epoch: int) -> bool:
        """Record one epoch's value; True if it is the new best."""
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.bad_epochs = float(state["best"]), int(state["best_epoch"]), int(state["bad_epochs"])


def lr_at(step: int, total: int, cfg: VAETrainConfig) -> float:
    """Learning rate of optimiser step ``step`` out of ``total`` (a pure function: resume-safe)."""
    t = min(step / max(total, 1), 1.0)
    if cfg.schedule == "constant":
        return cfg.lr
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * t))
    if t < 0.1:  # onecycle: lr/25 -> lr linearly, then cosine down to ~0
        return cfg.lr * (0.04 + 0.96 * t / 0.1)
    return cfg.lr * (0.001 + 0.999 * 0.5 * (1 + math.cos(math.pi * (t - 0.1) / 0.9)))


def build_model(cfg: VAEModelConfig) -> VAE:
    return VAE(cfg.arch, cfg.latent_dim, cfg.channels, cfg.hidden, cfg.prior_components)


def load_run_config(run_dir: str | Path) -> tuple[VAERunConfig, str]:
    """The resolved config and preset name saved in a VAE run directory."""
    path = rundir.require_run_dir(run_dir) / rundir.CONFIG
    payload = load_config_json(path)
    if payload.get("kind") != KIND:
        raise MnistgenError(f"{run_dir} holds a {payload.get('kind')} run, not a {KIND} one")
    return from_dict(VAERunConfig, payload["config"]), str(payload.get("preset", "custom"))


def _gen(seed: int, epoch: int, salt: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + epoch * 101 + salt)


@torch.no_grad()
def evaluate(model: VAE, images: torch.Tensor, beta: float, gen: torch.Generator, device: torch.device, batch: int = 1000) -> dict[str, float]:
    """Mean combined loss (recon + beta*KL), reconstruction and KL per image over ``images``."""
    model.eval()
    sums = dict.fromkeys(CURVES, 0.0)
    for i in range(0, len(images), batch):
        x = images[i : i + batch].to(device)
        out = model(x, gen)
        terms = vae_loss(out.logits, x, out.mu, out.logvar, beta=beta)
        for name, value in zip(CURVES, terms):
            sums[name] += float(value) * len(x)
    return {k: v / max(len(images), 1) for k, v in sums.items()}


def train(
    cfg: VAERunConfig | None,
    out: str | Path | None = None,
    *,
    resume: str | Path | None = None,
    overwrite: bool = False,
    data_dir: str | Path | None = None,
    download_missing: bool = True,
    preset_name: str = "custom",
    splits: Splits | None = None,
) -> dict[str, Any]:
    """Train (or continue, with ``resume=RUN_DIR``) a VAE; returns a summary dict."""
    started = time.monotonic()
    if (out is None) == (resume is None):
        raise MnistgenError("give exactly one of an output run directory or a run directory to resume")
    if resume is not None:
        run_dir = rundir.require_run_dir(resume)
        saved, preset_name = load_run_config(run_dir)
        cfg = cfg or saved
        ckpt = load_checkpoint(run_dir / rundir.LAST, KIND)
    else:
        if cfg is None:
            raise MnistgenError("a VAE config is needed to start a new run")
        run_dir, ckpt = rundir.prepare_run_dir(out, overwrite=overwrite), None
    tc = cfg.train
    device = setup(cfg.runtime)
    splits = splits or load_splits(cfg.data, data_dir, download_missing)
    save_config(cfg, run_dir / rundir.CONFIG, extra={"kind": KIND, "preset": preset_name})

    model = build_model(cfg.model).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    stopper = EarlyStopping(tc.patience, tc.min_delta)
    history: dict[str, list] = {k: [] for k in ["epoch", "lr", "kl_weight", "seconds"] + [f"{s}_{c}" for s in ("train", "val") for c in CURVES]}
    epoch, step, prior_seconds = 0, 0, 0.0
    if ckpt is not None:
        load_module_state(model, ckpt["models"]["vae"], "VAE")
        optimizer.load_state_dict(ckpt["optimizers"]["adam"])
        state = ckpt["state"]
        epoch, step, prior_seconds = int(state["epoch"]), int(state["step"]), float(state["train_seconds"])
        stopper.load_state_dict(state["stopper"])
        history = {k: list(v) for k, v in state["history"].items()}
        set_rng_state(ckpt["rng"])
    if tc.channels_last:
        model = model.to(memory_format=torch.channels_last)
    n_train = len(splits.train)
    steps_per_epoch = math.ceil(n_train / tc.batch_size)
    total_steps, warmup_steps = tc.epochs * steps_per_epoch, round(tc.warmup_epochs * steps_per_epoch)
    logger = ScalarLogger(run_dir, cfg.runtime.tensorboard)
    seed, stopped, epochs_this_call = cfg.runtime.seed, "epochs", 0
    cfg_dict, fmt = to_dict(cfg), torch.channels_last if tc.channels_last else torch.contiguous_format

    def checkpoint(path: Path) -> None:
        state = {"epoch": epoch, "step": step, "train_seconds": prior_seconds + (time.monotonic() - started),
                 "stopper": stopper.state_dict(), "history": history}
        save_checkpoint(path, kind=KIND, models={"vae": model}, optimizers={"adam": optimizer}, state=state,
                        config=cfg_dict | {"preset": preset_name}, data=splits.info)

    if stopper.should_stop:
        stopped = "early-stopping"
    while epoch < tc.epochs and not stopper.should_stop:
        elapsed = time.monotonic() - started
        if tc.max_minutes and epochs_this_call and elapsed + elapsed / epochs_this_call > 60 * tc.max_minutes:
            stopped = "time-budget"
            break
        epoch_start, ep = time.monotonic(), epoch + 1
        model.train()
        gen = _gen(seed, ep, 0, torch.device("cpu"))
        noise = _gen(seed, ep, 1, device)
        order = torch.randperm(n_train, generator=gen)
        sums = dict.fromkeys(CURVES, 0.0)
        for i in progress(range(steps_per_epoch), desc=f"vae epoch {ep}/{tc.epochs}", unit="step"):
            x = splits.train[order[i * tc.batch_size : (i + 1) * tc.batch_size]].to(device, memory_format=fmt)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, tc)
            weight = kl_warmup(step, warmup_steps)
            out = model(x, noise)
            terms = vae_loss(out.logits, x, out.mu, out.logvar, beta=tc.beta, kl_weight=weight)
            if tc.mmd:
                terms = terms._replace(total=terms.total + tc.mmd * mmd_to_standard_normal(out.z, noise))
            if not torch.isfinite(terms.total):
                _write_history(run_dir, history, stopper)
                kept = f"the last good checkpoint (epoch {epoch}) is kept" if epoch else "no checkpoint was written"
                raise MnistgenError(f"VAE training diverged: the loss became NaN in epoch {ep} (step {step + 1}); "
                                    f"{kept} in {run_dir}; lower train.lr and retry")
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            optimizer.step()
            step += 1
            sums["recon"] += float(terms.recon.detach()) * len(x)
            sums["kl"] += float(terms.kl.detach()) * len(x)
        train_m = {k: v / n_train for k, v in sums.items()}
        train_m["loss"] = train_m["recon"] + tc.beta * train_m["kl"]
        val_m = evaluate(model, splits.val, tc.beta, _gen(seed, 0, 2, device), device)
        epoch = ep
        seconds = time.monotonic() - epoch_start
        for key, value in [("epoch", ep), ("lr", lr_at(step - 1, total_steps, tc)), ("kl_weight", weight), ("seconds", seconds)]:
            history[key].append(value)
        for name in CURVES:
            history[f"train_{name}"].append(train_m[name])
            history[f"val_{name}"].append(val_m[name])
        logger.scalars({f"{s}/{c}": m[c] for s, m in (("train", train_m), ("val", val_m)) for c in CURVES}, ep)
        if stopper.update(val_m["loss"] if len(splits.val) else train_m["loss"], ep):
            checkpoint(run_dir / rundir.BEST)
        checkpoint(run_dir / rundir.LAST)
        _write_history(run_dir, history, stopper)
        epochs_this_call += 1
        if stopper.should_stop:
            stopped = "early-stopping"
    logger.close()
    if model.prior is not None and (epochs_this_call or "prior" not in history):
        history["prior"] = _fit_prior(model, run_dir, splits, cfg)
        _write_history(run_dir, history, stopper)
    train_seconds = time.monotonic() - started
    figures = make_figures(run_dir, splits=splits)
    wall = time.monotonic() - started
    meta = {"kind": KIND, "preset": preset_name, "dataset": splits.info, "environment": environment(device),
            "status": "finished" if stopped != "time-budget" else "stopped-by-time-budget", "stopped": stopped,
            "epochs_completed": epoch, "best_epoch": stopper.best_epoch, "best_val_loss": stopper.best,
            "train_seconds_this_call": train_seconds, "wall_seconds_this_call": wall,
            "train_seconds_total": prior_seconds + train_seconds, "resumed": resume is not None}
    rundir.write_json(run_dir / rundir.METADATA, meta)
    return meta | {"run_dir": str(run_dir), "figures": [str(p) for p in figures],
                   "samples_per_second": n_train * epochs_this_call / max(train_seconds, 1e-9)}


def _fit_prior(model: VAE, run_dir: Path, splits: Splits, cfg: VAERunConfig) -> dict:
    """Fit the mixture prior to the BEST weights' codes of the training images; store it in the best checkpoint."""
    started = time.monotonic()
    best = load_checkpoint(run_dir / rundir.BEST, KIND)
    load_module_state(model, best["models"]["vae"], "VAE")
    tc = cfg.train
    pick = torch.randperm(len(splits.train), generator=torch.Generator().manual_seed(cfg.runtime.seed))[: tc.prior_max_codes]
    codes = model.eval().posterior_means(splits.train[pick])  # (M, d)
    curve = model.prior.fit(codes, iterations=tc.prior_iterations, seed=cfg.runtime.seed)
    hist = {"components": model.prior.components, "codes": len(codes), "log_likelihood": curve,
            "seconds": time.monotonic() - started}
    best["models"]["vae"] = model.state_dict()
    best["state"]["prior"] = hist
    rewrite_checkpoint(run_dir / rundir.BEST, best)
    return hist


def _write_history(run_dir: Path, history: dict, stopper: EarlyStopping) -> None:
    rundir.write_json(run_dir / rundir.HISTORY, history | {"best_epoch": stopper.best_epoch, "best_val_loss": stopper.best})


def load_model(run_dir: str | Path, device: torch.device | str = "cpu", which: str = "best") -> tuple[VAE, VAERunConfig]:
    """The VAE from ``checkpoint_best.pt`` (falling back to the last one) in eval mode."""
    run_dir = Path(run_dir)
    cfg, _ = load_run_config(run_dir)
    path = run_dir / (rundir.BEST if which == "best" else rundir.LAST)
    if which == "best" and not path.exists():
        path = run_dir / rundir.LAST
    ckpt = load_checkpoint(path, KIND)
    model = build_model(cfg.model)
    load_module_state(model, ckpt["models"]["vae"], "VAE")
    return model.to(device).eval(), cfg


def load_sampler(run_dir: Path, device: torch.device) -> Callable[[int, torch.Generator], torch.Tensor]:
    """Decoders alone (best checkpoint): z ~ N(0, I) or the fitted mixture prior, drawn with ``gen`` on the CPU -> decoder -> means in [0, 1]."""
    model, _ = load_model(run_dir, device)

    @torch.no_grad()
    def sample(n: int, gen: torch.Generator) -> torch.Tensor:
        return model.sample(n, gen).float().cpu()

    return sample


def make_figures(run_dir: str | Path, splits: Splits | None = None, data_dir: str | Path | None = None) -> list[Path]:
    """(Re)draw every figure of a VAE run into RUN_DIR/figures/ (see mnistgen.plots.vae)."""
    from mnistgen.plots.vae import draw_all

    return draw_all(Path(run_dir), splits=splits, data_dir=data_dir)
