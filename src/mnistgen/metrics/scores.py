"""Scores computed from class probabilities alone (pure functions on (N, C) arrays).

- Inception Score (Salimans et al. 2016) with an MNIST classifier: exp(E_x KL(p(y|x) || p(y))),
  mean and standard deviation over ``splits`` equal splits; at most C (= 10). The images are put in a
  seeded random order before splitting, so the score does not depend on the order they come in (a file
  saved class by class would otherwise get one class per split and score near 1).
- Class coverage: the histogram of argmax predictions, how many classes hold at least ``threshold``
  of them ("modes"), KL(histogram || uniform), and the mean max-probability (confidence).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mnistgen.errors import MnistgenError

_EPS = 1e-12


def as_probs(probs: Any) -> np.ndarray:
    """Validate an (N, C) array of probabilities (rows summing to 1) and return it as float64."""
    p = np.asarray(probs.detach().cpu().numpy() if hasattr(probs, "detach") else probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] < 2:
        raise MnistgenError(f"expected class probabilities shaped (N, C) with N >= 1 and C >= 2, got {p.shape}")
    if not np.isfinite(p).all():
        raise MnistgenError("class probabilities contain NaN or infinite values")
    if (p < -1e-6).any() or not np.allclose(p.sum(1), 1.0, atol=1e-3):
        raise MnistgenError("class probabilities must be non-negative with rows summing to 1 (pass softmax outputs)")
    return np.clip(p, 0.0, 1.0)


def inception_score(probs: Any, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of exp(E KL(p(y|x) || p(y))) over ``splits`` equal splits of the rows in a seeded random order."""
    p = as_probs(probs)
    if splits < 1 or len(p) < splits:
        raise MnistgenError(
            f"the Inception Score needs at least {max(splits, 1)} samples for {splits} splits, got {len(p)}"
        )
    scores = []
    for part in np.array_split(p[np.random.default_rng(seed).permutation(len(p))], splits):
        marginal = part.mean(0, keepdims=True)  # (1, C)
        kl = (part * (np.log(part + _EPS) - np.log(marginal + _EPS))).sum(1)  # (n,)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def class_histogram(probs: Any) -> np.ndarray:
    """Fraction of samples whose argmax prediction is each class, shape (C,), summing to 1."""
    p = as_probs(probs)
    counts = np.bincount(p.argmax(1), minlength=p.shape[1]).astype(np.float64)
    return counts / counts.sum()


def mode_count(probs: Any, threshold: float = 0.01) -> int:
    """How many classes hold at least ``threshold`` (default 1 %) of the argmax predictions."""
    return int((class_histogram(probs) >= threshold).sum())


def class_kl(probs: Any) -> float:
    """KL(class histogram || uniform) in nats: 0 for balanced classes, log C for a single class."""
    h = class_histogram(probs)
    nz = h > 0
    return float((h[nz] * np.log(h[nz] * len(h))).sum())


def max_prob(probs: Any) -> float:
    """Mean over samples of the largest class probability (the classifier's confidence)."""
    return float(as_probs(probs).max(1).mean())


def prob_scores(probs: Any, splits: int = 10, threshold: float = 0.01, seed: int = 0) -> dict[str, Any]:
    """All probability-based scores at once: is/is_std/modes/class_kl/max_prob/class_histogram."""
    p = as_probs(probs)
    is_mean, is_std = inception_score(p, splits, seed)
    return {
        "is": is_mean,
        "is_std": is_std,
        "modes": mode_count(p, threshold),
        "class_kl": class_kl(p),
        "max_prob": max_prob(p),
        "class_histogram": class_histogram(p).tolist(),
    }
