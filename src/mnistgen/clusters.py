"""Unsupervised pseudo-labels: k-means clusters of training images (no class labels are used).

A generator conditioned on these clusters (the GAN's and the flow model's ``model.code = "clusters"``; Liu et al.
2020, "Diverse image generation via self-conditioned GANs") learns one simpler conditional distribution per cluster
instead of one distribution over ten disconnected digit manifolds.

Images are flattened and projected on their top ``dims`` principal components (scikit-learn's
randomized PCA), then clustered by scikit-learn's k-means (k-means++ seeding, Lloyd iterations), both
seeded. What a run keeps of the fit is the assignment of every training image (stored in its checkpoints) and the
clusters' frequencies (a buffer of its network, used to draw codes when sampling).

The study trains several models on the same images with the same seed; ``cluster_images`` remembers its last few
answers (keyed by a hash of the images and the arguments), so the fit runs once per process.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from mnistgen.errors import MnistgenError


def _check_k(k: int, n: int) -> None:
    if not 2 <= k <= n:
        raise MnistgenError(f"k-means needs 2 <= K <= number of images ({n}), got K = {k}")


def pca_features(images: torch.Tensor, dims: int = 50, seed: int = 0) -> np.ndarray:
    """(N, ...) images -> (N, dims) float32 scores on their top principal components."""
    x = images.detach().flatten(1).float().cpu().numpy()  # (N, D)
    dims = min(dims, x.shape[0], x.shape[1])
    return PCA(n_components=dims, svd_solver="randomized", random_state=seed).fit_transform(x).astype(np.float32)


def kmeans(
    features: torch.Tensor | np.ndarray, k: int, seed: int = 0, iters: int = 100
) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means++ then Lloyd iterations: (assignments (N,) int64, centres (k, F)). Deterministic for a seed."""
    f = np.asarray(
        features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else features, dtype=np.float32
    )
    _check_k(k, f.shape[0])
    fit = KMeans(n_clusters=k, n_init=1, max_iter=iters, random_state=seed).fit(f)
    return torch.from_numpy(fit.labels_.astype(np.int64)), torch.from_numpy(fit.cluster_centers_.astype(np.float32))


_MEMO: OrderedDict[tuple, torch.Tensor] = OrderedDict()  # (images' SHA-1, k, seed, dims) -> assignments
_MEMO_SIZE = 2


def cluster_images(images: torch.Tensor, k: int, seed: int = 0, dims: int = 50) -> torch.Tensor:
    """Cluster index (N,) of every image: k-means with K = ``k`` on ``dims`` principal components (memoised)."""
    _check_k(k, len(images))  # before the PCA, which would fail less clearly
    x = images.detach().float().cpu().contiguous()
    key = (hashlib.sha1(x.numpy().tobytes()).hexdigest(), tuple(x.shape), k, seed, dims)
    if key not in _MEMO:
        _MEMO[key] = kmeans(pca_features(x, dims, seed), k, seed)[0]
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return _MEMO[key].clone()
