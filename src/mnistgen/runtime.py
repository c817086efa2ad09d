"""Devices, seeds, RNG state capture/restore, threads, progress bars and TensorBoard logging."""

from __future__ import annotations

import os
import platform
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from tqdm.auto import tqdm

import mnistgen
from mnistgen.config import RuntimeConfig
from mnistgen.errors import MnistgenError


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; asking for an absent accelerator is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise MnistgenError("--device cuda asked for, but torch sees no CUDA GPU; use --device cpu or auto")
        return torch.device("cuda")
    if name == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise MnistgenError("--device mps asked for, but this torch has no MPS backend; use --device cpu or auto")
        return torch.device("mps")
    raise MnistgenError(f"unknown device {name!r}; choose one of: auto, cpu, cuda, mps")


PRECISIONS = ("fp32", "bf16", "auto")


def check_precision(precision: str) -> None:
    """A ``train.precision`` value must be one of :data:`PRECISIONS`."""
    if precision not in PRECISIONS:
        raise MnistgenError(f"unknown train.precision {precision!r}; choose one of: {', '.join(PRECISIONS)}")


def memory_format(train: Any) -> torch.memory_format:
    """The memory format of a run's networks and batches: channels-last when its train config says
    ``channels_last`` (faster convolutions on CPU), else contiguous."""
    return torch.channels_last if train.channels_last else torch.contiguous_format


M = TypeVar("M", bound=torch.nn.Module)


def placed(module: M, device: torch.device | str | None = None, fmt: torch.memory_format | None = None) -> M:
    """``module`` moved to ``device`` (if given) in memory format ``fmt`` (if given), in place; returns it."""
    return module.to(device=device, memory_format=fmt)  # type: ignore[call-overload]  # torch's stubs lack memory_format


def use_bf16(precision: str, device: torch.device) -> bool:
    """bf16 autocast on: asked for, or ``auto`` on a CUDA GPU / a CPU whose oneDNN has bf16 kernels (AVX512-BF16,
    AMX)."""
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def setup(runtime: RuntimeConfig) -> torch.device:
    """Apply a RuntimeConfig: threads, seeds, cheap determinism flags. Returns the device."""
    device = resolve_device(runtime.device)
    if runtime.threads:
        torch.set_num_threads(runtime.threads)
    seed_everything(runtime.seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class BatchCache:
    """The permutation of the epoch a training loop is in (made once per epoch)."""

    epoch: int = -1
    perm: torch.Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.long))


def batch_indices(n: int, bs: int, seed: int, b: int, cache: BatchCache) -> torch.Tensor:
    """Indices of global batch number ``b``: a seeded permutation per epoch (resume-exact)."""
    per_epoch = max(1, n // bs)
    epoch, pos = divmod(b, per_epoch)
    if cache.epoch != epoch:
        cache.epoch = epoch
        cache.perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100003 + epoch))
    return cache.perm[pos * bs : (pos + 1) * bs]


def get_rng_state() -> dict[str, Any]:
    """All global RNG states, in a form ``torch.load(weights_only=True)`` accepts."""
    np_state = np.random.get_state(legacy=True)  # ('MT19937', keys, pos, has_gauss, cached_gaussian)
    assert isinstance(np_state, tuple)
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_tuplify(state["python"]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuplify(obj: Any) -> Any:
    if isinstance(obj, (list, tuple)):
        return tuple(_tuplify(x) for x in obj)
    return obj


def kernel_capability() -> str:
    """The CPU kernels torch computes with, e.g. 'avx2' or 'avx512' (see :mod:`mnistgen.kernels`)."""
    return torch.backends.cpu.get_cpu_capability().lower()


CPU_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_bf16",
    "amx_bf16",
    "amx_tile",
)  # what decides CPU speed for our workloads


def cpu_description() -> tuple[str, list[str]]:
    """(CPU model name, which of CPU_FLAGS it has) from /proc/cpuinfo; the platform's processor name elsewhere."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine(), []
    model = next(
        (line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
        platform.machine(),
    )
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    return model, [f for f in CPU_FLAGS if f in flags]


def environment(device: torch.device | None = None) -> dict[str, Any]:
    """Versions and hardware, recorded in run metadata and the study report."""
    cpu, flags = cpu_description()
    env = {
        "mnistgen": mnistgen.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_flags": " ".join(flags) or "none of " + " ".join(CPU_FLAGS),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "kernels": kernel_capability(),
    }
    if device is not None:
        env["device"] = str(device)
        if device.type == "cuda":
            env["gpu"] = torch.cuda.get_device_name(device)
    return env


def progress(iterable: Iterable | None = None, **kwargs: Any):
    """A tqdm bar on stderr; silent when MNISTGEN_NO_PROGRESS=1 or stderr is not a terminal and CI is set."""
    disable = os.environ.get("MNISTGEN_NO_PROGRESS") == "1" or (bool(os.environ.get("CI")) and not sys.stderr.isatty())
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("leave", False)
    return tqdm(iterable, disable=disable, file=sys.stderr, **kwargs)


class ScalarLogger:
    """Optional TensorBoard scalars under RUN_DIR/tensorboard; a no-op when disabled."""

    def __init__(self, run_dir: str | Path, enabled: bool) -> None:
        self._writer = None
        if enabled:
            try:  # tensorboard is an optional extra: imported only when asked for
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise MnistgenError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
            self._writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))

    def scalars(self, values: dict[str, float], step: int) -> None:
        if self._writer is not None:
            for tag, value in values.items():
                self._writer.add_scalar(tag, value, step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
