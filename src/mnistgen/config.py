"""Frozen dataclass configs, presets by name, ``key=value`` overrides and JSON round-trips.

Every component (data, runtime, each model family) has a frozen dataclass; a family's run config
nests them, e.g. ``VAERunConfig(data=DataConfig(), runtime=RuntimeConfig(), model=..., train=...)``.
``apply_overrides(cfg, ["train.lr=1e-3"])`` walks the nesting and parses each value by the field's
declared type, so a typo or a wrong type is a clear :class:`MnistgenError`, never a silent no-op.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mnistgen.errors import MnistgenError
from mnistgen.rundir import write_json

T = TypeVar("T")

DATASETS = ("mnist", "fashion-mnist", "stacked-mnist")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DataConfig:
    """Which images to train on and how to split off validation data."""

    dataset: str = "mnist"  # one of DATASETS
    val_size: int = 5000  # images held out of the training split for validation
    split_seed: int = 0  # seed of the train/validation permutation
    limit: int = 0  # use only the first `limit` training images (0 = all); for tests and --quick

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise MnistgenError(f"unknown dataset {self.dataset!r}; choose one of: {', '.join(DATASETS)}")
        if self.val_size < 0 or self.limit < 0:
            raise MnistgenError("data.val_size and data.limit must be >= 0")


@dataclass(frozen=True)
class RuntimeConfig:
    """Where and how reproducibly to run."""

    device: str = "auto"  # auto | cpu | cuda | mps
    seed: int = 0
    threads: int = 0  # CPU threads for torch (0 = torch's default: one per core)
    tensorboard: bool = False  # also log scalars to RUN_DIR/tensorboard

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise MnistgenError(f"unknown device {self.device!r}; choose one of: {', '.join(DEVICES)}")
        if self.threads < 0:
            raise MnistgenError("runtime.threads must be >= 0")


# ----------------------------------------------------------------------------- dict round-trip


def to_dict(cfg: Any) -> dict:
    """A JSON-ready dict of a (nested) config dataclass."""
    return dataclasses.asdict(cfg)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def from_dict(cls: type[T], data: Mapping[str, Any], where: str = "") -> T:  # cls: a config dataclass
    """Rebuild config ``cls`` from :func:`to_dict` output; unknown keys are an error."""
    if not isinstance(data, Mapping):
        raise MnistgenError(f"config section {where or cls.__name__!r} must be a mapping")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]  # T is a config dataclass
    unknown = set(data) - names
    if unknown:
        raise MnistgenError(f"unknown config key {where + sorted(unknown)[0]!r} for {cls.__name__}")
    kwargs = {}
    for name, value in data.items():
        tp = hints[name]
        if _is_dataclass_type(tp):
            kwargs[name] = from_dict(tp, value, f"{where}{name}.")
        elif typing.get_origin(tp) is tuple and isinstance(value, list):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    return cls(**kwargs)


def save_config(cfg: Any, path: str | Path, extra: Mapping[str, Any] | None = None) -> None:
    """Write the resolved config (plus ``extra`` top-level keys such as ``kind``) as JSON, atomically."""
    payload = dict(extra or {})
    payload["config"] = to_dict(cfg)
    write_json(path, payload)


def load_config_json(path: str | Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise MnistgenError(f"no config file at {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MnistgenError(
            f"config file {path} is not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})"
        ) from None


# ----------------------------------------------------------------------------- overrides


def _parse_scalar(raw: str, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if raw.lower() in ("none", "null") and len(args) < len(typing.get_args(tp)):
            return None
        errors = []
        for arg in args:
            try:
                return _parse_scalar(raw, arg, key)
            except MnistgenError as exc:
                errors.append(str(exc))
        raise MnistgenError(errors[0])
    if origin is tuple:
        elem = typing.get_args(tp)[0] if typing.get_args(tp) else str
        parts = [p for p in raw.strip("()[]").split(",") if p.strip()]
        return tuple(_parse_scalar(p.strip(), elem, key) for p in parts)
    if tp is bool:
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise MnistgenError(f"--set {key}={raw}: expected true or false")
    if tp is int:
        try:
            return int(raw)
        except ValueError:
            raise MnistgenError(f"--set {key}={raw}: expected an integer") from None
    if tp is float:
        try:
            return float(raw)
        except ValueError:
            raise MnistgenError(f"--set {key}={raw}: expected a number") from None
    if tp is str:
        return raw
    raise MnistgenError(f"--set {key}: cannot set a field of type {tp}")


def apply_overrides(cfg: T, overrides: Sequence[str]) -> T:
    """Return ``cfg`` with each ``dotted.key=value`` string applied (``--set``); values parsed by the field's type."""
    for item in overrides:
        if "=" not in item:
            raise MnistgenError(f"--set expects key=value, got {item!r}")
        key, raw = (part.strip() for part in item.split("=", 1))
        cfg = replace_values(cfg, {key: _parse_scalar(raw, _field_type(cfg, key), key)})
    return cfg


