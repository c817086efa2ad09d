"""``mnistgen run``: the whole study of STUDY.md in one command, within a wall-clock budget.

The study is a list of stages. Each stage trains (or scores) something into ``DIR/<stage>/`` and
records its outcome in ``DIR/study.json``; ``--resume`` skips finished stages, and a failed stage is
recorded and reported while the rest carries on. The training budget (``--minutes``) is divided
between the training stages by weight; stages that cannot get their minimum are announced and
skipped before anything starts.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mnistgen.classifier import PRESETS as CLASSIFIER_PRESETS
from mnistgen.config import apply_overrides
from mnistgen.errors import MnistgenError
from mnistgen.metrics import Evaluator, evaluate_images, get_evaluator, inception_score, quick_scores
from mnistgen.rundir import read_json, write_json
from mnistgen.sampling import sample_images
from mnistgen.study.profiles import Profile

STATE = "study.json"


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    section: str  # the report section its blocks go into (see mnistgen.study.report.SECTIONS)
    weight: float  # share of the training budget (0 = not budgeted); earlier stages matter more
    min_minutes: float  # below this, the stage is skipped (announced before the start)
    run: Callable[["Study", float], dict[str, Any]]
    needs: tuple[str, ...] = ()


@dataclass
class Study:
    out: Path
    profile: Profile
    data_dir: str | None
    device: str
    seed: int
    download_missing: bool = True
    state: dict[str, Any] = field(default_factory=dict)
    evaluator: Any = None
    budgets: dict[str, float] = field(default_factory=dict)  # minutes per stage, set by execute()

    # --------------------------------------------------------------------- helpers for stages
    def configure(self, cfg: Any, family: str, minutes: float, extra: tuple[str, ...] = ()) -> Any:
        """A preset with the study's data/runtime settings, profile overrides and time budget."""
        overrides = [
            *self.profile.data_overrides,
            f"runtime.device={self.device}",
            f"runtime.seed={self.seed}",
            *extra,  # the study's recipe for this stage; the profile (e.g. --quick) has the last word
            *self.profile.stage_overrides.get(family, ()),
        ]
        if minutes > 0:
            overrides.append(f"train.max_minutes={minutes:.4f}")
        if family == "gan" and self.profile.name == "full" and minutes > 0:
            overrides.append("train.steps=0")  # the wall-clock budget decides
        data = dataclasses.replace(cfg.data, dataset=self.dataset)
        return apply_overrides(dataclasses.replace(cfg, data=data), overrides)

    @property
    def dataset(self) -> str:
        return self.state.get("dataset", "mnist")

    def get_evaluator(self) -> Evaluator:
        if self.evaluator is None:
            preset = self.profile.evaluator_preset
            config = None if preset == "default" else CLASSIFIER_PRESETS[preset]
            self.evaluator = get_evaluator(self.dataset, data_dir=self.data_dir, device=self.device,
                                           download_missing=self.download_missing, config=config)
        return self.evaluator

    def probe(self) -> Callable[[Any], dict]:
        """The cheap periodic quality probe of GAN training, with the study's evaluator."""
        return lambda images: quick_scores(images, self.get_evaluator())

    def score_run(self, run_dir: Path) -> dict[str, Any]:
        """Sample ``profile.n`` images from a generator run and score them."""
        images = sample_images(run_dir, self.profile.n, seed=self.seed, device="cpu")
        scores = evaluate_images(images, evaluator=self.get_evaluator(), seed=self.seed, kid_subset_size=self.profile.kid_subset)
        small = min(500, len(images))
        mean, std = inception_score(self.get_evaluator().probs(images[:small]).numpy(), splits=10)
        return scores | {"is_500_mean": mean, "is_500_std": std, "n_500": small}


# ------------------------------------------------------------------------- running the stages


def plan(stages: list[Stage], minutes: float) -> tuple[dict[str, float], list[str]]:
    """Minutes per budgeted stage. While some stage's share falls under its minimum, the least
    important budgeted stage (the latest in the list) is dropped and its minutes shared among the rest."""
    active = [s for s in stages if s.weight > 0]
    skipped: list[str] = []
    while active:
        total = sum(s.weight for s in active)
        budget = {s.name: minutes * s.weight / total for s in active}
        if all(budget[s.name] >= s.min_minutes for s in active):
            return budget, skipped
        skipped.append(active.pop().name)
    return {}, skipped


def execute(study: Study, stages: list[Stage], minutes: float, log: Callable[[str], None]) -> dict[str, Any]:
    budgets, skipped = plan(stages, minutes) if minutes > 0 else ({s.name: 0.0 for s in stages}, [])
    study.budgets = budgets
    if skipped:
        log(f"budget of {minutes:g} min is too small for everything: skipping {', '.join(skipped)}")
    results = study.state.setdefault("stages", {})
    for stage in stages:
        previous = results.get(stage.name, {})
        if previous.get("status") == "done":
            log(f"[{stage.name}] already done ({previous.get('seconds', 0):.0f} s), skipped on resume")
            continue
        if stage.name in skipped:
            results[stage.name] = {"status": "skipped", "reason": f"budget of {minutes:g} min too small"}
            continue
        missing = [n for n in stage.needs if results.get(n, {}).get("status") != "done"]
        if missing:
            results[stage.name] = {"status": "skipped", "reason": f"needs {', '.join(missing)}"}
            log(f"[{stage.name}] skipped: needs {', '.join(missing)}")
            continue
        budget = budgets.get(stage.name, 0.0)
        log(f"[{stage.name}] {stage.title}" + (f" (budget {budget:.1f} min)" if budget else ""))
        started = time.monotonic()
        try:
            result = stage.run(study, budget)
            results[stage.name] = {"status": "done", "section": stage.section, "seconds": time.monotonic() - started, "budget_minutes": budget,
                                   "result": result}
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed stage is reported; the study goes on
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if not isinstance(exc, MnistgenError):
                message = f"{type(exc).__name__}: {message}"
                (study.out / f"{stage.name}.error.txt").write_text(traceback.format_exc())
            results[stage.name] = {"status": "failed", "seconds": time.monotonic() - started, "error": message}
            log(f"[{stage.name}] FAILED: {message}")
        write_json(study.out / STATE, study.state)
    return study.state


def load_state(out: Path) -> dict[str, Any]:
    path = out / STATE
    return read_json(path) if path.exists() else {}
