"""What a study unit returns, as typed values: its report blocks (figures, tables, text), the model it scored, the
phenomena it observed, and how they are written to and read back from ``study.json``.

Every class here is a frozen dataclass. :func:`encode` turns one into JSON-ready data (tagged with its class name)
and :func:`decode` rebuilds it, so a resumed study holds the same typed results as the run that produced them. A
family declares its own phenomena (and score sets) by subclassing :class:`Phenomenon` and marking the class with
:func:`result_type`, which lets :func:`decode` find it by name.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from mnistgen.errors import MnistgenError
from mnistgen.family import Work

T = TypeVar("T", bound=type)
_CLASSES: dict[str, type] = {}


def result_type(cls: T) -> T:
    """Register a result class (a phenomenon, a score set) so that ``study.json`` can name it and read it back."""
    known = _CLASSES.get(cls.__name__)
    if known is not None and known is not cls and known.__module__ != cls.__module__:
        raise MnistgenError(f"two study result types are named {cls.__name__} ({known.__module__}, {cls.__module__})")
    _CLASSES[cls.__name__] = cls
    return cls


@result_type
@dataclass(frozen=True)
class Figure:
    path: str  # relative to the study directory
    caption: str
    shows: str = ""  # what it illustrates: a phenomenon's class name or claim keys; the report adds their tallies


@result_type
@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@result_type
@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@result_type
@dataclass(frozen=True)
class Text:
    text: str


Block = Figure | Table | Text | Heading


@result_type
@dataclass(frozen=True)
class Scores:
    """The evaluator's scores of one model's samples (or of held-out real images), in metrics.json's order."""

    is_mean: float
    is_std: float
    is_500_mean: float
    is_500_std: float
    n: int
    n_500: int
    fid: float
    kid_mean: float
    kid_std: float
    precision: float
    recall: float
    density: float
    coverage: float
    modes: int
    class_kl: float
    max_prob: float
    class_histogram: tuple[float, ...]

    # the scores given with their spread over seeds in the report and metrics.json
    SPREAD: ClassVar[tuple[str, ...]] = (
        "is_500_mean",
        "is_mean",
        "fid",
        "kid_mean",
        "precision",
        "recall",
        "density",
        "coverage",
        "modes",
        "class_kl",
    )

    @classmethod
    def of(cls, metrics: Mapping[str, Any]) -> Scores:
        """From the dict :func:`mnistgen.metrics.evaluate_images` returns, with the IS at n = 500 added."""
        return cls(**{f.name: metrics[f.name] for f in dataclasses.fields(cls)})

    def values(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@result_type
@dataclass(frozen=True)
class ModeScores:
    """Scores of samples of stacked digits (mnistgen.metrics.mode_scores): the modes they reach of 1,000, the KL of
    their histogram from uniform, the share each channel's classifier is unsure of, and each channel's fidelity as an
    image of its own (with the mean over the channels)."""

    n: int
    modes: int
    kl: float
    is_mean: float
    fid: float
    precision: float
    recall: float
    channel_is_mean: tuple[float, ...]
    channel_fid: tuple[float, ...]
    channel_precision: tuple[float, ...]
    channel_recall: tuple[float, ...]
    channel_unsure: tuple[float, ...]
    mode_counts: tuple[int, ...]

    SPREAD: ClassVar[tuple[str, ...]] = ("modes", "kl", "is_mean", "fid", "precision", "recall")

    @classmethod
    def of(cls, metrics: Mapping[str, Any]) -> ModeScores:
        return cls(**{f.name: metrics[f.name] for f in dataclasses.fields(cls)})

    def values(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@result_type
@dataclass(frozen=True)
class ModelResult:
    """A scored model: its row of the comparison table and what it was trained with."""

    kind: str  # the family's name, or "real"
    label: str  # its row label, e.g. "VAE (conv)"
    original: str | None  # the original study's row it stands beside ("real", "vae", "gan"), if any
    scores: Scores | ModeScores
    run_dir: str | None = None  # relative to the study directory
    preset: str | None = None
    work: Work | None = None


@dataclass(frozen=True)
class Phenomenon:
    """Something the original study observed, as one seed's results show it. A family subclasses it (a frozen
    dataclass marked with :func:`result_type`) and declares the :class:`~mnistgen.stagekit.Claim` that asks it."""


@result_type
@dataclass(frozen=True)
class EvaluatorInfo:
    identity: Mapping[str, Any]  # name, dataset, SHA-256 of weights and reference, accuracy, source
    text: str  # how the report names it


@result_type
@dataclass(frozen=True)
class StageResult:
    """What one unit (a stage for one seed) returns to the study."""

    blocks: tuple[Block, ...] = ()
    model: ModelResult | None = None
    phenomena: tuple[Phenomenon, ...] = ()
    evaluator: EvaluatorInfo | None = None
    note: str = ""  # a line for the stage table (e.g. a sweep's runs)


result_type(Work)


def encode(value: Any) -> Any:
    """JSON-ready data of a result: dataclasses as dicts tagged with ``"type"``, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__} | {
            f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def decode(data: Any) -> Any:
    """The typed result :func:`encode` wrote (lists become tuples where a field is declared a tuple)."""
    if isinstance(data, Mapping) and "type" in data:
        cls = _CLASSES.get(data["type"])
        if cls is None:
            raise MnistgenError(
                f"study.json holds a result of type {data['type']!r}, which no installed family declares "
                "(written by a newer mnistgen, or by a plug-in family that is not installed?)"
            )
        hints = typing.get_type_hints(cls)
        return cls(**{k: _as(hints[k], decode(v)) for k, v in data.items() if k != "type"})
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, Mapping):
        return {k: decode(v) for k, v in data.items()}
    return data


def _as(tp: Any, value: Any) -> Any:
    """``value`` with its lists turned into tuples wherever ``tp`` declares a tuple."""
    if isinstance(value, list) and _declares_tuple(tp):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        inner = args[0] if len(args) == 1 else Any
        return tuple(_as(inner, v) for v in value)
    return value


def _declares_tuple(tp: Any) -> bool:
    if typing.get_origin(tp) is tuple:
        return True
    return any(_declares_tuple(a) for a in typing.get_args(tp)) if typing.get_origin(tp) is not None else False


P = TypeVar("P", bound=Phenomenon)


def phenomena_of(results: list[StageResult], kind: type[P]) -> list[P]:
    """Every phenomenon of class ``kind`` among ``results``."""
    return [p for r in results for p in r.phenomena if isinstance(p, kind)]
