"""k-means codes of training images (mnistgen.clusters): deterministic, separating well separated points, leaving
the global RNG alone, fitted once per set of images and arguments."""

from __future__ import annotations

import pytest
import torch

from mnistgen.clusters import cluster_images, kmeans
from mnistgen.errors import MnistgenError


def blobs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three tight, well separated blobs in R^5 of 40, 25 and 15 points, and their true labels."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0] * 5, [10.0] + [0.0] * 4, [0.0, 10.0, 0.0, 0.0, 0.0]])
    labels = torch.cat([torch.full((m,), i) for i, m in enumerate((40, 25, 15))])
    return centres[labels] + 0.3 * torch.randn(len(labels), 5, generator=gen), labels


def test_kmeans_recovers_separated_blobs_deterministically():
    x, labels = blobs()
    assign, centres = kmeans(x, 3, seed=5)
    assert centres.shape == (3, 5)
    mapping = {int(a): int(lab) for a, lab in zip(assign, labels)}  # each cluster maps to exactly one blob ...
    assert len(set(mapping.values())) == 3 and all(mapping[int(a)] == int(lab) for a, lab in zip(assign, labels))
    assert sorted(torch.bincount(assign).tolist()) == [15, 25, 40]  # ... and holds all of it
    assert torch.equal(assign, kmeans(x, 3, seed=5)[0])
    with pytest.raises(MnistgenError, match="K"):
        kmeans(x, 1)
    with pytest.raises(MnistgenError, match="K"):
        kmeans(x, 81)


def test_cluster_images_leaves_the_global_rng_alone():
    x = torch.rand(60, 1, 28, 28)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    a = cluster_images(x, 4, seed=1)
    assert torch.equal(torch.rand(3), expected)
    assert a.shape == (60,) and set(a.tolist()) <= {0, 1, 2, 3} and torch.equal(a, cluster_images(x, 4, seed=1))


def test_cluster_images_fits_once_per_images_and_arguments(monkeypatch):
    from mnistgen import clusters as C

    calls = []
    real_kmeans = C.kmeans
    monkeypatch.setattr(C, "kmeans", lambda *a, **k: calls.append(1) or real_kmeans(*a, **k))
    monkeypatch.setattr(C, "_MEMO", type(C._MEMO)())
    x = torch.rand(60, 1, 28, 28)
    a = C.cluster_images(x, 4, seed=1)
    a[:] = 0  # the caller's copy: the memo keeps its own
    b = C.cluster_images(x.clone(), 4, seed=1)
    assert len(calls) == 1 and not torch.equal(a, b)
    y = x.clone()
    y[0, 0, 0, 0] += 0.5
    C.cluster_images(y, 4, seed=1)  # other images
    C.cluster_images(x, 4, seed=2)  # another seed
    assert len(calls) == 3 and len(C._MEMO) == C._MEMO_SIZE  # bounded: the oldest entry went