def replace_values(cfg: T, values: Mapping[str, Any]) -> T:
    """Return ``cfg`` with typed values set at dotted keys (``{"train.steps": 500}``); a value of the wrong type
    or an unknown key is a :class:`MnistgenError`. Nothing is turned into a string and parsed back."""
    for key, value in values.items():
        cfg = _set_path(cfg, key.split("."), _coerce(value, _field_type(cfg, key), key), key)
    return cfg


def _field_type(cfg: Any, key: str) -> Any:
    """The declared type of the field at dotted ``key`` (a clear error for an unknown key or a section)."""
    obj, tp = cfg, None
    for i, head in enumerate(parts := key.split(".")):
        if not dataclasses.is_dataclass(obj):
            raise MnistgenError(f"unknown config key {key!r}")
        hints = _hints(type(obj))
        if head not in hints:
            raise MnistgenError(f"unknown config key {key!r} (valid here: {', '.join(sorted(hints))})")
        obj, tp = getattr(obj, head), hints[head]
        if dataclasses.is_dataclass(obj) and i == len(parts) - 1:
            raise MnistgenError(f"config key {key!r} is a section; set one of its fields, e.g. {key}.<field>=...")
    return tp


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """``value`` as a value of declared type ``tp`` (an int where a float is declared, a list for a tuple)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(tp):
            return None
        return _coerce(value, next(a for a in typing.get_args(tp) if a is not type(None)), key)
    if origin is tuple and isinstance(value, (tuple, list)):
        elem = typing.get_args(tp)[0] if typing.get_args(tp) else str
        return tuple(_coerce(v, elem, key) for v in value)
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(tp, type) and isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    raise MnistgenError(f"config key {key!r} takes a {getattr(tp, '__name__', tp)}, got {value!r}")


def _set_path(obj: Any, parts: list[str], value: Any, key: str) -> Any:
    head = parts[0]
    new = _set_path(getattr(obj, head), parts[1:], value, key) if len(parts) > 1 else value
    return dataclasses.replace(obj, **{head: new})


def pick_preset(presets: Mapping[str, T], name: str, what: str) -> T:
    """Look up a preset by name with a helpful error."""
    try:
        return presets[name]
    except KeyError:
        raise MnistgenError(f"unknown {what} preset {name!r}; choose one of: {', '.join(presets)}") from None


# ----------------------------------------------------------------------------- the resume rule


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"lr": 1}}`` -> ``{"train.lr": 1}`` (tuples and lists compare equal: both become tuples)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = tuple(value) if isinstance(value, list) else value
    return out


def resumed_config(saved: T, requested: T | None, allowed: Sequence[str]) -> T:
    """The config a resumed run continues with: ``saved`` (from the checkpoint) with ``requested``'s values of
    the ``allowed`` keys (budgets, device). Any other difference is an error: a resume continues the same
    model, data and loss."""
    if requested is None:
        return saved
    old, new = flatten(to_dict(saved)), flatten(to_dict(requested))
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    refused = [k for k in changed if k not in allowed]
    if refused:
        raise MnistgenError(
            f"--resume continues a run with the model, data and loss of its checkpoint; {refused[0]} cannot change "
            f"({old.get(refused[0])!r} -> {new.get(refused[0])!r}); only {', '.join(allowed)} may"
        )
    return replace_values(saved, {k: new[k] for k in changed})
