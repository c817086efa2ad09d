"""Draw images from any trained run directory, whatever its model family.

Each family's training module (``mnistgen.train.<kind>``) provides::

    load_sampler(run_dir: Path, device: torch.device) -> Callable[[int, torch.Generator], Tensor]
        # returns float images in [0, 1], shape (n, 1, 28, 28), on the CPU
    make_figures(run_dir: Path) -> list[Path]      # (re)draws every figure from history.json etc.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from mnistgen.errors import MnistgenError
from mnistgen.images import to_uint8
from mnistgen.rundir import atomic_write, run_kind

FAMILIES = {"vae": "mnistgen.train.vae", "gan": "mnistgen.train.gan"}


def family(run_dir: str | Path) -> ModuleType:
    kind = run_kind(run_dir)
    if kind not in FAMILIES:
        raise MnistgenError(f"{run_dir} holds a {kind} run, which does not generate images (need one of: {', '.join(FAMILIES)})")
    return importlib.import_module(FAMILIES[kind])


@torch.no_grad()
def sample_images(run_dir: str | Path, n: int, seed: int = 0, device: torch.device | str = "cpu", batch: int = 1000) -> torch.Tensor:
    """``n`` images in [0, 1], (n, 1, 28, 28), reproducible for a given ``seed``."""
    if n <= 0:
        raise MnistgenError(f"number of samples must be positive, got {n}")
    sampler = family(run_dir).load_sampler(Path(run_dir), torch.device(device))
    gen = torch.Generator(device="cpu").manual_seed(seed)
    chunks = [sampler(min(batch, n - i), gen) for i in range(0, n, batch)]
    images = torch.cat(chunks)
    if not torch.isfinite(images).all():
        raise MnistgenError(f"the model in {run_dir} produced NaN images")
    return images


def write_npz(path: str | Path, images: torch.Tensor, **meta) -> Path:
    """Write ``images`` (uint8, (N, 28, 28), 0 background / 255 stroke) and metadata arrays to .npz."""
    path = Path(path)
    if path.suffix != ".npz":
        raise MnistgenError(f"--out must end in .npz, got {path}")
    arrays = {"images": to_uint8(images)} | {k: np.asarray(v) for k, v in meta.items()}
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
    return path
