"""A flow run as the study and the CLI see it: its work in words, and a :class:`TrainedRun` from memory or from disk
(drawing with the run's sampling config, or with the solver, label and guidance ``mnistgen sample`` asks for)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mnistgen import rundir
from mnistgen.family import TrainedRun, Work
from mnistgen.flow.config import KIND, FlowRunConfig
from mnistgen.flow.model import VelocityNet
from mnistgen.flow.sampler import Draw, load_config, load_net, sampler_of


def flow_work(cfg: FlowRunConfig, steps: int, stopped: str | None) -> Work:
    """Optimiser steps and the images they saw (steps x batch)."""
    images, cut = steps * cfg.train.batch_size, stopped == "time"
    return Work(
        summary=f"{steps:,} steps, {images:,} images" + (" (cut)" if cut else ""),
        detail=f"{steps:,} steps of {cfg.train.batch_size} images, {images:,} images",
        images=images,
        cut_short=cut,
        counts={"steps": steps, "batch": cfg.train.batch_size, "images": images},
    )


def trained_run(
    run_dir: Path,
    cfg: FlowRunConfig,
    preset: str,
    summary: Mapping[str, Any],
    net: VelocityNet | None = None,
    device: torch.device | str = "cpu",
    draw: Draw | None = None,
) -> TrainedRun[FlowRunConfig]:
    """The run's :class:`TrainedRun`: its network is ``net`` (in memory) when given, else the checkpoint's, loaded on
    first use; it draws with ``draw`` (default: the run's sampling config)."""
    network = (lambda: net.eval()) if net is not None else (lambda: load_net(run_dir, device)[0])
    how = draw or Draw.of(cfg)
    work = flow_work(cfg, int(summary.get("steps", 0)), summary.get("stopped"))
    return TrainedRun(KIND, run_dir, cfg, preset, summary, work, network, lambda n: sampler_of(n, how))


def open_trained(
    run_dir: str | Path,
    device: torch.device | str = "cpu",
    solver: str | None = None,
    nfe: int | None = None,
    label: int | None = None,
    guidance: float | None = None,
) -> TrainedRun[FlowRunConfig]:
    """A flow run from disk; the sampling options override the run's own."""
    run_dir = Path(run_dir)
    cfg, preset = load_config(run_dir)
    meta = rundir.read_json(run_dir / rundir.METADATA) if (run_dir / rundir.METADATA).exists() else {}
    draw = Draw.of(cfg, solver, nfe, label, guidance)
    summary = {"run_dir": str(run_dir), "preset": preset, "steps": meta.get("steps", 0), "stopped": meta.get("stopped")}
    return trained_run(run_dir, cfg, preset, summary, device=device, draw=draw)
