"""Across seeds: every score as a mean with its 95 % confidence interval, and every phenomenon of the original study as
"in k of n seeds", with what each seed showed. Nothing here trains or reads a run; it reads the units' results."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats

from mnistgen.datasets import DatasetInfo
from mnistgen.study.results import (
    Collapse,
    EarlyStop,
    KLTrend,
    Ladder,
    LatentMap,
    LossRace,
    ModelResult,
    Phenomenon,
    UnitRecord,
)

SPREAD_KEYS = (
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
        if r.done and r.result.model is not None:  # type: ignore[union-attr]
            out.setdefault(r.stage, {})[r.seed] = r.result.model  # type: ignore[union-attr]
    return out


def score_spreads(per_seed: dict[int, ModelResult]) -> dict[str, Spread]:
    return {k: spread([getattr(m.scores, k) for m in per_seed.values()]) for k in SPREAD_KEYS}


@dataclass(frozen=True)
class Claim:
    """A phenomenon of the original study as a yes/no question to each seed's results."""

    key: str
    kind: type
    title: Callable[[DatasetInfo], str]
    holds: Callable[[Any], bool]
    outcome: Callable[[Any, DatasetInfo], str]
    select: Callable[[Any], bool] = lambda p: True


def _stop_words(p: EarlyStop, info: DatasetInfo) -> str:
    if p.stopped_at is None:
        return f"no stop within {p.max_epochs} epochs (best {p.best_epoch})"
    return f"stops at epoch {p.stopped_at} (best {p.best_epoch})"


def _collapse_words(p: Collapse, info: DatasetInfo) -> str:
    what = {"one-item": "one clear", "one-image": "one unclear image,", "partial": "partial:", "none": "no collapse:"}
    return (
        f"{what[p.verdict]} {info.label(p.top_class)} {100 * p.share:.0f} % "
        f"({100 * p.confident_share:.0f} % at conf. ≥ 0.9), {p.modes} class{'es' if p.modes != 1 else ''}"
    )


def _race_words(p: LossRace, info: DatasetInfo, target: int) -> str:
    steps = [
        f"{loss} {s[target]:,}" if s[target] is not None else f"{loss} never" for loss, s in zip(p.losses, p.steps_to)
    ]
    return f"steps to IS {p.targets[target]:g}: " + ", ".join(steps)


def _steady_words(p: LossRace, info: DatasetInfo) -> str:
    ranked = sorted((w, loss) for loss, w in zip(p.losses, p.wobble) if w is not None)
    return "IS wobble " + " < ".join(f"{loss} {w:.3f}" for w, loss in ranked)


CLAIMS = (
    Claim(
        "early_stop",
        EarlyStop,
        lambda i: "early stopping ends the seed VAE's training within its epoch limit",
        lambda p: p.stopped_at is not None,
        _stop_words,
    ),
    Claim(
        "kl_rises",
        KLTrend,
        lambda i: "the seed VAE's validation KL term rises over training",
        lambda p: p.trend == "rises",
        lambda p, i: f"{p.trend} ({p.first:.1f} → {p.last:.1f} nats)",
        select=lambda p: p.model == "seed",
    ),
    Claim(
        "latent_map",
        LatentMap,
        lambda i: "the 2-D latent map puts the classes in distinct regions (5-NN ≥ 0.7)",
        lambda p: p.knn_accuracy >= 0.7,
        lambda p, i: f"5-NN {p.knn_accuracy:.3f}, samples cover {p.classes} classes",
    ),
    Claim(
        "collapse",
        Collapse,
        lambda i: f"the too-weak generator collapses onto one recognisable {i.item}",
        lambda p: p.verdict == "one-item",
        _collapse_words,
    ),
    Claim(
        "ladder",
        Ladder,
        lambda i: "classes covered and IS rise with the generator's capacity",
        lambda p: p.rising,
        lambda p, i: "classes " + " → ".join(map(str, p.modes)) + "; IS " + " → ".join(f"{s:.1f}" for s in p.scores),
    ),
    Claim(
        "bce_first_low",
        LossRace,
        lambda i: f"cross-entropy reaches IS {i.is_targets[0]:g} first of the three losses",
        lambda p: p.first(0) == "bce",
        lambda p, i: _race_words(p, i, 0),
    ),
    Claim(
        "bce_first_high",
        LossRace,
        lambda i: f"cross-entropy reaches IS {i.is_targets[1]:g} first of the three losses",
        lambda p: p.first(1) == "bce",
        lambda p, i: _race_words(p, i, 1),
    ),
    Claim(
        "bce_steadiest",
        LossRace,
        lambda i: "cross-entropy is the steadiest loss over the last third",
        lambda p: p.steadiest() == "bce",
        _steady_words,
    ),
)


@dataclass(frozen=True)
class Tally:
    claim: Claim
    title: str
    per_seed: dict[int, tuple[bool, str]]  # seed -> (holds, what it showed)

    @property
    def k(self) -> int:
        return sum(h for h, _ in self.per_seed.values())

    @property
    def n(self) -> int:
        return len(self.per_seed)

    def words(self) -> str:
        return f"{self.k} of {self.n} seeds" if self.n != 1 else ("holds" if self.k else "does not hold")


def tallies(records: Sequence[UnitRecord], info: DatasetInfo) -> list[Tally]:
    """Each claim's outcome in every seed whose results show it."""
    found: dict[str, dict[int, tuple[bool, str]]] = {}
    for r in records:
        for p in r.result.phenomena if r.done else ():  # type: ignore[union-attr]
            for c in CLAIMS:
                if isinstance(p, c.kind) and c.select(p):
                    found.setdefault(c.key, {})[r.seed] = (bool(c.holds(p)), c.outcome(p, info))
    return [Tally(c, c.title(info), found[c.key]) for c in CLAIMS if c.key in found]


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
    name = phenomenon if isinstance(phenomenon, str) else phenomenon.__name__
    return [t for t in found if t.claim.kind.__name__ == name]
