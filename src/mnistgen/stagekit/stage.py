"""How a family declares its part of the study: :class:`Stage` (what one unit does, where its blocks go, what it
waits for, its recipe per profile), :class:`Section` (a part of the report), :class:`Recipe` (the preset and config
values a stage trains with on a profile) and :class:`Claim` (a phenomenon of the original study as a yes/no question
to each seed's results). The study engine derives everything else -- the order, the sections, the comparison's rows,
the phenomena table -- from these declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from mnistgen.datasets import DatasetInfo
from mnistgen.errors import MnistgenError
from mnistgen.stagekit.results import Phenomenon, StageResult

if TYPE_CHECKING:  # the context imports this module; a stage function takes one
    from mnistgen.stagekit.context import Context

StageFn = Callable[["Context", Mapping[str, StageResult]], StageResult]
EVALUATOR = "evaluator"  # the study's first stage: loads the dataset's evaluator (most stages need it)
REQUIRED_PROFILES = ("full", "quick")  # every training stage declares both; another profile falls back to full's


@dataclass(frozen=True)
class Section:
    """A part of the report: its heading, and where it stands among the others (lower first)."""

    key: str
    title: str
    order: int


@dataclass(frozen=True)
class Recipe:
    """What a training stage starts from on one profile: a preset of its family and typed config values over it
    (``{"train.steps": 4}``). A stage that needs more knobs subclasses it (e.g. a sweep's sample count)."""

    preset: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)


R = TypeVar("R", bound=Recipe)


@dataclass(frozen=True)
class Stage:
    """One stage of a study, run once per seed (a *unit*).

    ``kind`` names the family whose model it scores (None: it scores none); ``needs`` are stages of the same seed that
    must have finished for it to run, ``after`` ones it only waits for. ``after_models`` makes it wait for every model
    stage declared before it and receive their results (a cross-family comparison). ``recipes`` maps a profile name
    to its :class:`Recipe`: a stage that trains declares at least ``full`` and ``quick``. ``datasets`` limits it to
    some datasets (None: the study's single-channel ten-class ones). ``share`` is its share of an optional
    ``--minutes`` cap."""

    name: str
    title: str
    section: Section
    run: StageFn
    kind: str | None = None
    needs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    after_models: bool = False
    recipes: Mapping[str, Recipe] = field(default_factory=dict)
    claims: tuple[Claim, ...] = ()
    datasets: tuple[str, ...] | None = None
    share: float = 0.0

    def __post_init__(self) -> None:
        missing = [p for p in REQUIRED_PROFILES if self.recipes and p not in self.recipes]
        if missing:
            raise MnistgenError(
                f"stage {self.name!r} declares recipes but none for the {', '.join(missing)} profile "
                f"(every training stage needs {' and '.join(REQUIRED_PROFILES)})"
            )

    def recipe(self, profile: str) -> Recipe:
        """Its recipe on ``profile`` (a profile it does not name takes the full one)."""
        if not self.recipes:
            raise MnistgenError(f"stage {self.name!r} declares no recipe, so it cannot configure a training run")
        return self.recipes.get(profile, self.recipes["full"])

    def runs_on(self, dataset: DatasetInfo) -> bool:
        return dataset.name in self.datasets if self.datasets is not None else not dataset.stacked


@dataclass(frozen=True)
class Claim:
    """A phenomenon of the original study as a yes/no question to each seed's results: ``holds`` and ``outcome``
    (what the seed showed, in words) read a phenomenon of class ``kind`` that ``select`` accepts; ``measures`` names
    the numbers behind it, which the report gives as a mean with its 95 % interval over the seeds."""

    key: str
    kind: type[Phenomenon]
    title: Callable[[DatasetInfo], str]
    holds: Callable[[Any], bool]
    outcome: Callable[[Any, DatasetInfo], str]
    select: Callable[[Any], bool] = lambda p: True
    measures: Callable[[Any], Mapping[str, float]] | None = None


@dataclass(frozen=True)
class SubStudy:
    """Some stages of the study run on their own under a command of their own (``mnistgen compare-losses``, or
    ``mnistgen sweep gan-capacity`` with ``group="sweep"``), with their own report. The stages they need come too."""

    name: str
    help: str
    stages: tuple[str, ...]
    group: str | None = None
    dataset: str | None = None  # the dataset it runs on (None: the study's default, or --dataset)
