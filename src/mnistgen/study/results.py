"""What a study unit returns, as typed values: its report blocks (figures, tables, text), the model it scored, the
phenomena it observed, and how they are written to and read back from ``study.json``.

Every class here is a frozen dataclass; :func:`encode` turns one into JSON-ready data (tagged with its class name) and
:func:`decode` rebuilds it, so a resumed study holds the same typed results as the run that produced them.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnistgen.errors import MnistgenError
from mnistgen.family import Work


@dataclass(frozen=True)
class Figure:
    path: str  # relative to the study directory
    caption: str
    shows: str = ""  # the phenomenon it illustrates (a class name below), whose tally over seeds the report adds


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Text:
    text: str


Block = Figure | Table | Text | Heading


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

    @classmethod
    def of(cls, metrics: Mapping[str, Any]) -> Scores:
        """From the dict :func:`mnistgen.metrics.evaluate_images` returns, with the IS at n = 500 added."""
        return cls(**{f.name: metrics[f.name] for f in dataclasses.fields(cls)})

    def values(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ModelResult:
    """A scored model: its row of the comparison table and what it was trained with."""

    kind: str  # the family's name, or "real"
    label: str  # its row label, e.g. "VAE (conv)"
    original: str | None  # the original study's row it stands beside ("real", "vae", "gan"), if any
    scores: Scores
    run_dir: str | None = None  # relative to the study directory
    preset: str | None = None
    work: Work | None = None


@dataclass(frozen=True)
class EarlyStop:
    """The seed VAE's early stopping: the epoch it ended training at (None: it ran to ``max_epochs``)."""

    stopped_at: int | None
    best_epoch: int
    max_epochs: int
    patience: int


@dataclass(frozen=True)
class KLTrend:
    """Whether the validation KL term rose, fell or stayed flat over a VAE's epochs."""

    model: str
    trend: str  # "rises" | "falls" | "flat"
    first: float
    last: float


@dataclass(frozen=True)
class LatentMap:
    """The 2-D VAE's map: k-NN accuracy of the test classes on it, and the classes its samples cover."""

    knn_accuracy: float
    classes: int


@dataclass(frozen=True)
class Collapse:
    """The too-weak generator's samples: the top class, its share, the share recognised as it at confidence >= 0.9,
    precision and recall, and the verdict ("one-item", "one-image", "partial", "none")."""

    top_class: int
    share: float
    confident_share: float
    precision: float
    recall: float
    modes: int
    verdict: str


@dataclass(frozen=True)
class Ladder:
    """The capacity ladder, weakest first: classes covered and IS of each rung, and whether both rise with capacity."""

    rungs: tuple[str, ...]
    modes: tuple[int, ...]
    scores: tuple[float, ...]
    rising: bool


@dataclass(frozen=True)
class LossRace:
    """The losses compared at equal work: generator steps to each target IS (None: never), and the IS spread about its
    trend over the last third (steadiness), per loss."""

    losses: tuple[str, ...]
    targets: tuple[float, ...]
    steps_to: tuple[tuple[int | None, ...], ...]  # [loss][target]
    wobble: tuple[float | None, ...]  # [loss]

    def first(self, target: int) -> str | None:
        """The loss that reached target ``target`` (an index) in the fewest steps (None: none did, or a tie)."""
        reached = [(s[target], loss) for loss, s in zip(self.losses, self.steps_to) if s[target] is not None]
        if not reached:
            return None
        best = min(reached)[0]
        winners = [loss for steps, loss in reached if steps == best]
        return winners[0] if len(winners) == 1 else None

    def steadiest(self) -> str | None:
        """The loss with the smallest wobble, unless the runner-up is within 10 % of it (no winner then)."""
        ranked = sorted((w, loss) for loss, w in zip(self.losses, self.wobble) if w is not None)
        if not ranked or (len(ranked) > 1 and ranked[1][0] <= 1.1 * ranked[0][0]):
            return None
        return ranked[0][1]


Phenomenon = EarlyStop | KLTrend | LatentMap | Collapse | Ladder | LossRace


@dataclass(frozen=True)
class EvaluatorInfo:
    identity: Mapping[str, Any]  # name, dataset, SHA-256 of weights and reference, accuracy, source
    text: str  # how the report names it


@dataclass(frozen=True)
class StageResult:
    """What one unit (a stage for one seed) returns to the study."""

    blocks: tuple[Block, ...] = ()
    model: ModelResult | None = None
    phenomena: tuple[Phenomenon, ...] = ()
    evaluator: EvaluatorInfo | None = None
    note: str = ""  # a line for the stage table (e.g. a sweep's runs)


@dataclass(frozen=True)
class UnitRecord:
    """One unit's outcome as ``study.json`` keeps it: done (with its result), failed (with the error) or skipped."""

    stage: str
    seed: int
    status: str  # "done" | "failed" | "skipped" | "pending"
    seconds: float = 0.0
    result: StageResult | None = None
    error: str = ""
    worker: str = ""  # host and process that ran it
    cap_minutes: float | None = None

    @property
    def done(self) -> bool:
        return self.status == "done" and self.result is not None


_CLASSES = {
    c.__name__: c
    for c in (
        Figure,
        Heading,
        Table,
        Text,
        Scores,
        Work,
        ModelResult,
        EarlyStop,
        KLTrend,
        LatentMap,
        Collapse,
        Ladder,
        LossRace,
        EvaluatorInfo,
        StageResult,
        UnitRecord,
    )
}


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
                f"study.json holds an unknown result type {data['type']!r} (written by a newer mnistgen?)"
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


def phenomena_of(results: list[StageResult], kind: type) -> list[Any]:
    """Every phenomenon of class ``kind`` among ``results``."""
    return [p for r in results for p in r.phenomena if isinstance(p, kind)]
