"""The report's tables of scores: one row per model (each score its mean with a 95 % interval over the seeds), where
its samples land, and every seed's scores -- for single images (IS, FID, ...) and for stacked digits (modes of
1,000, KL from uniform, each channel's fidelity), beside the original's or the published numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnistgen.datasets import DatasetInfo
from mnistgen.stagekit import Block, Heading, ModelResult, ModeScores, Scores, Table, Text
from mnistgen.study.aggregate import models, score_spreads
from mnistgen.study.state import StudyState, UnitRecord

HEADERS = (
    "samples",
    "IS, n = 500",
    "IS, n = N",
    "N",
    "FID",
    "KID ×10³",
    "precision",
    "recall",
    "density",
    "coverage",
    "modes ≥ 1 %",
    "class-KL",
)


def _single(m: ModelResult) -> Scores:
    if not isinstance(m.scores, Scores):
        raise TypeError(f"{m.label}: expected the scores of single images")
    return m.scores


def _modes(m: ModelResult) -> ModeScores:
    if not isinstance(m.scores, ModeScores):
        raise TypeError(f"{m.label}: expected the scores of stacked digits")
    return m.scores


def _cell(m: ModelResult) -> list[Any]:
    s = _single(m)
    return [
        f"{s.is_500_mean:.2f} ± {s.is_500_std:.2f}",
        f"{s.is_mean:.2f} ± {s.is_std:.2f}",
        s.n,
        s.fid,
        f"{1e3 * s.kid_mean:.2f} ± {1e3 * s.kid_std:.2f}",
        s.precision,
        s.recall,
        s.density,
        s.coverage,
        s.modes,
        s.class_kl,
    ]


def _spread_cells(per_seed: dict[int, ModelResult]) -> list[Any]:
    sp = score_spreads(per_seed)
    first = _single(next(iter(per_seed.values())))
    kid = sp["kid_mean"]
    kid_words = f"{1e3 * kid.mean:.2f}" + (f" ± {1e3 * kid.ci95:.2f}" if kid.ci95 is not None else "")
    return [
        sp["is_500_mean"].words(),
        sp["is_mean"].words(),
        first.n,
        sp["fid"].words(),
        kid_words,
        *(sp[k].words(3) for k in ("precision", "recall", "density", "coverage")),
        sp["modes"].words(1),
        sp["class_kl"].words(3),
    ]


def _score_comparison(state: StudyState, records: Sequence[UnitRecord], info: DatasetInfo) -> list[Block]:
    by_model, original = models(records), info.original
    rows = []
    for per_seed in by_model.values():
        m = next(iter(per_seed.values()))
        cells = _cell(m) if len(state.seeds) == 1 else _spread_cells(per_seed)
        orig = (original or {}).get(m.original or "")
        extra = [f"{orig['is_mean']:.2f} ± {orig['is_std']:.2f} ({orig['n']:,})" if orig else ""] if original else []
        rows.append((m.label, *extra, *cells))
    headers = HEADERS[:1] + (("original IS (n)",) if original else ()) + HEADERS[1:]
    note = (
        "The original study's Inception Score (mean ± std over 10 splits, on MNIST) beside ours. "
        if original
        else "The original study measured MNIST only, so no original figures stand beside these. "
    )
    if len(state.seeds) > 1:
        how = (
            f"Each score is the mean over {len(state.seeds)} training seeds ± the half-width of its 95 % confidence "
            "interval (Student's t); the per-seed values are in the appendix. "
        )
    else:
        how = "One training seed: no interval over seeds (IS and KID carry their spread over splits and subsets). "
    text = (
        "IS falls with fewer samples per split, so it is given at the original's n = 500 and at N. Lower FID, KID "
        "and class-KL are better; precision and density measure fidelity, recall and coverage diversity."
    )
    blocks: list[Block] = [Text(note + how + text), Table(headers, tuple(rows))]
    return blocks + _histograms(by_model, info)


def _histograms(by_model: dict[str, dict[int, ModelResult]], info: DatasetInfo) -> list[Block]:
    rows = []
    for per_seed in by_model.values():
        hists = [_single(m).class_histogram for m in per_seed.values()]
        mean = [sum(h[k] for h in hists) / len(hists) for k in range(len(hists[0]))]
        rows.append((next(iter(per_seed.values())).label, *(f"{100 * h:.1f}" for h in mean)))
    if not rows:
        return []
    return [
        Text(
            "Where the samples land: the share (%) of each model's samples that the classifier assigns to each "
            "class (averaged over the seeds)."
        ),
        Table(("samples", *info.classes), tuple(rows)),
    ]


def _score_appendix(state: StudyState, records: Sequence[UnitRecord]) -> list[Block]:
    if len(state.seeds) < 2:
        return []
    keys = ("is_mean", "fid", "precision", "recall", "coverage", "modes")
    rows = tuple(
        (m.label, seed, *(getattr(_single(m), k) for k in keys))
        for per_seed in models(records).values()
        for seed, m in per_seed.items()
    )
    return [
        Heading(2, "Appendix: scores per seed"),
        Table(("samples", "seed", "IS, n = N", "FID", "precision", "recall", "coverage", "modes ≥ 1 %"), rows),
    ]


MODE_HEADERS = (
    "samples",
    "modes (of 1,000)",
    "KL from uniform",
    "N",
    "channel IS",
    "channel FID",
    "precision",
    "recall",
    "unsure %",
)


def _mode_cells(per_seed: dict[int, ModelResult]) -> list[Any]:
    """A model's mode scores: one seed's values, or each as mean ± 95 % interval with "k of n reach 1,000"."""
    scores = [_modes(m) for m in per_seed.values()]
    unsure = 100 * sum(sum(s.channel_unsure) / len(s.channel_unsure) for s in scores) / len(scores)
    if len(scores) == 1:
        s = scores[0]
        return [
            f"{s.modes:,}",
            f"{s.kl:.3f}",
            f"{s.n:,}",
            f"{s.is_mean:.2f}",
            f"{s.fid:.2f}",
            f"{s.precision:.3f}",
            f"{s.recall:.3f}",
            f"{unsure:.1f}",
        ]
    sp = score_spreads(per_seed)
    full = sum(s.modes == 1000 for s in scores)
    return [
        f"{sp['modes'].words(1)} ({full} of {len(scores)} reach 1,000)",
        sp["kl"].words(3),
        f"{scores[0].n:,}",
        sp["is_mean"].words(),
        sp["fid"].words(),
        sp["precision"].words(3),
        sp["recall"].words(3),
        f"{unsure:.1f}",
    ]


def _mode_comparison(state: StudyState, records: Sequence[UnitRecord], info: DatasetInfo) -> list[Block]:
    rows: list[tuple[Any, ...]] = [
        (next(iter(per_seed.values())).label, *_mode_cells(per_seed)) for per_seed in models(records).values()
    ]
    rows += [
        (f"{model} (published)", f"{modes:,g}", f"{kl:.2f}", "26,000", "–", "–", "–", "–", "–")
        for model, modes, kl, _ in info.published
    ]
    seeds = len(state.seeds)
    how = (
        f"Each value is the mean over {seeds} training seeds ± the half-width of its 95 % confidence interval, with "
        "how many seeds reach all 1,000 modes. "
        if seeds > 1
        else "One training seed. "
    )
    sources = sorted({source for *_, source in info.published})
    text = (
        f"Every model's N samples are three digits each, every channel classified by the MNIST evaluator: a mode "
        f"(one of 1,000 digit triples) counts when at least one sample lands in it, and the KL divergence of the "
        f"modes' histogram from uniform is 0 for a perfectly even spread and log 1000 = 6.91 for one mode. {how}"
        f"'unsure %': the share of channels the classifier gives less than half its probability to any digit. "
        f"Channel IS, FID, precision and recall score each channel as an MNIST image against the held-out digits "
        f"(mean over the three). The published rows ({'; '.join(sources)}) come from another set-up and budget: "
        "50 epochs of 128,000 images at batch 64, a Keras classifier, 10 trials, training and test digits drawn "
        "together."
    )
    return [Text(text), Table(MODE_HEADERS, tuple(rows))]


def _mode_appendix(state: StudyState, records: Sequence[UnitRecord]) -> list[Block]:
    if len(state.seeds) < 2:
        return []
    rows = tuple(
        (m.label, seed, s.modes, s.kl, s.is_mean, s.fid, s.precision, s.recall)
        for per_seed in models(records).values()
        for seed, m in per_seed.items()
        for s in (_modes(m),)
    )
    headers = ("samples", "seed", "modes", "KL", "channel IS", "channel FID", "precision", "recall")
    return [Heading(2, "Appendix: scores per seed"), Table(headers, rows)]


def comparison(state: StudyState, records: Sequence[UnitRecord], info: DatasetInfo) -> list[Block]:
    """The comparison table (and, for single images, where the samples land)."""
    return (_mode_comparison if info.stacked else _score_comparison)(state, records, info)


def appendix(state: StudyState, records: Sequence[UnitRecord], info: DatasetInfo) -> list[Block]:
    """Every seed's scores (several seeds only)."""
    return _mode_appendix(state, records) if info.stacked else _score_appendix(state, records)
