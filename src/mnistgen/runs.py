"""Opening a run for training — a new one, or a resumed one under the one resume rule — and reading its config.

The resume rule, the same for every family: a resumed run takes its model, data and loss from its
checkpoint; only the budget keys the family names (epochs / steps / minutes) and how it runs
(``runtime.device``, ``threads``, ``tensorboard``) may change. Anything else is a one-line error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from mnistgen import rundir
from mnistgen.checkpoint import load_checkpoint
from mnistgen.config import from_dict, load_config_json, replace_values, resumed_config, save_config
from mnistgen.datasets import describe
from mnistgen.errors import MnistgenError

C = TypeVar("C")
# Runtime fields that say how and where a run computes, not what it computes: a resume may change them.
RUNTIME_KEYS = ("runtime.device", "runtime.threads", "runtime.tensorboard")


def load_run_config(run_dir: str | Path, kind: str, cls: type[C]) -> tuple[C, str]:
    """The resolved config and preset name saved in ``run_dir``'s config.json, which must be a ``kind`` run."""
    payload = load_config_json(rundir.require_run_dir(run_dir) / rundir.CONFIG)
    if payload.get("kind") != kind:
        raise MnistgenError(f"{run_dir} holds a {payload.get('kind')} run, not a {kind} one")
    return from_dict(cls, payload.get("config", {})), str(payload.get("preset", "custom"))


def checkpoint_config(saved: dict[str, Any], cls: type[C]) -> C:
    """The run config stored inside a checkpoint (older VAE checkpoints also stored the preset name there)."""
    return from_dict(cls, {k: v for k, v in saved["config"].items() if k != "preset"})


def with_dataset_channels(cfg: C) -> C:
    """``cfg`` with its model's ``image_channels`` (where it has one) set to its dataset's: a family's networks take
    the images they are trained on (a model that cannot is refused by its config, in one line)."""
    model, data = getattr(cfg, "model", None), getattr(cfg, "data", None)
    if model is None or data is None or not hasattr(model, "image_channels"):
        return cfg
    return replace_values(cfg, {"model.image_channels": describe(data.dataset).channels})


def open_run(
    kind: str,
    cls: type[C],
    cfg: C | None,
    out: str | Path | None,
    resume: str | Path | None,
    overwrite: bool,
    preset_name: str,
    budget_keys: Sequence[str],
) -> tuple[Path, C, str, dict[str, Any] | None]:
    """(run directory, config, preset name, last checkpoint or None) for a new run in ``out`` or a resumed ``resume``.

    On resume the config comes from ``checkpoint_last.pt``; ``cfg``, if given, may differ from it only in
    ``budget_keys`` and the runtime keys (see the module docstring).
    """
    if (out is None) == (resume is None):
        raise MnistgenError("give exactly one of an output run directory or a run directory to resume")
    if resume is not None:
        run_dir = rundir.require_run_dir(resume)
        saved = load_checkpoint(run_dir / rundir.LAST, kind)
        _, preset_name = load_run_config(run_dir, kind, cls)
        cfg = resumed_config(checkpoint_config(saved, cls), cfg, (*budget_keys, *RUNTIME_KEYS))
        save_config(cfg, run_dir / rundir.CONFIG, extra={"kind": kind, "preset": preset_name})
        return run_dir, cfg, preset_name, saved
    if cfg is None or out is None:
        raise MnistgenError(f"a {kind} config is needed to start a new run")
    cfg = with_dataset_channels(cfg)
    run_dir = rundir.prepare_run_dir(out, overwrite=overwrite)
    save_config(cfg, run_dir / rundir.CONFIG, extra={"kind": kind, "preset": preset_name})
    return run_dir, cfg, preset_name, None
