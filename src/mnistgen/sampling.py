"""Draw images from any trained run directory, whatever its model family (found in :mod:`mnistgen.families`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from mnistgen.errors import MnistgenError
from mnistgen.families import open_trained
from mnistgen.images import to_uint8
from mnistgen.rundir import atomic_write


@torch.no_grad()
def sample_images(
    run_dir: str | Path, n: int, seed: int = 0, device: torch.device | str = "cpu", batch: int = 1000, **sampling: Any
) -> torch.Tensor:
    """``n`` images in [0, 1], (n, 1, 28, 28), reproducible for a given ``seed``; ``sampling``: the family's options
    (a flow run's solver, nfe, label and guidance)."""
    if n <= 0:
        raise MnistgenError(f"number of samples must be positive, got {n}")
    return open_trained(run_dir, str(device), **sampling).sample(n, seed, batch)


def write_npz(path: str | Path, images: torch.Tensor, **meta) -> Path:
    """Write ``images`` (uint8, (N, 28, 28), 0 background / 255 stroke) and metadata arrays to .npz."""
    path = Path(path)
    if path.suffix != ".npz":
        raise MnistgenError(f"--out must end in .npz, got {path}")
    arrays = {"images": to_uint8(images)} | {k: np.asarray(v) for k, v in meta.items()}
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))  # type: ignore[arg-type]  # numpy's stub: **kwds
    return path
