"""``study.json``: what a study is (profile, dataset, seeds, threads, kernels) and every unit's record; opening a
folder for a new study or for ``--resume``, which refuses to change what the study is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnistgen import kernels
from mnistgen.errors import MnistgenError
from mnistgen.rundir import read_json, write_json
from mnistgen.stagekit import StageResult, decode, encode, result_type

STATE = "study.json"
VERSION = 2


@result_type
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
    attempts: int = 1  # how many times it started (more than one: a worker was lost, or the study was interrupted)
    fatal: bool = False  # its failure stops the study (the disk would not take its files)

    @property
    def done(self) -> bool:
        return self.status == "done" and self.result is not None

    @property
    def outcome(self) -> StageResult | None:
        """Its result if it finished, else None."""
        return self.result if self.status == "done" else None


@dataclass
class StudyState:
    profile: str
    dataset: str
    seeds: tuple[int, ...]
    threads: int
    kernels: str
    n: int = 0
    minutes: float = 0.0
    data_info: Mapping[str, Any] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    units: dict[str, UnitRecord] = field(default_factory=dict)  # "SEED/STAGE" -> record
    wall_seconds: float = 0.0  # summed over the calls that ran it (resumes)

    def record(self, rec: UnitRecord) -> None:
        self.units[f"{rec.seed}/{rec.stage}"] = rec

    def get(self, stage: str, seed: int) -> UnitRecord | None:
        return self.units.get(f"{seed}/{stage}")

    def ordered(self, stages: Sequence[str]) -> list[UnitRecord]:
        """Every record, by seed and then in the study's stage order (unknown stages last)."""
        rank = {name: i for i, name in enumerate(stages)}
        return sorted(
            self.units.values(),
            key=lambda r: (self.seeds.index(r.seed) if r.seed in self.seeds else 1 << 30, rank.get(r.stage, len(rank))),
        )

    def of_seed(self, seed: int, stages: Sequence[str]) -> list[UnitRecord]:
        return [r for r in self.ordered(stages) if r.seed == seed]


def save_state(out: Path, state: StudyState) -> None:
    write_json(out / STATE, {"version": VERSION} | encode(state))


def load_state(out: Path) -> StudyState | None:
    path = out / STATE
    if not path.exists():
        return None
    data = read_json(path)
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise MnistgenError(
            f"{path} was written by another version of mnistgen's study; start a new study "
            "(another --out, or --overwrite)"
        )
    data.pop("version")
    data.pop("type", None)
    units = {k: decode(v) for k, v in data.pop("units", {}).items()}
    return StudyState(**{**data, "seeds": tuple(data["seeds"]), "units": units})


@dataclass(frozen=True)
class Request:
    """What the command asks for; ``None`` leaves a resumed study's saved value (or takes the default)."""

    profile: str | None = None
    dataset: str | None = None
    seeds: tuple[int, ...] | None = None
    threads: int | None = None
    kernels: str | None = None


DEFAULTS = Request("full", "mnist", (0,), 2, None)
_FLAGS = {"profile": "--profile", "dataset": "--dataset", "threads": "--threads-per-worker", "kernels": "--kernels"}


def open_study(out: Path, request: Request, *, resume: bool, overwrite: bool) -> tuple[StudyState, bool]:
    """(the study to run in ``out``, whether an old study there is to be replaced first): a new study, or the saved
    one for ``--resume`` (its seeds extended if asked). Writes nothing; refuses a resume that would change the study."""
    if out.exists() and not out.is_dir():
        raise MnistgenError(f"{out} exists and is not a directory")
    saved = load_state(out) if (out / STATE).exists() else None
    replace = saved is not None and not resume
    if replace and not overwrite:
        raise MnistgenError(f"{out} already holds a study; pass --resume to continue it or --overwrite to replace it")
    if replace:
        saved = None
    if resume and saved is None:
        raise MnistgenError(f"--resume: {out} holds no study to continue")
    if saved is None:
        fresh = {f.name: getattr(request, f.name) or getattr(DEFAULTS, f.name) for f in dataclasses.fields(Request)}
        return StudyState(**fresh | {"kernels": request.kernels or kernels.in_force()}), replace
    for key, flag in _FLAGS.items():
        asked, had = getattr(request, key), getattr(saved, key)
        if asked is not None and asked != had:
            raise MnistgenError(
                f"--resume: {out} holds a study with {flag} {had}, not {asked}; resume it without "
                f"{flag}, or start a new study in another folder (or --overwrite this one)"
            )
    if request.seeds is not None:
        dropped = [s for s in saved.seeds if s not in request.seeds]
        if dropped:
            raise MnistgenError(
                f"--resume: {out} holds a study of seeds {seed_words(saved.seeds)}, not "
                f"{seed_words(request.seeds)}; resume it with those seeds (or more, to extend it), or "
                "start a new study in another folder (or --overwrite this one)"
            )
        saved.seeds = (*saved.seeds, *(s for s in request.seeds if s not in saved.seeds))
    return saved, False


def seed_words(seeds: Sequence[int]) -> str:
    """'0', '0-4' or '0, 2, 5'."""
    seeds = list(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0,1,2', '0-4' or a mix ('0-2,7'): distinct non-negative seeds in the order given."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi) if dash else int(lo)
        except ValueError:
            raise MnistgenError(f"--seeds {text!r}: expected seeds like 0,1,2 or 0-4") from None
        if first < 0 or last < first:
            raise MnistgenError(f"--seeds {text!r}: a range runs from a smaller to a larger non-negative seed")
        seeds += [s for s in range(first, last + 1) if s not in seeds]
    return tuple(seeds)
