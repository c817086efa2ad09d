"""Options shared by the commands, and turning them into a resolved run config."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from mnistgen.config import DATASETS, DEVICES, apply_overrides
from mnistgen.kernels import KERNELS


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=DATASETS, default=None, help="dataset (default: the preset's, mnist)")
    p.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="directory holding mnist/ and/or fashion-mnist/ (default: $MNISTGEN_DATA_DIR, then the cache)",
    )
    p.add_argument("--no-download", action="store_true", help="never touch the network for data")


def add_runtime_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=DEVICES, default=None, help="auto (default), cpu, cuda or mps")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: one per core)")
    p.add_argument("--tensorboard", action="store_true", help="also log scalars to RUN_DIR/tensorboard")
    p.add_argument(
        "--kernels",
        choices=KERNELS,
        default=None,
        help="avx2: hold PyTorch to its AVX2 kernels, so that CPUs with and without AVX-512 compute alike (the "
        "default where the CPU has AVX2); native: its fastest for this CPU (chosen before torch loads)",
    )


def apply_cli_overrides(cfg: Any, args: argparse.Namespace) -> Any:
    """Typed flags (--dataset, --device, --seed, --threads, --tensorboard), then the --set overrides."""
    data_changes = {"dataset": getattr(args, "dataset", None)}
    runtime_changes = {
        "device": getattr(args, "device", None),
        "seed": getattr(args, "seed", None),
        "threads": getattr(args, "threads", None),
        "tensorboard": True if getattr(args, "tensorboard", False) else None,
    }
    if hasattr(cfg, "data"):
        cfg = dataclasses.replace(
            cfg, data=dataclasses.replace(cfg.data, **{k: v for k, v in data_changes.items() if v is not None})
        )
    if hasattr(cfg, "runtime"):
        cfg = dataclasses.replace(
            cfg, runtime=dataclasses.replace(cfg.runtime, **{k: v for k, v in runtime_changes.items() if v is not None})
        )
    return apply_overrides(cfg, getattr(args, "overrides", []) or [])
