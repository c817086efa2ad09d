"""Evaluation of generated images with a trained MNIST(-family) classifier.

Public API::

    ev = get_evaluator("mnist")              # cached classifier; trained once if missing
    ev.probs(images), ev.features(images)     # any range to_unit accepts: uint8, [0, 1], [-1, 1]
    quick_scores(images, ev)                  # cheap probe: is, is_std, modes, class_kl, max_prob
    evaluate_images(images, "mnist")          # everything: IS, FID, KID, precision/recall, modes...
    evaluate_real("mnist")                    # the same for held-out real images (reference row)
"""

from __future__ import annotations

from typing import Any

from mnistgen.metrics.distances import evaluate_images, evaluate_real, fid_kid, precision_recall
from mnistgen.metrics.evaluator import Evaluator, get_evaluator
from mnistgen.metrics.scores import class_histogram, class_kl, inception_score, max_prob, mode_count, prob_scores


def quick_scores(images: Any, evaluator: Evaluator, splits: int = 10) -> dict[str, float]:
    """IS (mean, std), modes, class-KL and mean max-probability of ``images``; for training probes.

    On ~2,000 samples this takes well under a second on CPU. IS depends on n: compare at equal n.
    """
    s = prob_scores(evaluator.probs(images), splits=splits)
    return {k: s[k] for k in ("is", "is_std", "modes", "class_kl", "max_prob")}


__all__ = [
    "Evaluator",
    "get_evaluator",
    "quick_scores",
    "inception_score",
    "class_histogram",
    "mode_count",
    "class_kl",
    "max_prob",
    "prob_scores",
    "evaluate_images",
    "evaluate_real",
    "fid_kid",
    "precision_recall",
]
