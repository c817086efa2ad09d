"""``mnistgen run``: the study as a list of stages, each a fixed amount of work, executed in order.

Each stage trains (or scores) something into ``DIR/<name>/`` and records its outcome in
``DIR/study.json``. What a stage trains is fixed by the profile (epochs, steps), never by the clock,
so the same command and seed give the same numbers on any machine. ``--resume`` skips finished stages
and continues an interrupted one from its last checkpoint; a failed stage is recorded and reported while
the rest carries on. ``--minutes`` is an optional cap on the training time, shared by the stages in
proportion to their usual cost; a stage it cuts short says so in the report and in metrics.json.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mnistgen import rundir
from mnistgen.config import apply_overrides
from mnistgen.datasets import DatasetInfo, describe
from mnistgen.errors import MnistgenError
from mnistgen.family import Family
from mnistgen.metrics import Evaluator, evaluate_images, inception_score_of, load_evaluator, quick_scores
from mnistgen.rundir import read_json, write_json
from mnistgen.sampling import sample_images
from mnistgen.study.profiles import Profile

STATE = "study.json"


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    section: str  # the report section its blocks go into (see mnistgen.study.content.SECTIONS)
    run: Callable[["Study"], dict[str, Any]]
    needs: tuple[str, ...] = ()
    share: float = 0.0  # its share of the study's training time (only used to split an optional --minutes cap)


@dataclass
class Study:
    out: Path
    profile: Profile
    data_dir: str | None
    device: str
    seed: int
    download_missing: bool = True
    state: dict[str, Any] = field(default_factory=dict)
    evaluator: Evaluator | None = None
    caps: dict[str, float] = field(default_factory=dict)  # minutes per stage when --minutes caps the study

    @property
    def dataset(self) -> str:
        return self.state.get("dataset", "mnist")

    @property
    def info(self) -> DatasetInfo:
        return describe(self.dataset)

    def configure(self, cfg: Any, stage: str, extra: tuple[str, ...] = (), cap_share: float = 1.0) -> Any:
        """A preset with the study's dataset, seed and device, the stage's recipe (``extra``), then the profile's
        overrides for the stage (which have the last word) and its data overrides; plus the stage's cap, if any
        (``cap_share`` of it, for a stage that trains several runs)."""
        overrides = [f"runtime.device={self.device}", f"runtime.seed={self.seed}", *extra,
                     *self.profile.recipes.get(stage, ()), *self.profile.data]
        if self.caps.get(stage):
            overrides.append(f"train.max_minutes={self.caps[stage] * cap_share:.4f}")
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dataset=self.dataset))
        return apply_overrides(cfg, overrides)

    def train(self, family: Family, cfg: Any, name: str, preset: str, **extra: Any) -> tuple[Path, dict[str, Any]]:
        """Train ``DIR/name`` — continuing it from its last checkpoint if an interrupted study left one."""
        run_dir = self.out / name
        common = {"data_dir": self.data_dir, "download_missing": self.download_missing, **extra}
        if (run_dir / rundir.LAST).is_file():
            return run_dir, family.train(cfg, resume=run_dir, **common)
        return run_dir, family.train(cfg, run_dir, overwrite=True, preset_name=preset, **common)

    def get_evaluator(self) -> Evaluator:
        """The dataset's shipped evaluator (loaded once)."""
        if self.evaluator is None:
            self.evaluator = load_evaluator(self.dataset, device=self.device)
        return self.evaluator

    def probe(self) -> Callable[[Any], dict]:
        """The cheap periodic quality probe of GAN training, with the study's evaluator."""
        return lambda images: quick_scores(images, self.get_evaluator())

    def score_run(self, run_dir: Path) -> dict[str, Any]:
        """Sample ``profile.n`` images from a generator run and score them (IS also at the original's n = 500)."""
        ev = self.get_evaluator()
        images = sample_images(run_dir, self.profile.n, seed=self.seed, device="cpu")
        scores = evaluate_images(images, ev, seed=self.seed, kid_subset_size=self.profile.kid_subset)
        mean, std = inception_score_of(images, ev, n=500, seed=self.seed)
        return scores | {"is_500_mean": mean, "is_500_std": std, "n_500": min(500, len(images))}


def caps(stages: list[Stage], minutes: float) -> dict[str, float]:
    """Minutes per training stage under a study-wide cap, in proportion to the stages' shares (none without a cap)."""
    total = sum(s.share for s in stages)
    return {s.name: minutes * s.share / total for s in stages if s.share > 0} if minutes > 0 and total > 0 else {}


def _run_stage(study: Study, stage: Stage, log: Callable[[str], None]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = stage.run(study)
        return {"status": "done", "section": stage.section, "seconds": time.monotonic() - started, "result": result}
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - a failed stage is reported; the study goes on
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not isinstance(exc, MnistgenError):
            message = f"{type(exc).__name__}: {message}"
            (study.out / f"{stage.name}.error.txt").write_text(traceback.format_exc())
        log(f"[{stage.name}] FAILED: {message}")
        return {"status": "failed", "section": stage.section, "seconds": time.monotonic() - started, "error": message}


def execute(study: Study, stages: list[Stage], minutes: float, log: Callable[[str], None]) -> dict[str, Any]:
    """Run every stage not yet done, in order; ``study.json`` is rewritten after each."""
    study.caps = caps(stages, minutes)
    results = study.state.setdefault("stages", {})
    for stage in stages:
        previous = results.get(stage.name, {})
        if previous.get("status") == "done":
            log(f"[{stage.name}] already done ({previous.get('seconds', 0):.0f} s), skipped on resume")
            continue
        missing = [n for n in stage.needs if results.get(n, {}).get("status") != "done"]
        if missing:
            results[stage.name] = {"status": "skipped", "section": stage.section, "reason": f"needs {', '.join(missing)}"}
            log(f"[{stage.name}] skipped: needs {', '.join(missing)}")
            continue
        cap = study.caps.get(stage.name)
        log(f"[{stage.name}] {stage.title}" + (f" (capped at {cap:.1f} min)" if cap else ""))
        results[stage.name] = {"status": "running", "section": stage.section}
        write_json(study.out / STATE, study.state)
        results[stage.name] = _run_stage(study, stage, log) | ({"cap_minutes": cap} if cap else {})
        write_json(study.out / STATE, study.state)
    # the study's order, whatever order a resumed study recorded them in (e.g. a stage a newer version added)
    names = [s.name for s in stages]
    study.state["stages"] = {n: results[n] for n in names if n in results} | {n: r for n, r in results.items() if n not in names}
    write_json(study.out / STATE, study.state)
    return study.state


def load_state(out: Path) -> dict[str, Any]:
    path = out / STATE
    return read_json(path) if path.exists() else {}
