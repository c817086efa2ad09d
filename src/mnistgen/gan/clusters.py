"""Unsupervised pseudo-labels: k-means clusters of training images (no class labels are used).

A GAN conditioned on these clusters (``model.code = "clusters"``; Liu et al. 2020, "Diverse image
generation via self-conditioned GANs") learns one simpler conditional distribution per cluster
instead of one distribution over ten disconnected digit manifolds.

Images are flattened and projected on their top ``dims`` principal components (scikit-learn's
randomized PCA), then clustered by scikit-learn's k-means (k-means++ seeding, Lloyd iterations), both
seeded. What the GAN keeps of the fit is the assignment of every training image (stored in its
checkpoints) and the clusters' frequencies (a generator buffer, used to draw codes when sampling).
"""

from __future__ import annotations

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


def kmeans(features: torch.Tensor | np.ndarray, k: int, seed: int = 0, iters: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means++ then Lloyd iterations: (assignments (N,) int64, centres (k, F)). Deterministic for a seed."""
    f = np.asarray(features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else features, dtype=np.float32)
    _check_k(k, f.shape[0])
    fit = KMeans(n_clusters=k, n_init=1, max_iter=iters, random_state=seed).fit(f)
    return torch.from_numpy(fit.labels_.astype(np.int64)), torch.from_numpy(fit.cluster_centers_.astype(np.float32))


def cluster_images(images: torch.Tensor, k: int, seed: int = 0, dims: int = 50) -> torch.Tensor:
    """Cluster index (N,) of every image: k-means with K = ``k`` on ``dims`` principal components."""
    _check_k(k, len(images))  # before the PCA, which would fail less clearly
    return kmeans(pca_features(images, dims, seed), k, seed)[0]
