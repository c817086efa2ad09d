"""Captions of the VAE's figures, computed from the histories and statistics they describe. Where the original study
saw something (the KL term rising, the classes overlapping on the 2-D map), they say whether this run saw it too."""

from __future__ import annotations

from mnistgen.datasets import DatasetInfo
from mnistgen.stagekit.words import pct


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


def latent_caption(stats: dict, info: DatasetInfo) -> str:
    """The latent map: how well its two axes separate the classes (k-NN accuracy) and which classes overlap most."""
    acc, k = stats["knn_accuracy"], stats.get("k", 5)
    pairs = stats.get("confused_pairs") or []
    overlap = ""
    if "mean_overlap" in stats:
        overlap = f" On average {pct(stats['mean_overlap'])} of a class's points have mostly other classes near them."
    if pairs:
        named = ", ".join(f"{info.classes[a]}/{info.classes[b]}" for a, b, _ in pairs[:3])
        overlap += f" The classes mixed most on the map: {named}."
    if stats.get("dims", 2) > 2:
        where = f"the first two principal components of the {stats['dims']}-D means"
        return (
            f"Latent map: {where}, coloured by class. A {k}-NN classifier on this 2-D projection recovers "
            f"{pct(acc)} of the test labels ({pct(stats.get('knn_accuracy_full', acc))} in all {stats['dims']} "
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
        f"Latent map of a 2-D VAE: test-set posterior means coloured by class. A {k}-NN classifier on the map "
        f"recovers {pct(acc)} of the test labels: {verdict}.{overlap}"
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
