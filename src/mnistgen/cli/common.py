"""Options shared by the training commands, and turning them into a resolved run config."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Mapping

from mnistgen.config import DATASETS, DEVICES, apply_overrides, pick_preset


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=DATASETS, default=None, help="dataset (default: the preset's, mnist)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="directory holding mnist/ and/or fashion-mnist/ (default: $MNISTGEN_DATA_DIR, then the cache)")
    p.add_argument("--no-download", action="store_true", help="never touch the network for data")


def add_runtime_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=DEVICES, default=None, help="auto (default), cpu, cuda or mps")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: one per core)")
    p.add_argument("--tensorboard", action="store_true", help="also log scalars to RUN_DIR/tensorboard")


def add_train_args(p: argparse.ArgumentParser, presets: Mapping[str, Any], default: str) -> None:
    """--preset/--out/--resume/--overwrite/--set plus the data and runtime options."""
    p.add_argument("--preset", default=default, help=f"one of: {', '.join(presets)} (default {default})")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="RUN_DIR", help="new run directory")
    where.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR exactly where it stopped")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set train.lr=1e-3 (repeatable)")
    add_data_args(p)
    add_runtime_args(p)


def resolve_config(presets: Mapping[str, Any], args: argparse.Namespace, what: str) -> Any:
    """Preset -> typed flags (--dataset, --device, --seed, ...) -> --set overrides."""
    cfg = pick_preset(presets, args.preset, what)
    return apply_cli_overrides(cfg, args)


def apply_cli_overrides(cfg: Any, args: argparse.Namespace) -> Any:
    data_changes = {"dataset": getattr(args, "dataset", None)}
    runtime_changes = {
        "device": getattr(args, "device", None),
        "seed": getattr(args, "seed", None),
        "threads": getattr(args, "threads", None),
        "tensorboard": True if getattr(args, "tensorboard", False) else None,
    }
    if hasattr(cfg, "data"):
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, **{k: v for k, v in data_changes.items() if v is not None}))
    if hasattr(cfg, "runtime"):
        cfg = dataclasses.replace(
            cfg, runtime=dataclasses.replace(cfg.runtime, **{k: v for k, v in runtime_changes.items() if v is not None})
        )
    return apply_overrides(cfg, getattr(args, "overrides", []) or [])
