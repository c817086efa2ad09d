"""Across seeds: every score as a mean with its 95 % confidence interval, and every phenomenon of the original study as
"in k of n seeds", with what each seed showed. Nothing here trains or reads a run; it reads the units' results and
the claims the stages declare."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from scipy import stats

from mnistgen.datasets import DatasetInfo
from mnistgen.stagekit import Claim, ModelResult, Phenomenon, Stage
from mnistgen.study.state import UnitRecord


@dataclass(frozen=True)
class Spread:
    mean: float
    ci95: float | None  # half-width of the 95 % t-interval of the mean (None for one seed)
    n: int
    values: tuple[float, ...]

    def words(self, digits: int = 2) -> str:
        if self.ci95 is None:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.ci95:.{digits}f}"


def spread(values: Sequence[float]) -> Spread:
    """Mean and the half-width of its 95 % confidence interval (Student's t, n - 1 degrees of freedom)."""
    xs = [float(v) for v in values]
    n = len(xs)
    mean = sum(xs) / n
    if n < 2:
        return Spread(mean, None, n, tuple(xs))
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    return Spread(mean, float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n), n, tuple(xs))


def models(records: Sequence[UnitRecord]) -> dict[str, dict[int, ModelResult]]:
    """Scored models by stage name, then seed (in the records' order)."""
    out: dict[str, dict[int, ModelResult]] = {}
    for r in records:
        if r.outcome is not None and r.outcome.model is not None:
            out.setdefault(r.stage, {})[r.seed] = r.outcome.model
    return out


def score_spreads(per_seed: dict[int, ModelResult]) -> dict[str, Spread]:
    keys = next(iter(per_seed.values())).scores.SPREAD
    return {k: spread([getattr(m.scores, k) for m in per_seed.values()]) for k in keys}


@dataclass(frozen=True)
class Tally:
    claim: Claim
    title: str
    per_seed: dict[int, tuple[bool, str]]  # seed -> (holds, what it showed)
    measures: dict[str, Spread] = field(default_factory=dict)  # the claim's numbers over the seeds

    def measure_words(self) -> str:
        """'5-NN, seed networks 0.64 ± 0.05; 5-NN, conv 0.93 ± 0.01' (one seed: the values)."""
        return "; ".join(f"{name} {s.words(3)}" for name, s in self.measures.items())

    @property
    def k(self) -> int:
        return sum(h for h, _ in self.per_seed.values())

    @property
    def n(self) -> int:
        return len(self.per_seed)

    def words(self) -> str:
        return f"{self.k} of {self.n} seeds" if self.n != 1 else ("holds" if self.k else "does not hold")


def claims(stages: Sequence[Stage]) -> list[Claim]:
    """The claims the stages declare, in the study's order (each once)."""
    out: dict[str, Claim] = {}
    for stage in stages:
        for claim in stage.claims:
            out.setdefault(claim.key, claim)
    return list(out.values())


def tallies(records: Sequence[UnitRecord], info: DatasetInfo, asked: Sequence[Claim]) -> list[Tally]:
    """Each claim's outcome in every seed whose results show it."""
    found: dict[str, dict[int, tuple[bool, str]]] = {}
    numbers: dict[str, dict[str, list[float]]] = {}
    for r in records:
        for p in r.outcome.phenomena if r.outcome is not None else ():
            for c in asked:
                if isinstance(p, c.kind) and c.select(p):
                    found.setdefault(c.key, {})[r.seed] = (bool(c.holds(p)), c.outcome(p, info))
                    for name, value in (c.measures(p) if c.measures else {}).items():
                        numbers.setdefault(c.key, {}).setdefault(name, []).append(float(value))
    return [
        Tally(c, c.title(info), found[c.key], {k: spread(v) for k, v in numbers.get(c.key, {}).items()})
        for c in asked
        if c.key in found
    ]


def tally_sentence(tally: Tally) -> str:
    """'In 4 of 5 seeds the too-weak generator collapses onto one recognisable digit (not in seed 3).'"""
    if tally.n == 1:
        return ""
    missing = [s for s, (h, _) in tally.per_seed.items() if not h]
    but = (
        f" (not in seed{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))})"
        if 0 < len(missing) < tally.n
        else ""
    )
    return f"In {tally.k} of {tally.n} seeds {tally.title}{but}."


def shown_by(phenomenon: type[Phenomenon] | str, found: Sequence[Tally]) -> list[Tally]:
    """The tallies a figure shows: of the claims about a phenomenon class, or of the claims it names by key (several
    separated by spaces)."""
    names = [phenomenon.__name__] if isinstance(phenomenon, type) else phenomenon.split()
    return [t for t in found if t.claim.kind.__name__ in names or t.claim.key in names]
