"""What a study's units share (:class:`Setup`, sent to every worker) and one unit's view of it (:class:`Context`):
its seed's folder, the profile's configs, training a run there (or continuing it), the evaluator, scoring."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnistgen import rundir
from mnistgen.config import replace_values
from mnistgen.datasets import DatasetInfo, describe
from mnistgen.family import Family, TrainedRun
from mnistgen.metrics import Evaluator, evaluate_images, inception_score_of, load_evaluator, quick_scores
from mnistgen.study.profiles import PROFILES, Profile
from mnistgen.study.results import Figure, Scores

_EVALUATORS: dict[tuple[str, str], Evaluator] = {}  # per process: (dataset, device) -> the shipped evaluator


@dataclass(frozen=True)
class Setup:
    """Everything every unit of one study shares: where it writes, what it trains and how it computes."""

    out: Path  # the study directory (one folder per seed inside)
    profile: str
    dataset: str
    data_dir: str | None = None
    download_missing: bool = True
    device: str = "cpu"
    threads: int = 2  # torch (and BLAS) threads of every unit: part of the study, as float reductions depend on it
    caps: Mapping[str, float] = field(default_factory=dict)  # minutes per stage under an optional --minutes cap

    def seed_dir(self, seed: int) -> Path:
        return self.out / f"seed-{seed}"


class Context:
    """One unit's view of the study: ``out`` is its seed's folder."""

    def __init__(self, setup: Setup, seed: int) -> None:
        self.setup, self.seed = setup, seed
        self.out = setup.seed_dir(seed)
        self.profile: Profile = PROFILES[setup.profile]

    @property
    def dataset(self) -> str:
        return self.setup.dataset

    @property
    def info(self) -> DatasetInfo:
        return describe(self.dataset)

    def configure(self, cfg: Any, stage: str, values: Mapping[str, Any] | None = None, cap_share: float = 1.0) -> Any:
        """A preset with the study's dataset, seed and device, the stage's recipe (``values``), then the profile's
        values for the stage (which have the last word) and its data values; plus the stage's cap, if any (``cap_share``
        of it, for a stage that trains several runs)."""
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dataset=self.dataset))
        typed = {
            "runtime.device": self.setup.device,
            "runtime.seed": self.seed,
            **(values or {}),
            **self.profile.recipes.get(stage, {}),
            **self.profile.data,
        }
        if self.setup.caps.get(stage):
            typed["train.max_minutes"] = self.setup.caps[stage] * cap_share
        return replace_values(cfg, typed)

    def train(self, family: Family, cfg: Any, name: str, preset: str, **extra: Any) -> TrainedRun:
        """Train ``SEED_DIR/name`` -- continuing it from its last checkpoint if an interrupted study left one."""
        run_dir = self.out / name
        common = {"data_dir": self.setup.data_dir, "download_missing": self.setup.download_missing, **extra}
        if (run_dir / rundir.LAST).is_file():
            return family.train(cfg, resume=run_dir, **common)
        return family.train(cfg, run_dir, overwrite=True, preset_name=preset, **common)

    def evaluator(self) -> Evaluator:
        """The dataset's shipped evaluator (loaded once per process; loading draws nothing from the global RNG)."""
        key = (self.dataset, self.setup.device)
        if key not in _EVALUATORS:
            _EVALUATORS[key] = load_evaluator(self.dataset, device=self.setup.device)
        return _EVALUATORS[key]

    def probe(self) -> Callable[[Any], dict]:
        """The cheap periodic quality probe of GAN training, with the study's evaluator."""
        ev = self.evaluator()
        return lambda images: quick_scores(images, ev)

    def score(self, run: TrainedRun) -> Scores:
        """Sample ``profile.n`` images from a trained run and score them (IS also at the original's n = 500)."""
        ev = self.evaluator()
        images = run.sample(self.profile.n, seed=self.seed)
        return self.score_images(images, ev)

    def score_images(self, images: Any, ev: Evaluator) -> Scores:
        scores = evaluate_images(images, ev, seed=self.seed, kid_subset_size=self.profile.kid_subset)
        mean, std = inception_score_of(images, ev, n=500, seed=self.seed)
        return Scores.of(scores | {"is_500_mean": mean, "is_500_std": std, "n_500": min(500, len(images))})

    def fig(self, path: str | Path, caption: str, shows: str = "") -> Figure:
        """A report figure: its path relative to the study directory, its caption, and the phenomenon it shows."""
        return Figure(Path(path).resolve().relative_to(self.setup.out.resolve()).as_posix(), caption, shows)

    def rel(self, path: str | Path) -> str:
        """``path`` relative to this unit's seed folder."""
        return Path(path).resolve().relative_to(self.out.resolve()).as_posix()
