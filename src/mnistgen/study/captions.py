"""Captions of the study's figures, computed from the data they describe.

Each function takes the numbers a figure shows (a history, a table row, a class histogram) and the
dataset's description, and says what happened — and, where the original study saw something, whether
this run saw it too. None of them repeats the original's story when the data do not show it; the tests
feed them contrary data and check the wording changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnistgen.datasets import DatasetInfo

COLLAPSE_SHARE = 0.9  # a generator has collapsed when >= 90 % of its samples fall in one class ...
COLLAPSE_CONFIDENCE = 0.9  # ... recognised at classifier confidence >= 0.9 (a clear item, not noise)


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def kl_trend(first: float, last: float) -> str:
    """'rises', 'falls' or 'flat': the validation KL's change over training, beyond 5 % of its first value or not."""
    change = (last - first) / max(abs(first), 1e-9)
    return "rises" if change > 0.05 else "falls" if change < -0.05 else "flat"


def kl_caption(hist: dict, original_saw_rise: bool) -> str:
    """Does the validation KL term rise, fall or stay flat over the epochs?"""
    val = hist.get("val_kl") or []
    if len(val) < 2:
        return "KL term per epoch (train vs validation): a single epoch, no trend to read."
    first, last, peak = val[0], val[-1], max(val)
    trend = kl_trend(first, last)
    if trend == "rises":
        words = f"rises over training ({first:.1f} → {last:.1f} nats)"
        why = (
            ": as the decoder learns to use the code, the encoder spends more information (KL) to buy a lower "
            "reconstruction loss"
        )
        echo = ", as in the original study" if original_saw_rise else ""
    elif trend == "falls":
        words = f"falls over training ({first:.1f} → {last:.1f} nats, peak {peak:.1f})"
        why = ": the encoder moves its posteriors back towards the prior faster than the decoder learns to use them"
        echo = "; the original study saw it rise instead" if original_saw_rise else ""
    else:
        words, why = f"stays about flat ({first:.1f} → {last:.1f} nats)", ""
        echo = "; the original study saw it rise" if original_saw_rise else ""
    return f"KL term per epoch, train vs validation: the validation KL {words}{why}{echo}."


def loss_caption(hist: dict, patience: int, max_epochs: int) -> str:
    """Early stopping as the history shows it: where the minimum was and whether training stopped on it."""
    val, epochs = hist.get("val_loss") or [], hist.get("epoch") or []
    if not val:
        return "Combined loss per epoch: no epochs recorded."
    best = hist.get("best_epoch") or epochs[val.index(min(val))]
    last = epochs[-1]
    head = (
        "Combined loss (reconstruction + β·KL) per epoch, train vs validation; the validation minimum is at "
        f"epoch {best}"
    )
    if last - best >= patience:
        return (
            f"{head}, then {last - best} epochs brought no improvement, so early stopping (patience {patience}) ended "
            f"training at epoch {last} of at most {max_epochs} and kept the model of epoch {best}."
        )
    if last >= max_epochs:
        return f"{head}: no early stop — training ran all {max_epochs} epochs" + (
            " and the last epoch is the best." if best == last else f" ({last - best} without improvement)."
        )
    return f"{head}; training ended at epoch {last} (cut short by the time cap) before early stopping could decide."


def refinement_caption(hist: dict) -> str:
    """What training the decoder alone after the joint epochs did to the validation loss ('' when it did not run)."""
    done = (hist or {}).get("decoder")
    if not done:
        return ""
    what = (
        f"Then the decoder alone trained {done['epochs']} passes over {done['images']:,} training images on the frozen "
        f"encoder's posteriors (codes, KL and map unchanged): validation loss {done['val_loss_before']:.2f} → "
        f"{done['val_loss_after']:.2f}"
    )
    if done["kept"]:
        recon = f"reconstruction {done['val_recon_before']:.2f} → {done['val_recon_after']:.2f}"
        return f"{what} ({recon}); the samples use it."
    return f"{what}, no better, so the jointly trained decoder was kept."


