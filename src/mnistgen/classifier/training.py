"""Training the evaluator classifier (the loop) and loading a trained one.

The default recipe (about 100 s on a 2-core CPU) holds out 10,000 training images as
validation data; ``mnistgen.metrics.evaluate_real`` uses exactly those as never-seen real images.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from mnistgen import rundir
from mnistgen.checkpoint import load_checkpoint, load_module_state, save_checkpoint
from mnistgen.classifier.config import BUDGET_KEYS, KIND, ClassifierRunConfig, ClassifierTrainConfig
from mnistgen.classifier.figures import make_figures
from mnistgen.classifier.model import Classifier
from mnistgen.classifier.run import trained_run
from mnistgen.config import from_dict, to_dict
from mnistgen.family import TrainedRun
from mnistgen.images import load_splits
from mnistgen.runs import load_run_config, open_run
from mnistgen.runtime import environment, memory_format, placed, progress, set_rng_state, setup, use_bf16


def augment(x: torch.Tensor, cfg: ClassifierTrainConfig, gen: torch.Generator) -> torch.Tensor:
    """Random rotation/zoom/shift (and, with ``hflip``, left-right mirroring) of a (B, 1, 28, 28) batch in [0, 1];
    the background stays 0."""
    if cfg.max_rotate == 0 and cfg.max_shift == 0 and cfg.max_scale == 0 and not cfg.hflip:
        return x
    b = x.shape[0]
    u = torch.rand(b, 4, generator=gen) * 2 - 1  # (B, 4) in [-1, 1]
    angle = u[:, 0] * math.radians(cfg.max_rotate)
    scale = 1.0 + u[:, 1] * cfg.max_scale
    shift = u[:, 2:] * (2.0 * cfg.max_shift / 28.0)  # pixels -> normalised grid units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )  # (B, 2, 3)
    if cfg.hflip:  # negating the input x coordinate mirrors the image
        theta[:, 0, :2] *= torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0).unsqueeze(1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)  # (B, 28, 28, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@torch.no_grad()
def accuracy(model: Classifier, x: torch.Tensor, y: torch.Tensor, device: torch.device, batch: int = 1000) -> float:
    """Top-1 accuracy of ``model`` (put in eval mode) on images ``x`` in [0, 1]."""
    if len(x) == 0:
        return float("nan")
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        pred = model.logits(x[i : i + batch].to(device)).argmax(1).cpu()
        correct += int((pred == y[i : i + batch]).sum())
    return correct / len(x)


def _epoch(
    model: Classifier,
    opt,
    sched,
    splits,
    tc: ClassifierTrainConfig,
    gen: torch.Generator,
    device: torch.device,
    bf16: bool,
    step: int,
    total: int,
    bar,
) -> tuple[int, dict[str, float]]:
    """One pass over the shuffled training images (stops at ``total`` steps); returns (step, train metrics)."""
    fmt = memory_format(tc)
    model.train()
    n = len(splits.train)
    order = torch.randperm(n, generator=gen)
    loss_sum, correct, seen = 0.0, 0, 0
    for i in range(0, n, tc.batch_size):
        if step >= total:
            break
        idx = order[i : i + tc.batch_size]
        x = augment(splits.train[idx], tc, gen).to(device, memory_format=fmt)
        y = splits.train_labels[idx].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model.logits(x).float()  # (B, 10)
        loss = F.cross_entropy(logits, y, label_smoothing=tc.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        loss_sum += float(loss.detach()) * len(idx)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(idx)
        bar.update(1)
    return step, {"train_loss": loss_sum / max(seen, 1), "train_acc": correct / max(seen, 1)}


def train(
    cfg: ClassifierRunConfig | None,
    out: str | Path | None = None,
    *,
    resume: str | Path | None = None,
    overwrite: bool = False,
    data_dir: str | Path | None = None,
    download_missing: bool = True,
    preset_name: str = "custom",
) -> TrainedRun:
    """Train a classifier into run directory ``out`` (or continue ``resume`` after its last finished epoch).

    A checkpoint is written after every epoch; test accuracy lands in history.json and metadata.json.
    """
    run_dir, resolved, preset_name, saved = open_run(
        KIND, ClassifierRunConfig, cfg, out, resume, overwrite, preset_name, BUDGET_KEYS
    )
    cfg = resolved
    device = setup(cfg.runtime)
    started = time.time()
    splits = load_splits(cfg.data, data_dir, download_missing)
    gen = torch.Generator().manual_seed(cfg.runtime.seed)
    tc = cfg.train
    fmt = memory_format(tc)
    model = placed(Classifier(cfg.model), device, fmt)
    bf16 = use_bf16(tc.precision, device)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    per_epoch = math.ceil(len(splits.train) / tc.batch_size)
    total = per_epoch * tc.epochs if not tc.max_steps else min(tc.max_steps, per_epoch * tc.epochs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=tc.lr, total_steps=max(total, 2), pct_start=0.25)
    step, history = _restore(saved, model, opt, sched, gen)
    bar = progress(total=total, initial=step, desc="classifier", unit="step")
    for epoch in range(len(history["epochs"]) + 1, tc.epochs + 1):
        if step >= total:
            break
        step, metrics = _epoch(model, opt, sched, splits, tc, gen, device, bf16, step, total, bar)
        history["epochs"].append(
            {"epoch": epoch, "step": step}
            | metrics
            | {"val_acc": accuracy(model, splits.val, splits.val_labels, device)}
        )
        _save(run_dir, model, opt, sched, gen, step, history, cfg, splits.info)
    bar.close()
    history["test_accuracy"] = accuracy(model, splits.test, splits.test_labels, device)
    _save(run_dir, model, opt, sched, gen, step, history, cfg, splits.info)
    meta = _write_records(run_dir, history, preset_name, splits.info, device, time.time() - started, step)
    figures = make_figures(run_dir)
    summary = meta | {
        "run_dir": str(run_dir),
        "epochs": len(history["epochs"]),
        "images_seen": step * tc.batch_size,
        "figures": [str(p) for p in figures],
    }
    return trained_run(run_dir, cfg, preset_name, summary)


def _restore(saved: dict | None, model: Classifier, opt, sched, gen: torch.Generator) -> tuple[int, dict[str, Any]]:
    """(step, history) to start from: zero and empty, or a checkpoint's, with every state it holds restored."""
    if saved is None:
        return 0, {"epochs": []}
    load_module_state(model, saved["models"]["classifier"], "classifier")
    opt.load_state_dict(saved["optimizers"]["classifier"])
    sched.load_state_dict(saved["extra"]["scheduler"])
    gen.set_state(saved["extra"]["generator"])
    set_rng_state(saved["rng"])
    return int(saved["state"]["step"]), saved["state"]["history"]


