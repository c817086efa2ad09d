"""Caption words every family's stages use, computed from the numbers they describe: percentages, how samples spread
over the classes, a sample grid's caption. A family's own captions live in its folder; none of them repeats the
original's story when the data do not show it (the tests feed them contrary data)."""

from __future__ import annotations

from collections.abc import Sequence

from mnistgen.datasets import DatasetInfo


def pct(x: float) -> str:
    """0.29 -> '29 %'."""
    return f"{100 * x:.0f} %"


def _spread(hist: Sequence[float], info: DatasetInfo) -> tuple[str, str]:
    """('8 of 10', 'digit 5, 29 %'): the classes holding at least 1 % of the samples, and the largest class."""
    top = max(range(len(hist)), key=lambda k: hist[k])
    return f"{sum(h >= 0.01 for h in hist)} of {len(hist)}", f"{info.label(top)}, {pct(hist[top])}"


def histogram_words(hist: Sequence[float], info: DatasetInfo) -> str:
    """'10 of 10 classes hold at least 1 % of them (the largest, digit 1, 14 %)'."""
    count, largest = _spread(hist, info)
    return f"{count} classes hold at least 1 % of them (the largest, {largest})"


def coverage_words(hist: Sequence[float], info: DatasetInfo) -> str:
    """'8 of 10 classes (each at least 1 % of its samples; the largest, digit 5, 29 %)'."""
    count, largest = _spread(hist, info)
    return f"{count} classes (each at least 1 % of its samples; the largest, {largest})"


def samples_caption(what: str, metrics: dict, info: DatasetInfo, how: str = "") -> str:
    """A sample grid's caption from the scores of the same model's samples (n = N)."""
    hist = metrics.get("class_histogram") or []
    cover = f"; over {metrics['n']:,} samples {histogram_words(hist, info)}" if hist else ""
    conf = f", the classifier's mean confidence is {metrics['max_prob']:.2f}" if "max_prob" in metrics else ""
    return f"100 samples of the {what}{how}{cover}{conf}."