def _spread(hist: Sequence[float], info: DatasetInfo) -> tuple[str, str]:
    """('8 of 10', 'digit 5, 29 %'): the classes holding at least 1 % of the samples, and the largest class."""
    top = max(range(len(hist)), key=lambda k: hist[k])
    return f"{sum(h >= 0.01 for h in hist)} of {len(hist)}", f"{info.label(top)}, {_pct(hist[top])}"


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


def latent_caption(stats: dict, info: DatasetInfo) -> str:
    """The latent map: how well its two axes separate the classes (k-NN accuracy) and which classes overlap most."""
    acc, k = stats["knn_accuracy"], stats.get("k", 5)
    pairs = stats.get("confused_pairs") or []
    overlap = ""
    if pairs:
        named = ", ".join(f"{info.classes[a]}/{info.classes[b]}" for a, b, _ in pairs[:3])
        overlap = f" The classes mixed most on the map: {named}."
    if stats.get("dims", 2) > 2:
        where = f"the first two principal components of the {stats['dims']}-D means"
        return (
            f"Latent map: {where}, coloured by class. A {k}-NN classifier on this 2-D projection recovers "
            f"{_pct(acc)} of the test labels ({_pct(stats.get('knn_accuracy_full', acc))} in all {stats['dims']} "
            f"dimensions).{overlap}"
        )
    verdict = (
        "the classes are largely separated"
        if acc >= 0.9
        else "the classes form distinct regions that overlap at their borders"
        if acc >= 0.7
        else "the classes overlap heavily"
    )
    return (
        f"Latent map of the 2-D VAE: test-set posterior means coloured by class. A {k}-NN classifier on the map "
        f"recovers {_pct(acc)} of the test labels: {verdict}.{overlap}"
    )


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
    verdict, share = collapse_verdict(row), _pct(hist[top])
    conf = f"{_pct(share_conf)} of all samples recognised as it at confidence ≥ {COLLAPSE_CONFIDENCE}"
    if verdict == "one-item":
        return (
            f"Mode collapse: {who} draws {info.label(top)} in {share} of its samples ({conf}; {quality}): one "
            f"recognisable {info.item}, over and over."
        )
    if verdict == "one-image":
        return (
            f"Collapse onto one image: {who} puts {share} of its samples in one class ({info.label(top)}), but "
            f"only {_pct(share_conf)} at confidence ≥ {COLLAPSE_CONFIDENCE} ({quality}): not a clear {info.item}."
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
            if tied
            else f"{calm['loss']} is the steadiest"
        )
        parts.append(
            f"{who} in sample quality over the last third (IS std about its trend {calm['loss']} "
            f"{calm['is_wobble']:.3f}; {others})"
        )
    return "Over the same generator steps and images: " + "; ".join(parts) + "."


def code_caption(categories: int, purity: float | None, info: DatasetInfo) -> str:
    """The cluster-code grid: one row per k-means cluster, and how pure each row is by the classifier."""
    measured = (
        (
            " Over 20 samples per cluster of the first 10, a row's most common class holds "
            f"{_pct(purity)} of it on average"
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


def sampling_note(hist: dict | None) -> str:
    """How a VAE's samples were drawn: from N(0, I), or from the mixture prior fitted to the codes."""
    prior, done = (hist or {}).get("prior"), (hist or {}).get("decoder")
    refined = (
        f"; after the joint epochs the decoder was trained alone for {done['epochs']} passes over "
        f"{done['images']:,} training images"
        if done and done["kept"]
        else ""
    )
    if not prior or prior.get("log_likelihood") is None:
        return f"decoded by the decoder alone from random z ~ N(0, I){refined}"
    return (
        f"decoded by the decoder alone from random codes of the ex-post prior (a mixture of {prior['components']} "
        f"full-covariance Gaussians fitted by EM to the encoder's means of {prior['codes']:,} training images){refined}"
    )
