"""What a study's units share (:class:`Setup`, sent to every worker, with its :class:`Profile`) and one unit's view of
it (:class:`Context`): its seed's folder, its stage's recipe, training a run there (or continuing it), the evaluator,
scoring, and opening another stage's run."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mnistgen import rundir
from mnistgen.config import replace_values
from mnistgen.datasets import DatasetInfo, describe
from mnistgen.errors import MnistgenError
from mnistgen.family import TrainedRun
from mnistgen.metrics import (
    Evaluator,
    evaluate_images,
    inception_score_of,
    load_evaluator,
    mode_scores,
    quick_scores,
    stacked_quick_scores,
)
from mnistgen.stagekit.results import Figure, ModeScores, Scores
from mnistgen.stagekit.stage import R, Recipe, Stage

_EVALUATORS: dict[tuple[str, str], Evaluator] = {}  # per process: (dataset, device) -> the shipped evaluator
C = TypeVar("C")


@dataclass(frozen=True)
class Profile:
    """How much the whole study trains and scores: samples scored per model, and config values set on every trained
    model (e.g. tiny data). What each stage trains on a profile is the stage's own :class:`Recipe`."""

    name: str
    description: str
    n: int  # samples scored per model
    kid_subset: int
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Setup:
    """Everything every unit of one study shares: where it writes, what it trains and how it computes."""

    out: Path  # the study directory (one folder per seed inside)
    profile: Profile
    dataset: str
    data_dir: str | None = None
    download_missing: bool = True
    device: str = "cpu"
    threads: int = 2  # torch (and BLAS) threads of every unit: part of the study, as float reductions depend on it
    caps: Mapping[str, float] = field(default_factory=dict)  # minutes per stage under an optional --minutes cap

    def seed_dir(self, seed: int) -> Path:
        return self.out / f"seed-{seed}"


Opener = Callable[[Path], TrainedRun[Any]]


class Context:
    """One unit's view of the study: ``out`` is its seed's folder, ``stage`` the stage it runs. ``opener`` opens any
    family's run from disk (the study passes the registry's), so that a stage can read another family's run without
    importing it."""

    def __init__(self, setup: Setup, seed: int, stage: Stage, opener: Opener) -> None:
        self.setup, self.seed, self.stage = setup, seed, stage
        self.out = setup.seed_dir(seed)
        self.profile = setup.profile
        self._opener = opener

    @property
    def dataset(self) -> str:
        return self.setup.dataset

    @property
    def info(self) -> DatasetInfo:
        return describe(self.dataset)

    @property
    def recipe(self) -> Recipe:
        """The stage's recipe on the study's profile."""
        return self.stage.recipe(self.profile.name)

    def recipe_as(self, kind: type[R]) -> R:
        """The stage's recipe, which must be a ``kind`` (a stage's own :class:`Recipe` subclass)."""
        recipe = self.recipe
        if not isinstance(recipe, kind):
            raise MnistgenError(
                f"stage {self.stage.name!r} needs a {kind.__name__} recipe, got {type(recipe).__name__}"
            )
        return recipe

    def configure(self, cfg: C, values: Mapping[str, Any] | None = None, cap_share: float = 1.0) -> C:
        """A preset's config with the study's dataset, seed and device, the stage's own ``values``, then its recipe's
        values for the profile (which have the last word) and the profile's data values; plus the stage's cap, if any
        (``cap_share`` of it, for a stage that trains several runs)."""
        data = dataclasses.replace(cfg.data, dataset=self.dataset)  # type: ignore[attr-defined]  # every run config has .data
        cfg = dataclasses.replace(cfg, data=data)  # type: ignore[type-var]  # a run config is a dataclass
        typed = {
            "runtime.device": self.setup.device,
            "runtime.seed": self.seed,
            **(values or {}),
            **self.recipe.values,
            **self.profile.data,
        }
        if self.setup.caps.get(self.stage.name):
            typed["train.max_minutes"] = self.setup.caps[self.stage.name] * cap_share
        return replace_values(cfg, typed)

    def train(self, train: Callable[..., TrainedRun[C]], cfg: C, name: str, preset: str, **extra: Any) -> TrainedRun[C]:
        """Train ``SEED_DIR/name`` with a family's ``train`` function -- continuing it from its last checkpoint if an
        interrupted study left one."""
        run_dir = self.out / name
        common = {"data_dir": self.setup.data_dir, "download_missing": self.setup.download_missing, **extra}
        if (run_dir / rundir.LAST).is_file():
            return train(cfg, resume=run_dir, **common)
        return train(cfg, run_dir, overwrite=True, preset_name=preset, **common)

    def open(self, run_dir: str | Path) -> TrainedRun[Any]:
        """A run of this seed (``run_dir`` relative to the seed's folder, as a :class:`ModelResult` keeps it), of
        whichever family made it."""
        return self._opener(self.out / run_dir)

    def evaluator(self) -> Evaluator:
        """The dataset's shipped evaluator (loaded once per process; loading draws nothing from the global RNG)."""
        key = (self.dataset, self.setup.device)
        if key not in _EVALUATORS:
            _EVALUATORS[key] = load_evaluator(self.dataset, device=self.setup.device)
        return _EVALUATORS[key]

    def probe(self) -> Callable[[Any], dict]:
        """The cheap periodic quality probe of training (IS, modes, class-KL), with the study's evaluator; on stacked
        digits the channels' mean IS, the modes of 1,000 and the KL from uniform."""
        ev = self.evaluator()
        if self.info.stacked:
            return lambda images: stacked_quick_scores(images, ev)
        return lambda images: quick_scores(images, ev)

    def score(self, run: TrainedRun[Any]) -> Scores:
        """Sample ``profile.n`` images from a trained run and score them (IS also at the original's n = 500)."""
        return self.score_images(run.sample(self.profile.n, seed=self.seed), self.evaluator())

    def score_modes(self, run: TrainedRun[Any], n: int) -> ModeScores:
        """Sample ``n`` images of stacked digits from a trained run and score their modes and channels."""
        images = run.sample(n, seed=self.seed)
        kid = min(self.profile.kid_subset, n)
        return ModeScores.of(mode_scores(images, self.evaluator(), seed=self.seed, kid_subset_size=kid))

    def score_images(self, images: Any, ev: Evaluator) -> Scores:
        if self.info.stacked:
            raise MnistgenError(f"{self.info.title} images are scored by their modes (score_modes), not as one image")
        scores = evaluate_images(images, ev, seed=self.seed, kid_subset_size=self.profile.kid_subset)
        mean, std = inception_score_of(images, ev, n=500, seed=self.seed)
        return Scores.of(scores | {"is_500_mean": mean, "is_500_std": std, "n_500": min(500, len(images))})

    def fig(self, path: str | Path, caption: str, shows: str = "") -> Figure:
        """A report figure: its path relative to the study directory, its caption, and the phenomenon it shows."""
        return Figure(Path(path).resolve().relative_to(self.setup.out.resolve()).as_posix(), caption, shows)

    def rel(self, path: str | Path) -> str:
        """``path`` relative to this unit's seed folder."""
        return Path(path).resolve().relative_to(self.out.resolve()).as_posix()
