"""Scoring images of stacked digits (mnistgen.stacked): each channel is classified by the single-channel evaluator,
the three digits name one of 1,000 modes, and a model is scored by how many modes its samples reach and by the KL
divergence of their histogram from uniform (PacGAN's measures), beside the fidelity of each channel as an image of
its own (IS, FID, precision, recall against the held-out digits)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mnistgen import stacked
from mnistgen.errors import MnistgenError
from mnistgen.images import to_unit
from mnistgen.metrics.evaluate import scores_of
from mnistgen.metrics.evaluator import Evaluator
from mnistgen.metrics.scores import inception_score

UNSURE = 0.5  # a channel is unsure when the classifier gives no digit even half of its probability
CHANNEL_KEYS = ("is_mean", "fid", "precision", "recall")


def _channels(images: Any) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images
    if x.ndim != 4 or x.shape[1] != stacked.CHANNELS:
        raise MnistgenError(
            f"stacked images have {stacked.CHANNELS} channels, (N, {stacked.CHANNELS}, 28, 28); got "
            f"{tuple(x.shape)} (a one-channel file is scored as its own dataset, not as stacked digits)"
        )
    return to_unit(x, stacked.CHANNELS)


def channel_probs(images: Any, evaluator: Evaluator) -> list[torch.Tensor]:
    """The evaluator's class probabilities (N, 10) of each channel of ``images`` (N, 3, 28, 28)."""
    x = _channels(images)
    return [evaluator.probs(x[:, c : c + 1]) for c in range(stacked.CHANNELS)]


def mode_counts(probs: list[torch.Tensor]) -> np.ndarray:
    """The 1,000 modes' counts among the samples whose channels have the class probabilities ``probs``."""
    labels = np.stack([p.argmax(1).numpy() for p in probs], 1)  # (N, 3)
    return stacked.mode_histogram(stacked.mode_of(labels))


def mode_scores(images: Any, evaluator: Evaluator, seed: int = 0, kid_subset_size: int = 1000) -> dict[str, Any]:
    """Modes reached (of 1,000), KL from uniform, the share of samples each channel's classifier is unsure of, and
    each channel's IS, FID, precision and recall (with their means over the channels)."""
    x = _channels(images)
    if len(x) < kid_subset_size:
        raise MnistgenError(f"need at least {kid_subset_size} images for KID subsets of {kid_subset_size}")
    probs, per_channel = [], []
    for c in range(stacked.CHANNELS):
        p, f = evaluator.probs_and_features(x[:, c : c + 1])
        probs.append(p)
        per_channel.append(scores_of(p, f, evaluator, seed, kid_subset_size))
    counts = mode_counts(probs)
    out: dict[str, Any] = {
        "n": len(x),
        "modes": stacked.modes_covered(counts),
        "kl": stacked.kl_from_uniform(counts),
        "channel_unsure": tuple(float((p.max(1).values < UNSURE).float().mean()) for p in probs),
        "mode_counts": tuple(int(c) for c in counts),
    }
    for key in CHANNEL_KEYS:
        values = tuple(float(s[key]) for s in per_channel)
        out[f"channel_{key}"], out[key] = values, float(np.mean(values))  # channel_is_mean: each channel's IS
    return out


def stacked_quick_scores(images: Any, evaluator: Evaluator) -> dict[str, float]:
    """The cheap probe of a run on stacked digits: the channels' mean IS, modes reached (of 1,000), KL from uniform."""
    probs = channel_probs(images, evaluator)
    counts = mode_counts(probs)
    channel_is = [inception_score(p)[0] for p in probs]
    return {
        "is": float(np.mean(channel_is)),
        "modes": stacked.modes_covered(counts),
        "class_kl": stacked.kl_from_uniform(counts),
    }
