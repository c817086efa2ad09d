"""Evaluation of generated images with a fixed classifier of the dataset (shipped with the package).

Public API::

    ev = load_evaluator("mnist")             # the shipped evaluator; never trains
    ev.probs(images), ev.features(images)     # any range to_unit accepts: uint8, [0, 1], [-1, 1]
    quick_scores(images, ev)                  # cheap probe: is, is_std, modes, class_kl, max_prob
    evaluate_images(images, ev)               # everything: IS, FID, KID, precision/recall, density/coverage, modes...
    evaluate_real(ev)                         # the same for held-out real images (reference row; needs the dataset)
    mode_scores(images, ev)                   # stacked digits: modes of 1,000, KL from uniform, each channel's scores
"""

from __future__ import annotations

from mnistgen.metrics.distances import (
    density_coverage,
    frechet_distance,
    gaussian_stats,
    kernel_inception_distance,
    kth_nn_radii,
    precision_recall,
)
from mnistgen.metrics.evaluate import (
    KEYS,
    evaluate_images,
    evaluate_real,
    held_out,
    inception_score_of,
    quick_scores,
    score_images,
    scores_of,
)
from mnistgen.metrics.evaluator import Evaluator, Reference, export_evaluator, load_evaluator, shipped
from mnistgen.metrics.scores import class_histogram, class_kl, inception_score, max_prob, mode_count, prob_scores
from mnistgen.metrics.stacked import channel_probs, mode_counts, mode_scores, stacked_quick_scores

__all__ = [
    "KEYS",
    "Evaluator",
    "Reference",
    "channel_probs",
    "class_histogram",
    "class_kl",
    "density_coverage",
    "evaluate_images",
    "evaluate_real",
    "export_evaluator",
    "frechet_distance",
    "gaussian_stats",
    "held_out",
    "inception_score",
    "inception_score_of",
    "kernel_inception_distance",
    "kth_nn_radii",
    "load_evaluator",
    "max_prob",
    "mode_count",
    "mode_counts",
    "mode_scores",
    "precision_recall",
    "prob_scores",
    "quick_scores",
    "score_images",
    "scores_of",
    "shipped",
    "stacked_quick_scores",
]
