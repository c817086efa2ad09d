"""Unsupervised pseudo-labels: k-means clusters of training images (no class labels are used).

A GAN conditioned on these clusters (``model.code = "clusters"``; Liu et al. 2020, "Diverse image
generation via self-conditioned GANs") learns one simpler conditional distribution per cluster
instead of one distribution over ten disconnected digit manifolds.

Images are flattened, centred, projected on their top ``dims`` principal components, and clustered
by k-means (k-means++ seeding, Lloyd iterations). On full MNIST, 50 components and K = 50 take about
one second on a 2-core CPU.
"""

from __future__ import annotations

import torch

from mnistgen.errors import MnistgenError


def pca_features(images: torch.Tensor, dims: int = 50, seed: int = 0) -> torch.Tensor:
    """(N, ...) images -> (N, dims) scores on their top principal components."""
    x = images.detach().flatten(1).float().cpu()  # (N, D)
    dims = min(dims, x.shape[0], x.shape[1])
    x = x - x.mean(0)
    torch.manual_seed(seed)  # pca_lowrank is randomised (cluster_images keeps the caller's RNG stream untouched)
    _, _, v = torch.pca_lowrank(x, q=dims, center=False)  # v: (D, dims)
    return x @ v  # (N, dims)


def kmeans(features: torch.Tensor, k: int, seed: int = 0, iters: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means++ then Lloyd iterations: (assignments (N,) int64, centres (k, F)). Deterministic for a seed."""
    n = features.shape[0]
    if not 2 <= k <= n:
        raise MnistgenError(f"k-means needs 2 <= K <= number of images ({n}), got K = {k}")
    gen = torch.Generator().manual_seed(seed)
    f = features.float()
    centres = f[torch.randint(n, (1,), generator=gen)]  # (1, F)
    nearest = torch.cdist(f, centres).squeeze(1) ** 2  # (N,) squared distance to the nearest centre
    for _ in range(k - 1):
        pick = torch.multinomial(nearest / nearest.sum(), 1, generator=gen) if nearest.sum() > 0 else torch.randint(n, (1,), generator=gen)
        centres = torch.cat([centres, f[pick]])
        nearest = torch.minimum(nearest, torch.cdist(f, f[pick]).squeeze(1) ** 2)
    assign = torch.cdist(f, centres).argmin(1)
    for _ in range(iters):
        sums = torch.zeros_like(centres).index_add_(0, assign, f)
        counts = torch.bincount(assign, minlength=k).unsqueeze(1)  # (k, 1)
        centres = torch.where(counts > 0, sums / counts.clamp(min=1), centres)  # an emptied cluster keeps its centre
        new = torch.cdist(f, centres).argmin(1)
        if torch.equal(new, assign):
            break
        assign = new
    return assign, centres


def cluster_images(images: torch.Tensor, k: int, seed: int = 0, dims: int = 50) -> torch.Tensor:
    """Cluster index (N,) of every image: k-means with K = ``k`` on ``dims`` principal components."""
    with torch.random.fork_rng(devices=[]):
        feats = pca_features(images, dims, seed)
    return kmeans(feats, k, seed)[0]
