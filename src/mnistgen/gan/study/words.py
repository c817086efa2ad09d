"""Captions of the GAN's study figures, computed from the numbers they describe: the too-weak generator's collapse,
the capacity ladder, the losses' race and steadiness, the cluster code. None of them repeats the original's story
when the data do not show it (the tests feed them contrary data)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnistgen.datasets import DatasetInfo
from mnistgen.stagekit.words import coverage_words, pct

COLLAPSE_SHARE = 0.9  # a generator has collapsed when >= 90 % of its samples fall in one class ...
COLLAPSE_CONFIDENCE = 0.9  # ... recognised at classifier confidence >= 0.9 (a clear item, not noise)


def collapse_verdict(row: dict) -> str:
    """'one-item' (>= 90 % of the samples in one class, nearly all recognised as it with confidence >= 0.9, precision
    >= 0.5), 'one-image' (one class, but not a clear item), 'partial' (classes missing, recall < 0.05) or 'none'."""
    hist, share_conf = row["class_histogram"], row.get("top_confident_share", 0.0)
    top = max(hist)
    if top >= COLLAPSE_SHARE:
        clear = share_conf >= COLLAPSE_CONFIDENCE * top and row.get("precision", 1.0) >= 0.5
        return "one-item" if clear else "one-image"
    if sum(h >= 0.01 for h in hist) < len(hist) and row.get("recall", 1.0) < 0.05:
        return "partial"
    return "none"


def collapse_caption(row: dict, info: DatasetInfo, discriminator: str) -> str:
    """Whether the weakest generator collapsed -- onto one recognisable class, or onto a few -- from its samples' class
    histogram, the classifier's confidence, and precision / recall (a collapsed generator draws real-looking items of
    few kinds: high precision, recall near 0)."""
    hist, share_conf = row["class_histogram"], row.get("top_confident_share", 0.0)
    top = max(range(len(hist)), key=lambda k: hist[k])
    who = f"the weakest generator ({row['g_params']:,} parameters, against the {discriminator})"
    quality = f"precision {row['precision']:.2f}, recall {row['recall']:.2f}" if "precision" in row else ""
    verdict, share = collapse_verdict(row), pct(hist[top])
    conf = f"{pct(share_conf)} of all samples recognised as it at confidence ≥ {COLLAPSE_CONFIDENCE}"
    if verdict == "one-item":
        return (
            f"Mode collapse: {who} draws {info.label(top)} in {share} of its samples ({conf}; {quality}): one "
            f"recognisable {info.item}, over and over."
        )
    if verdict == "one-image":
        return (
            f"Collapse onto one image: {who} puts {share} of its samples in one class ({info.label(top)}), but "
            f"only {pct(share_conf)} at confidence ≥ {COLLAPSE_CONFIDENCE} ({quality}): not a clear {info.item}."
        )
    if verdict == "partial":
        tail = (
            f" — short of the original's single {info.item}."
            if info.original
            else f", but not onto a single {info.item}."
        )
        return (
            f"Partial mode collapse: {who} covers only {coverage_words(hist, info)}; {quality}: it draws a few "
            f"kinds of {info.item} and misses the rest" + tail
        )
    return f"No collapse: {who} spreads its samples over {coverage_words(hist, info)}" + (
        f"; {quality}." if quality else "."
    )


def rising(modes: Sequence[int], scores: Sequence[float]) -> bool:
    """Do the classes covered never fall, and the IS never fall by more than 0.05, from rung to rung?"""
    return all(b >= a for a, b in zip(modes, modes[1:])) and all(b >= a - 0.05 for a, b in zip(scores, scores[1:]))


def capacity_caption(rows: Sequence[dict], info: DatasetInfo) -> str:
    """Do classes covered and IS rise with generator width?"""
    modes, scores = [r["modes"] for r in rows], [r["is"] for r in rows]
    ladder = " → ".join(str(r["width"]) for r in rows)
    rises = rising(modes, scores)
    trend = "rise with the generator's capacity" if rises else "do not rise steadily with the generator's capacity"
    top = rows[-1]
    return (
        f"Generators from the weakest to the most complex ({ladder}): classes covered "
        f"({' → '.join(map(str, modes))}) and "
        f"IS ({' → '.join(f'{s:.2f}' for s in scores)}) {trend}; the most complex covers {top['modes']} classes at IS "
        f"{top['is']:.2f} (n = {top.get('n', '?')})."
    )


def loss_comparison_caption(rows: Sequence[dict[str, Any]]) -> str:
    """Which loss converged faster (steps to each target IS) and which is steadier (IS spread about its trend over
    the last third)."""

    def first(i: int, target: float) -> str:
        reached = [r for r in rows if r["steps_to"][i] is not None]
        if not reached:
            return f"none reached IS {target:g}"
        best = min(reached, key=lambda r: r["steps_to"][i])
        missing = [r["loss"] for r in rows if r["steps_to"][i] is None]
        return f"{best['loss']} reached IS {target:g} first ({best['steps_to'][i]:,} generator steps)" + (
            f"; {', '.join(missing)} never did" if missing else ""
        )

    parts = [first(i, t) for i, t in enumerate(rows[0]["targets"])] if rows else []
    steady = [r for r in rows if r.get("is_wobble") is not None]
    if steady:
        ranked = sorted(steady, key=lambda r: r["is_wobble"])
        calm, runner = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        others = ", ".join(f"{r['loss']} {r['is_wobble']:.3f}" for r in ranked[1:])
        tied = runner is not None and runner["is_wobble"] <= 1.1 * calm["is_wobble"]  # within 10 %: no winner
        who = (
            f"{calm['loss']} and {runner['loss']} are about equally steady"
            if tied and runner is not None
            else f"{calm['loss']} is the steadiest"
        )
        parts.append(
            f"{who} in sample quality over the last third (IS std about its trend {calm['loss']} "
            f"{calm['is_wobble']:.3f}; {others})"
        )
    return "Over the same generator steps and images: " + "; ".join(parts) + "."


def curves_caption(rows: Sequence[dict[str, Any]]) -> str:
    """Whose loss curves settle most (their late unsteadiness on their own scale), from the numbers."""
    ranked = sorted((r["loss_wobble"], r["loss"]) for r in rows if r.get("loss_wobble") is not None)
    if not ranked:
        return "Too few steps to judge how the curves settle."
    values = ", ".join(f"{loss} {w:.3f}" for w, loss in ranked)
    if len(ranked) > 1 and ranked[1][0] <= 1.1 * ranked[0][0]:
        verdict = f"{ranked[0][1]} and {ranked[1][1]} settle about equally"
    else:
        verdict = f"{ranked[0][1]}'s curves settle most"
    return f"Late unsteadiness of the loss curves (0 = settled; the mean of D's and G's): {values}: {verdict}."


def code_caption(categories: int, purity: float | None, info: DatasetInfo) -> str:
    """The cluster-code grid: one row per k-means cluster, and how pure each row is by the classifier."""
    measured = (
        (
            " Over 20 samples per cluster of the first 10, a row's most common class holds "
            f"{pct(purity)} of it on average"
            + (": each cluster is mostly one class." if purity >= 0.8 else ": the clusters mix classes.")
        )
        if purity is not None
        else ""
    )
    return (
        f"The fast DCGAN's code: {categories} k-means clusters of the training images (on their top 50 principal "
        f"components; no labels used). The generator is given a cluster and the discriminator is conditioned on it. "
        f"One row per cluster (the first 10), the same noise z in each column.{measured}"
    )
