"""The VAE training loop: epochs of Adam on BCE + beta * KL, early stopping, then the ex-post mixture prior.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mnistgen import rundir, trainloop
from mnistgen.checkpoint import load_module_state, save_checkpoint
from mnistgen.config import to_dict
from mnistgen.errors import MnistgenError
from mnistgen.family import TrainedRun
from mnistgen.images import Splits, load_splits
from mnistgen.runs import open_run
from mnistgen.runtime import ScalarLogger, environment, memory_format, placed, progress, set_rng_state, setup
from mnistgen.vae.config import BUDGET_KEYS, KIND, VAERunConfig
from mnistgen.vae.figures import make_figures
from mnistgen.vae.finish import finish
from mnistgen.vae.loss import CURVES, evaluate, kl_warmup, mmd_to_standard_normal, vae_loss
from mnistgen.vae.model import VAE
from mnistgen.vae.run import trained_run
from mnistgen.vae.sampler import build_model, load_model
from mnistgen.vae.schedule import EarlyStopping, lr_at
from mnistgen.vae.warm import warm_start


def _gen(seed: int, epoch: int, salt: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + epoch * 101 + salt)


@dataclass
class _Loop:
    """What one call of :func:`train` works on (model, optimiser, counters, history)."""

    cfg: VAERunConfig
    run_dir: Path
    device: torch.device
    splits: Splits
    preset: str
    model: VAE
    optimizer: torch.optim.Optimizer
    stopper: EarlyStopping
    started: float
    history: dict[str, Any] = field(default_factory=dict)  # per-epoch lists, and records of the finish
    epoch: int = 0
    step: int = 0
    prior_seconds: float = 0.0  # training seconds of earlier calls (resume)
    epochs_this_call: int = 0

    @property
    def epoch_images(self) -> int:
        """Images per epoch: all the training images, or ``train.epoch_images`` of them (a fresh draw each epoch)."""
        n = len(self.splits.train)
        return min(self.cfg.train.epoch_images, n) if self.cfg.train.epoch_images else n

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.epoch_images / self.cfg.train.batch_size)


def _start(
    cfg: VAERunConfig,
    run_dir: Path,
    device: torch.device,
    splits: Splits,
    saved: dict | None,
    preset: str,
    started: float,
) -> _Loop:
    """Build the model and optimiser; restore them, the counters, the history and the RNG from ``saved`` if given."""
    tc = cfg.train
    model = build_model(cfg.model).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay, eps=tc.adam_eps)
    loop = _Loop(
        cfg, run_dir, device, splits, preset, model, optimizer, EarlyStopping(tc.patience, tc.min_delta), started
    )
    curves = ["epoch", "lr", "kl_weight", "seconds"] + [f"{s}_{c}" for s in ("train", "val") for c in CURVES]
    loop.history = {k: [] for k in curves}  # per epoch; refinement and warm-start records join it as dicts
    if saved is None and tc.warm_start:
        loop.history["warm_start"] = warm_start(
            model, tc.warm_start, splits.train[: tc.warm_plane] if tc.warm_plane else None
        )
    if saved is not None:
        load_module_state(model, saved["models"]["vae"], "VAE")
        optimizer.load_state_dict(saved["optimizers"]["adam"])
        state = saved["state"]
        loop.epoch, loop.step, loop.prior_seconds = (
            int(state["epoch"]),
            int(state["step"]),
            float(state["train_seconds"]),
        )
        loop.stopper.load_state_dict(state["stopper"])
        loop.history = {k: list(v) if isinstance(v, list) else v for k, v in state["history"].items()}
        set_rng_state(saved["rng"])
    if tc.channels_last:
        loop.model = placed(model, fmt=torch.channels_last)
    return loop


def _checkpoint(loop: _Loop, path: Path) -> None:
    state = {
        "epoch": loop.epoch,
        "step": loop.step,
        "train_seconds": loop.prior_seconds + (time.monotonic() - loop.started),
        "stopper": loop.stopper.state_dict(),
        "history": loop.history,
    }
    save_checkpoint(
        path,
        kind=KIND,
        models={"vae": loop.model},
        optimizers={"adam": loop.optimizer},
        state=state,
        config=to_dict(loop.cfg) | {"preset": loop.preset},
        data=loop.splits.info,
    )


def _write_history(loop: _Loop) -> None:
    rundir.write_json(
        loop.run_dir / rundir.HISTORY,
        loop.history | {"best_epoch": loop.stopper.best_epoch, "best_val_loss": loop.stopper.best},
    )


def _train_epoch(loop: _Loop, ep: int) -> tuple[dict[str, float], float]:
    """One pass over the shuffled training images; returns (mean train terms, the last KL weight)."""
    tc, device, model = loop.cfg.train, loop.device, loop.model
    fmt = memory_format(tc)
    n_train, seed = loop.epoch_images, loop.cfg.runtime.seed
    total_steps, warmup_steps = tc.epochs * loop.steps_per_epoch, round(tc.warmup_epochs * loop.steps_per_epoch)
    model.train()
    order = torch.randperm(len(loop.splits.train), generator=_gen(seed, ep, 0, torch.device("cpu")))[:n_train]
    noise = _gen(seed, ep, 1, device)
    sums, weight = dict.fromkeys(CURVES, 0.0), 1.0
    for i in progress(range(loop.steps_per_epoch), desc=f"vae epoch {ep}/{tc.epochs}", unit="step"):
        x = loop.splits.train[order[i * tc.batch_size : (i + 1) * tc.batch_size]].to(device, memory_format=fmt)
        for group in loop.optimizer.param_groups:
            group["lr"] = lr_at(loop.step, total_steps, tc)
        weight = kl_warmup(loop.step, warmup_steps)
        out = model(x, noise)
        terms = vae_loss(out.logits, x, out.mu, out.logvar, beta=tc.beta, kl_weight=weight, free_bits=tc.free_bits)
        if tc.mmd:
            terms = terms._replace(total=terms.total + tc.mmd * mmd_to_standard_normal(out.z, noise))
        if not torch.isfinite(terms.total):
            raise _diverged(loop, ep, float(terms.total.detach()))
        loop.optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        loop.optimizer.step()
        loop.step += 1
        sums["recon"] += float(terms.recon.detach()) * len(x)
        sums["kl"] += float(terms.kl.detach()) * len(x)
    train_m = {k: v / n_train for k, v in sums.items()}
    train_m["loss"] = train_m["recon"] + tc.beta * train_m["kl"]
    return train_m, weight


def _diverged(loop: _Loop, ep: int, loss: float) -> MnistgenError:
    """The divergence error (the history saved; the last good checkpoint stays)."""
    _write_history(loop)
    kept = f"epoch {loop.epoch}" if loop.epoch else None
    where = f"epoch {ep}, step {loop.step + 1}"
    return trainloop.diverged("VAE", where, {"loss": loss}, kept, loop.run_dir, "train.lr")


def _end_epoch(
    loop: _Loop, ep: int, train_m: dict[str, float], weight: float, seconds: float, logger: ScalarLogger
) -> None:
    """Validate, record the epoch, update early stopping, write the checkpoints and the history."""
    tc = loop.cfg.train
    val_m = evaluate(loop.model, loop.splits.val, tc.beta, _gen(loop.cfg.runtime.seed, 0, 2, loop.device), loop.device)
    loop.epoch = ep
    total_steps = tc.epochs * loop.steps_per_epoch
    for key, value in [
        ("epoch", ep),
        ("lr", lr_at(loop.step - 1, total_steps, tc)),
        ("kl_weight", weight),
        ("seconds", seconds),
    ]:
        loop.history[key].append(value)
    for name in CURVES:
        loop.history[f"train_{name}"].append(train_m[name])
        loop.history[f"val_{name}"].append(val_m[name])
    logger.scalars({f"{s}/{c}": m[c] for s, m in (("train", train_m), ("val", val_m)) for c in CURVES}, ep)
    if loop.stopper.update(val_m["loss"] if len(loop.splits.val) else train_m["loss"], ep):
        _checkpoint(loop, loop.run_dir / rundir.BEST)
    _checkpoint(loop, loop.run_dir / rundir.LAST)
    _write_history(loop)
    loop.epochs_this_call += 1


def _run_epochs(loop: _Loop) -> str:
    """Epochs until the maximum, early stopping or the optional time budget; returns why training stopped."""
    tc = loop.cfg.train
    logger = ScalarLogger(loop.run_dir, loop.cfg.runtime.tensorboard)
    stopped = "early-stopping" if loop.stopper.should_stop else "epochs"
    while loop.epoch < tc.epochs and not loop.stopper.should_stop:
        elapsed = time.monotonic() - loop.started
        if tc.max_minutes and loop.epochs_this_call and elapsed + elapsed / loop.epochs_this_call > 60 * tc.max_minutes:
            stopped = "time-budget"
            break
        epoch_start, ep = time.monotonic(), loop.epoch + 1
        train_m, weight = _train_epoch(loop, ep)
        _end_epoch(loop, ep, train_m, weight, time.monotonic() - epoch_start, logger)
        if loop.stopper.should_stop:
            stopped = "early-stopping"
    logger.close()
    return stopped


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
) -> TrainedRun:
    """Train (or continue, with ``resume=RUN_DIR``) a VAE; returns the run, sampling from its best weights in memory."""
    started = time.monotonic()
    run_dir, resolved, preset_name, saved = open_run(
        KIND, VAERunConfig, cfg, out, resume, overwrite, preset_name, BUDGET_KEYS
    )
    cfg = resolved
    device = setup(cfg.runtime)
    splits = splits or load_splits(cfg.data, data_dir, download_missing)
    loop = _start(cfg, run_dir, device, splits, saved, preset_name, started)
    stopped = _run_epochs(loop)
    model = finish(loop, lambda: _gen(cfg.runtime.seed, 0, 2, device)) or load_model(run_dir, device)[0]
    model = placed(model, fmt=torch.contiguous_format).eval()  # as a model loaded from the best checkpoint
    _write_history(loop)
    train_seconds = time.monotonic() - started
    figures = make_figures(run_dir, splits=splits, model=model)
    stopper = loop.stopper
    meta = {
        "kind": KIND,
        "preset": preset_name,
        "dataset": splits.info,
        "environment": environment(device),
        "status": "finished" if stopped != "time-budget" else "stopped-by-time-budget",
        "stopped": stopped,
        "epochs_completed": loop.epoch,
        "epoch_images": loop.epoch_images,
        "best_epoch": stopper.best_epoch,
        "best_val_loss": stopper.best,
        "train_seconds_this_call": train_seconds,
        "wall_seconds_this_call": time.monotonic() - started,
        "train_seconds_total": loop.prior_seconds + train_seconds,
        "resumed": resume is not None,
        "decoder_refinement": loop.history.get("decoder"),
    }
    rundir.write_json(run_dir / rundir.METADATA, meta)
    summary = meta | {
        "run_dir": str(run_dir),
        "figures": [str(p) for p in figures],
        "samples_per_second": loop.epoch_images * loop.epochs_this_call / max(train_seconds, 1e-9),
    }
    return trained_run(run_dir, cfg, preset_name, summary, model, device)
