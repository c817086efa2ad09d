"""Scores from class probabilities on constructed cases: the Inception Score (order-free) and class coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mnistgen.errors import MnistgenError
from mnistgen.metrics import class_histogram, class_kl, inception_score, max_prob, mode_count


def one_hot(labels, c=10, conf=1.0):
    p = np.full((len(labels), c), (1.0 - conf) / (c - 1))
    p[np.arange(len(labels)), labels] = conf
    return p


# ----------------------------------------------------------------------------- probability scores


def test_inception_score_extremes():
    balanced = one_hot(np.arange(1000) % 10)
    mean, std = inception_score(balanced, splits=1)  # one split: exp(entropy of the marginal) = 10 exactly
    assert mean == pytest.approx(10.0, rel=1e-9) and std == 0.0
    single = one_hot(np.zeros(1000, int))
    assert inception_score(single)[0] == pytest.approx(1.0, abs=1e-6)
    uniform = np.full((500, 10), 0.1)  # unconfident: also 1
    assert inception_score(uniform)[0] == pytest.approx(1.0, abs=1e-6)
    two = one_hot(np.arange(1000) % 2)  # two balanced classes
    assert inception_score(two, splits=1)[0] == pytest.approx(2.0, rel=1e-9)


def test_inception_score_does_not_depend_on_the_order_of_the_images():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 10000)
    probs = one_hot(labels, conf=0.95)
    shuffled = inception_score(probs)
    by_label = inception_score(probs[np.argsort(labels, kind="stable")])  # a file saved class by class
    assert by_label[0] == pytest.approx(shuffled[0], abs=3 * shuffled[1] + 1e-3)  # equal to the permutation's noise
    assert by_label[0] > 0.95 * inception_score(probs, splits=1)[0]  # not the ~1 of one class per split
    assert inception_score(probs, seed=1) != shuffled  # the permutation is seeded ...
    assert inception_score(probs, seed=1) == inception_score(probs, seed=1)  # ... and reproducible


def test_inception_score_std_reflects_split_differences():
    labels = np.arange(1000) % 10
    mean, std = inception_score(one_hot(labels), splits=10)  # random splits of a balanced set: close to 10, small std
    assert 9.5 < mean < 10.0 and 0 < std < 0.2
    half = np.where(np.arange(1000) < 500, labels, 0)  # half the set collapsed onto class 0
    assert inception_score(one_hot(half), splits=10)[0] < mean - 3


def test_coverage_on_crafted_histograms():
    # 5 classes equally, class 5 at 0.5 % (below the 1 % threshold), the rest absent
    labels = np.concatenate([np.repeat(np.arange(5), 199), np.full(5, 5)])
    p = one_hot(labels, conf=0.9)
    hist = class_histogram(p)
    assert hist.sum() == pytest.approx(1.0) and hist[5] == pytest.approx(0.005)
    assert mode_count(p) == 5
    assert mode_count(p, threshold=0.005) == 6
    expected_kl = sum(h * math.log(h * 10) for h in hist if h > 0)
    assert class_kl(p) == pytest.approx(expected_kl)
    assert class_kl(one_hot(np.arange(100) % 10)) == pytest.approx(0.0, abs=1e-12)
    assert class_kl(one_hot(np.zeros(100, int))) == pytest.approx(math.log(10))
    assert max_prob(p) == pytest.approx(0.9)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.full((4, 10), np.nan), "NaN"),
        (np.ones((4,)), "shaped"),
        (np.ones((4, 10)), "summing to 1"),
    ],
)
def test_probability_errors(bad, match):
    with pytest.raises(MnistgenError, match=match):
        inception_score(bad, splits=2)


def test_inception_score_needs_enough_samples():
    with pytest.raises(MnistgenError, match="at least 10 samples"):
        inception_score(one_hot(np.arange(5)), splits=10)
