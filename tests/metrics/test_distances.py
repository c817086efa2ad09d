"""Feature-space distances on constructed feature sets: FID and KID against torchmetrics, precision/recall,
density/coverage (identical, disjoint and collapsed sets)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from mnistgen.errors import MnistgenError
from mnistgen.metrics import (
    density_coverage,
    frechet_distance,
    gaussian_stats,
    kernel_inception_distance,
    precision_recall,
)


class Given(torch.nn.Module):
    """Identity 'feature extractor': hands torchmetrics features that are already computed."""

    num_features = 6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def features(n: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 6, generator=gen) * scale + shift).double()


def test_fid_matches_torchmetrics_and_is_zero_never_negative_on_itself():
    a, b = features(400, 0), features(300, 1, shift=0.7, scale=1.3)
    ours = frechet_distance(*gaussian_stats(a), *gaussian_stats(b))
    tm = FrechetInceptionDistance(feature=Given(), normalize=False).double()
    tm.update(a, real=True)
    tm.update(b, real=False)
    assert ours == pytest.approx(float(tm.compute()), rel=1e-6)
    assert ours > 6 * 0.7**2 * 0.9  # at least the squared mean shift, roughly
    same = frechet_distance(*gaussian_stats(a), *gaussian_stats(a))
    assert same >= 0.0 and same < 1e-9 and str(round(same, 3)) == "0.0"  # never "-0.0"


def test_kid_matches_torchmetrics_and_can_be_negative_for_close_sets():
    a, b = features(200, 0), features(200, 1, shift=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = KernelInceptionDistance(feature=Given(), subsets=1, subset_size=200).double()
    tm.update(a, real=True)
    tm.update(b, real=False)
    ours = kernel_inception_distance(a, b, subset_size=200, subsets=1)
    assert ours[0] == pytest.approx(float(tm.compute()[0]), rel=1e-6)
    close = kernel_inception_distance(features(2000, 2), features(2000, 3), subset_size=100, subsets=50, seed=0)
    assert abs(close[0]) < close[1]  # unbiased: centred on 0, so about half the subsets come out negative
    far = kernel_inception_distance(a, b, subset_size=100, subsets=50)
    assert far[0] > 5 * far[1] > 0
    with pytest.raises(MnistgenError, match="KID with subsets of 300"):
        kernel_inception_distance(a, b, subset_size=300)


def naive_precision_recall(real, fake, k):
    def radii(x):
        return torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist").sort(1).values[:, k]

    def inside(q, ref, r):
        return np.mean([any(float(torch.dist(a, b)) <= float(rb) for b, rb in zip(ref, r)) for a in q])

    return inside(fake, real, radii(real)), inside(real, fake, radii(fake))


def test_precision_recall_constructed_cases():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(300, 8, generator=gen)
    assert precision_recall(real, real, k=3) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0, k=3) == (0.0, 0.0)
    half = torch.cat([real[:150], real[150:] + 100.0])  # half the fakes on the data, half far away
    p, r = precision_recall(real, half, k=3)
    assert p == pytest.approx(0.5) and 0.5 <= r < 1.0
    fake, small = torch.randn(40, 8, generator=gen) * 1.5 + 0.3, real[:50]
    assert precision_recall(small, fake, k=3, chunk=7) == pytest.approx(naive_precision_recall(small, fake, 3))
    with pytest.raises(MnistgenError, match="equal D"):
        precision_recall(torch.zeros(10, 3), torch.zeros(10, 4))
    with pytest.raises(MnistgenError, match="more than 3"):
        precision_recall(torch.zeros(3, 2), torch.zeros(10, 2))


def test_density_and_coverage_constructed_cases():
    real = torch.randn(500, 8, generator=torch.Generator().manual_seed(1))
    density, coverage = density_coverage(real, real, k=5)
    assert (
        density == pytest.approx(6 / 5, abs=0.005) and coverage == 1.0
    )  # its own ball + the k balls it is a neighbour in (ties in float aside)
    assert density_coverage(real, real + 100.0, k=5) == (0.0, 0.0)  # disjoint
    fresh = torch.randn(500, 8, generator=torch.Generator().manual_seed(2))  # another draw of the same distribution
    density, coverage = density_coverage(real, fresh, k=5)
    assert 0.7 < density < 1.3 and 0.8 < coverage <= 1.0
    collapsed = real[:1].repeat(500, 1)  # every sample is the same real point: a collapsed generator
    precision, recall = precision_recall(real, collapsed, k=3)
    density, coverage = density_coverage(real, collapsed, k=5)
    assert precision == 1.0 and recall <= 0.01 and coverage <= 0.02 and density > 0
    assert density_coverage(real[:50], fresh[:40], k=5, chunk=7) == pytest.approx(
        density_coverage(real[:50], fresh[:40], k=5)
    )
