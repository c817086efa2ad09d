"""One checkpoint format for every model family, written atomically, loaded with checks.

A checkpoint is a dict::

    {"format": "mnistgen-checkpoint", "format_version": 1, "mnistgen_version": "...",
     "kind": "vae" | "gan" | "classifier", "config": {...}, "data": {...dataset info...},
     "models": {name: state_dict}, "optimizers": {name: state_dict},
     "state": {"epoch": ..., "step": ..., ...}, "rng": {...global RNG states...}}

It is loaded with ``torch.load(weights_only=True)``: a file that is not ours cannot run code.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

import mnistgen
from mnistgen.errors import MnistgenError
from mnistgen.rundir import atomic_write
from mnistgen.runtime import get_rng_state

FORMAT = "mnistgen-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(
    path: str | Path,
    *,
    kind: str,
    models: Mapping[str, torch.nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
    state: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write a checkpoint atomically (temp file + fsync + rename).

    ``extra`` holds further tensors/state dicts (e.g. an EMA generator, a scheduler).
    """
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mnistgen_version": mnistgen.__version__,
        "kind": kind,
        "config": dict(config or {}),
        "data": dict(data or {}),
        "models": {name: m.state_dict() for name, m in models.items()},
        "optimizers": {name: o.state_dict() for name, o in (optimizers or {}).items()},
        "state": dict(state or {}),
        "rng": get_rng_state(),
        "extra": dict(extra or {}),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write(path, lambda fh: fh.write(buffer.getvalue()))


def rewrite_checkpoint(path: str | Path, payload: Mapping[str, Any]) -> None:
    """Atomically write back a payload from :func:`load_checkpoint` after updating some of its entries."""
    buffer = io.BytesIO()
    torch.save(dict(payload), buffer)
    atomic_write(path, lambda fh: fh.write(buffer.getvalue()))


def load_checkpoint(path: str | Path, kind: str | None = None, map_location: Any = "cpu") -> dict[str, Any]:
    """Load and validate a checkpoint; ``kind`` (if given) must match the file's model family."""
    path = Path(path)
    if not path.is_file():
        raise MnistgenError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise MnistgenError(
            f"{path} is not a readable mnistgen checkpoint (corrupt or foreign file: {reason})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise MnistgenError(f"{path} is not a mnistgen checkpoint")
    if payload.get("format_version") != FORMAT_VERSION:
        raise MnistgenError(
            f"{path} has checkpoint format {payload.get('format_version')}, this mnistgen reads {FORMAT_VERSION}"
        )
    if kind is not None and payload.get("kind") != kind:
        raise MnistgenError(f"{path} holds a {payload.get('kind')} checkpoint, not a {kind} one")
    return payload


def load_module_state(module: torch.nn.Module, state: Mapping[str, Any], what: str) -> None:
    """``module.load_state_dict`` with a one-line error when the architecture does not match."""
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise MnistgenError(f"checkpoint does not fit the {what} architecture ({first})") from None
