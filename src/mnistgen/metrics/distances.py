"""Distances between image sets in the evaluator's feature space, computed from precomputed features.

- FID (Heusel et al. 2017): ||mu_r - mu_g||^2 + tr(S_r + S_g - 2 (S_r S_g)^1/2), in float64; the trace of the
  matrix square root comes from the eigenvalues of S_r^1/2 S_g S_r^1/2 (symmetric, so stable). Our own code
  rather than torchmetrics' metric classes: those compute features through their own feature module and keep
  the reference only as private state, so the shipped, precomputed reference statistics cannot be handed to
  them; ``tests/metrics`` checks both numbers against torchmetrics' public API on the same features.
- KID (Binkowski et al. 2018): the unbiased MMD^2 with the kernel (x.y / d + 1)^3, mean and std over random
  subsets (seeded). Being unbiased, it can come out slightly negative when the two sets are close: that
  means "no detectable difference", not an error.
- Precision and recall with k-NN manifolds (Kynkaanniemi et al. 2019, k = 3): a sample is "inside" a set if
  it lies within the k-th-nearest-neighbour radius of some member of that set.
- Density and coverage (Naeem et al. 2020, k = 5): density counts how many real neighbourhoods contain each
  sample (1 for samples distributed like the data; robust to outliers, unlike precision), coverage is the
  fraction of real neighbourhoods that contain at least one sample (robust, unlike recall).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mnistgen.errors import MnistgenError


def _nonneg(x: float) -> float:
    return max(float(x), 0.0) + 0.0  # never -0.0 nor a rounding-error negative


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """FID between two Gaussians (means (F,), covariances (F, F))."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # S1^1/2
    middle = root1 @ s2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return _nonneg(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt)


def gaussian_stats(features: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


def _kernel_sum(a: torch.Tensor, b: torch.Tensor, d: int, off_diagonal: bool) -> float:
    """Sum of the cubic kernel (a.b / d + 1)^3 over all pairs (over i != j when ``a`` is ``b``). The products are
    float32 (a matrix product: fast), the cube and the sum float64 (where KID's small differences are made)."""
    k = (a @ b.T).double().div_(d).add_(1.0).pow_(3)  # (m, m)
    return float(k.sum() - k.diagonal().sum()) if off_diagonal else float(k.sum())


def kernel_inception_distance(
    real: Any, fake: Any, subset_size: int = 1000, subsets: int = 100, seed: int = 0
) -> tuple[float, float]:
    """(mean, std) over ``subsets`` random subsets of the unbiased MMD^2 with the cubic polynomial kernel."""
    r, f = (torch.as_tensor(np.asarray(a, np.float32)) for a in (real, fake))
    if min(len(r), len(f)) < subset_size:
        raise MnistgenError(
            f"KID with subsets of {subset_size} needs at least that many samples on each side, got {len(f)} "
            f"generated and {len(r)} reference; pass more samples or a smaller KID subset size"
        )
    rng, d, m = np.random.default_rng(seed), r.shape[1], subset_size
    values = []
    for _ in range(subsets):
        x, y = (
            f[torch.from_numpy(rng.choice(len(f), m, replace=False))],
            r[torch.from_numpy(rng.choice(len(r), m, replace=False))],
        )
        within = _kernel_sum(x, x, d, True) + _kernel_sum(y, y, d, True)
        values.append(within / (m * (m - 1)) - 2.0 * _kernel_sum(x, y, d, False) / m**2)
    return float(np.mean(values)), float(np.std(values))


def kth_nn_radii(x: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """Distance of each row of ``x`` to its k-th nearest *other* row (column 0 of topk is itself)."""
    return torch.cat(
        [
            torch.cdist(x[i : i + chunk], x).topk(k + 1, dim=1, largest=False).values[:, k]
            for i in range(0, len(x), chunk)
        ]
    )


def _inside(query: torch.Tensor, ref: torch.Tensor, radii: torch.Tensor, chunk: int) -> torch.Tensor:
    """Boolean (Q,): does each query row lie in some ball (ref_j, radii_j)?"""
    return torch.cat(
        [(torch.cdist(query[i : i + chunk], ref) <= radii.unsqueeze(0)).any(1) for i in range(0, len(query), chunk)]
    )


def _pair(real: Any, fake: Any, k: int, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    r, f = torch.as_tensor(real, dtype=torch.float32), torch.as_tensor(fake, dtype=torch.float32)
    if r.ndim != 2 or f.ndim != 2 or r.shape[1] != f.shape[1]:
        raise MnistgenError(
            f"{what} needs two (N, D) feature arrays of equal D, got {tuple(r.shape)} and {tuple(f.shape)}"
        )
    if min(len(r), len(f)) <= k:
        raise MnistgenError(f"{what} with k={k} needs more than {k} samples in each set")
    return r, f


def precision_recall(
    real: Any, fake: Any, k: int = 3, chunk: int = 2048, real_radii: torch.Tensor | None = None
) -> tuple[float, float]:
    """(precision, recall) of ``fake`` features against ``real`` features, both (N, D)."""
    r, f = _pair(real, fake, k, "precision/recall")
    radii = real_radii if real_radii is not None else kth_nn_radii(r, k, chunk)
    precision = _inside(f, r, radii, chunk).float().mean()
    recall = _inside(r, f, kth_nn_radii(f, k, chunk), chunk).float().mean()
    return float(precision), float(recall)


def density_coverage(
    real: Any, fake: Any, k: int = 5, chunk: int = 2048, real_radii: torch.Tensor | None = None
) -> tuple[float, float]:
    """(density, coverage) of ``fake`` features against the k-NN balls of ``real`` ones (Naeem et al. 2020)."""
    r, f = _pair(real, fake, k, "density/coverage")
    radii = real_radii if real_radii is not None else kth_nn_radii(r, k, chunk)
    count, nearest = 0, torch.full((len(r),), float("inf"))
    for i in range(0, len(f), chunk):
        d = torch.cdist(f[i : i + chunk], r)  # (c, R)
        count += int((d <= radii.unsqueeze(0)).sum())
        nearest = torch.minimum(nearest, d.min(0).values)
    return count / (k * len(f)), float((nearest <= radii).float().mean())