def _write_records(
    run_dir: Path, history: dict, preset_name: str, data: dict, device: torch.device, wall: float, step: int
) -> dict[str, Any]:
    """history.json and metadata.json of a finished run; returns the metadata."""
    rundir.write_json(run_dir / rundir.HISTORY, history)
    meta = {
        "kind": KIND,
        "preset": preset_name,
        "data": data,
        "environment": environment(device),
        "wall_seconds": wall,
        "steps": step,
        "test_accuracy": history["test_accuracy"],
        "val_accuracy": history["epochs"][-1]["val_acc"] if history["epochs"] else None,
    }
    rundir.write_json(run_dir / rundir.METADATA, meta)
    return meta


def _save(run_dir: Path, model, opt, sched, gen: torch.Generator, step: int, history: dict, cfg, data: dict) -> None:
    save_checkpoint(
        run_dir / rundir.LAST,
        kind=KIND,
        models={"classifier": model},
        optimizers={"classifier": opt},
        state={
            "epoch": len(history["epochs"]),
            "step": step,
            "history": history,
            "test_accuracy": history.get("test_accuracy"),
        },
        config=to_dict(cfg),
        data=data,
        extra={"scheduler": sched.state_dict(), "generator": gen.get_state()},
    )


def load_classifier(run_dir: str | Path, device: torch.device | str = "cpu") -> tuple[Classifier, dict]:
    """The trained classifier of ``run_dir`` (eval mode, no grad) and its checkpoint payload."""
    path = Path(run_dir) / rundir.LAST
    payload = load_checkpoint(path, KIND, map_location=device)
    cfg = from_dict(ClassifierRunConfig, payload["config"])
    model = Classifier(cfg.model)
    load_module_state(model, payload["models"]["classifier"], "classifier")
    placed(model, device, torch.channels_last).eval().requires_grad_(False)  # ~2x faster scoring on CPU
    return model, payload


def load_config(run_dir: str | Path) -> tuple[ClassifierRunConfig, str]:
    """The resolved config and preset name saved in a classifier run directory."""
    return load_run_config(run_dir, KIND, ClassifierRunConfig)
