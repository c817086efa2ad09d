"""Scoring an image set: every metric at once, for generated images and for the real-data reference row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mnistgen.data import load_dataset
from mnistgen.errors import MnistgenError
from mnistgen.images import to_unit
from mnistgen.metrics.distances import (
    density_coverage,
    frechet_distance,
    gaussian_stats,
    kernel_inception_distance,
    precision_recall,
)
from mnistgen.metrics.evaluator import Evaluator
from mnistgen.metrics.scores import prob_scores

KEYS = (
    "is_mean",
    "is_std",
    "n",
    "fid",
    "kid_mean",
    "kid_std",
    "precision",
    "recall",
    "density",
    "coverage",
    "modes",
    "class_kl",
    "max_prob",
    "class_histogram",
)


def quick_scores(images: Any, evaluator: Evaluator, splits: int = 10) -> dict[str, float]:
    """IS (mean, std), modes, class-KL and mean max-probability of ``images``: the cheap probe of training runs."""
    s = prob_scores(evaluator.probs(images), splits=splits)
    return {k: s[k] for k in ("is", "is_std", "modes", "class_kl", "max_prob")}


def _subset(x: torch.Tensor, n: int | None, seed: int, what: str) -> torch.Tensor:
    if n is None or n == len(x):
        return x
    if n < 1 or n > len(x):
        raise MnistgenError(f"asked to score n={n} {what}, but only {len(x)} are available")
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx.sort().values]


def score_images(
    images: torch.Tensor, evaluator: Evaluator, seed: int = 0, kid_subset_size: int = 1000
) -> dict[str, Any]:
    """Every metric of float images (N, 1, 28, 28) in [0, 1] against the evaluator's reference (the test split)."""
    if kid_subset_size < 2:
        raise MnistgenError(f"the KID subset size must be at least 2, got {kid_subset_size}")
    if len(images) < 10:
        raise MnistgenError(f"need at least 10 images to score (10 Inception-Score splits), got {len(images)}")
    if len(images) < kid_subset_size:
        raise MnistgenError(
            f"need at least {kid_subset_size} images for KID subsets of {kid_subset_size}, got {len(images)}; "
            "draw more samples or lower the KID subset size"
        )
    probs, feats = evaluator.probs_and_features(images)
    return scores_of(probs, feats, evaluator, seed, kid_subset_size)


def scores_of(
    probs: torch.Tensor, feats: torch.Tensor, evaluator: Evaluator, seed: int = 0, kid_subset_size: int = 1000
) -> dict[str, Any]:
    """Every metric of images whose class probabilities (N, K) and features (N, F) the evaluator gave."""
    ref = evaluator.reference
    scores = prob_scores(probs, seed=seed)
    kid_mean, kid_std = kernel_inception_distance(ref.features, feats, subset_size=kid_subset_size, seed=seed)
    precision, recall = precision_recall(ref.features, feats, k=3, real_radii=ref.radii(3))
    density, coverage = density_coverage(ref.features, feats, k=5, real_radii=ref.radii(5))
    out = {
        "is_mean": scores["is"],
        "is_std": scores["is_std"],
        "n": len(probs),
        "fid": frechet_distance(ref.mu, ref.sigma, *gaussian_stats(feats)),
        "kid_mean": kid_mean,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
        "density": density,
        "coverage": coverage,
    }
    return out | {k: scores[k] for k in ("modes", "class_kl", "max_prob", "class_histogram")}


def evaluate_images(
    images: Any, evaluator: Evaluator, n: int | None = None, seed: int = 0, kid_subset_size: int = 1000
) -> dict[str, Any]:
    """Score generated ``images`` (uint8, [0, 1] or [-1, 1]); ``n`` scores a seeded random subset of that size."""
    return score_images(
        _subset(to_unit(images), n, seed, "images"), evaluator, seed=seed, kid_subset_size=kid_subset_size
    )


def held_out(evaluator: Evaluator, data_dir: str | Path | None = None, download_missing: bool = True) -> torch.Tensor:
    """The real training images the evaluator never saw, in [0, 1] (needs the dataset)."""
    return to_unit(evaluator.held_out_images(load_dataset(evaluator.dataset, data_dir, download_missing)))


def evaluate_real(
    evaluator: Evaluator,
    n: int = 10000,
    seed: int = 0,
    kid_subset_size: int = 1000,
    data_dir: str | Path | None = None,
    download_missing: bool = True,
) -> dict[str, Any]:
    """The reference row: ``n`` real training images the evaluator never saw, scored like samples.

    ``n`` is capped at the number of held-out images (10,000 for full MNIST); the result's ``n`` says.
    """
    x = held_out(evaluator, data_dir, download_missing)
    x = _subset(x, min(n, len(x)), seed, "held-out real images")
    return score_images(x, evaluator, seed=seed, kid_subset_size=min(kid_subset_size, len(x)))


def inception_score_of(images: torch.Tensor, evaluator: Evaluator, n: int = 500, seed: int = 0) -> tuple[float, float]:
    """IS of a seeded random subset of ``n`` images (the original study reported IS at n = 500)."""
    s = prob_scores(evaluator.probs(_subset(images, min(n, len(images)), seed, "images")), seed=seed)
    return s["is"], s["is_std"]
