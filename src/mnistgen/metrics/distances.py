"""Distribution distances in the evaluator's feature space, and the full evaluation of an image set.

- FID and KID: torchmetrics' ``FrechetInceptionDistance`` / ``KernelInceptionDistance`` with the
  evaluator's feature layer (:class:`~mnistgen.metrics.evaluator.FeatureNet`) as custom feature
  extractor. With a custom module torchmetrics passes images through untouched (no uint8
  conversion), so we hand it float images in [0, 1]. The real side (the test split) comes from the
  features cached beside the evaluator, loaded straight into the metrics' states.
- Precision and recall with k-NN manifolds (Kynkaanniemi et al. 2019, k = 3): a sample is "inside"
  a set if it lies within the k-th-nearest-neighbour radius of some member of that set.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from mnistgen.errors import MnistgenError
from mnistgen.images import to_unit
from mnistgen.metrics.evaluator import Evaluator, get_evaluator
from mnistgen.metrics.scores import prob_scores


# ----------------------------------------------------------------------------- precision / recall


def _kth_nn_radii(x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance of each row of ``x`` to its k-th nearest *other* row (column 0 of topk is itself)."""
    radii = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i : i + chunk], x)  # (c, N)
        radii.append(d.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(radii)


def _inside(query: torch.Tensor, ref: torch.Tensor, radii: torch.Tensor, chunk: int) -> torch.Tensor:
    """Boolean (Q,): does each query row lie in some ball (ref_j, radii_j)?"""
    out = []
    for i in range(0, len(query), chunk):
        d = torch.cdist(query[i : i + chunk], ref)  # (c, R)
        out.append((d <= radii.unsqueeze(0)).any(1))
    return torch.cat(out)


def precision_recall(real: Any, fake: Any, k: int = 3, chunk: int = 2048) -> tuple[float, float]:
    """(precision, recall) of ``fake`` features against ``real`` features, both (N, D)."""
    r = torch.as_tensor(real, dtype=torch.float32)
    f = torch.as_tensor(fake, dtype=torch.float32)
    if r.ndim != 2 or f.ndim != 2 or r.shape[1] != f.shape[1]:
        raise MnistgenError(f"precision/recall needs two (N, D) feature arrays of equal D, got {tuple(r.shape)} and {tuple(f.shape)}")
    if min(len(r), len(f)) <= k:
        raise MnistgenError(f"precision/recall with k={k} needs more than {k} samples in each set")
    precision = _inside(f, r, _kth_nn_radii(r, k, chunk), chunk).float().mean()
    recall = _inside(r, f, _kth_nn_radii(f, k, chunk), chunk).float().mean()
    return float(precision), float(recall)


# ----------------------------------------------------------------------------- FID / KID


class _Given(torch.nn.Module):
    """Identity 'feature extractor' for torchmetrics when the features are already computed."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@torch.no_grad()
def fid_kid(
    images: torch.Tensor, evaluator: Evaluator, kid_subset_size: int = 1000, kid_subsets: int = 100, seed: int = 0, batch: int = 1000,
    features: torch.Tensor | None = None,
) -> dict[str, float]:
    """FID and KID (mean, std over subsets) of float images in [0, 1] against the test split.

    ``features``: the images' evaluator features if already computed (skips two passes of the network).
    """
    real = evaluator.test_features().double()
    n_min = min(len(images), len(real))
    if n_min < kid_subset_size:
        raise MnistgenError(
            f"KID with subsets of {kid_subset_size} needs at least that many samples on each side, got {len(images)} "
            f"generated and {len(real)} test images; pass more samples or a smaller KID subset size"
        )
    net = evaluator.feature_net() if features is None else _Given(features.shape[1])
    inputs = images if features is None else features
    fid = FrechetInceptionDistance(feature=net, reset_real_features=False).eval()  # .eval(): BatchNorm must not update
    with warnings.catch_warnings():  # "will save all extracted features in buffer": intended, 10k x 128 floats
        warnings.filterwarnings("ignore", message=".*save all extracted features.*")
        kid = KernelInceptionDistance(feature=net, subsets=kid_subsets, subset_size=kid_subset_size, reset_real_features=False).eval()
    fid.to(evaluator.device)
    kid.to(evaluator.device)
    fid.real_features_sum = real.sum(0).to(evaluator.device)
    fid.real_features_cov_sum = (real.T @ real).to(evaluator.device)
    fid.real_features_num_samples = torch.tensor(len(real), device=evaluator.device)
    kid.real_features.append(real.float().to(evaluator.device))
    for i in range(0, len(inputs), batch):
        x = inputs[i : i + batch].to(evaluator.device)
        fid.update(x, real=False)
        kid.update(x, real=False)
    with torch.random.fork_rng(devices=[]):  # KID draws its subsets from the global RNG
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()
    return {"fid": float(fid.compute()), "kid_mean": float(kid_mean), "kid_std": float(kid_std)}


# ----------------------------------------------------------------------------- full evaluation


def _subset(x: torch.Tensor, n: int | None, seed: int, what: str) -> torch.Tensor:
    if n is None or n == len(x):
        return x
    if n < 1 or n > len(x):
        raise MnistgenError(f"asked to score n={n} {what}, but only {len(x)} are available")
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx.sort().values]


def score_images(images: torch.Tensor, evaluator: Evaluator, seed: int = 0, kid_subset_size: int = 1000) -> dict[str, Any]:
    """Every metric of float images (N, 1, 28, 28) in [0, 1] with a given evaluator."""
    if kid_subset_size < 2:
        raise MnistgenError(f"the KID subset size must be at least 2, got {kid_subset_size}")
    if len(images) < 10:
        raise MnistgenError(f"need at least 10 images to score (10 Inception-Score splits), got {len(images)}")
    if len(images) < kid_subset_size:
        raise MnistgenError(
            f"need at least {kid_subset_size} images for KID subsets of {kid_subset_size}, got {len(images)}; "
            "draw more samples or lower the KID subset size"
        )
    probs, feats = evaluator.probs_and_features(images)
    scores = prob_scores(probs)
    dist = fid_kid(images, evaluator, kid_subset_size=kid_subset_size, seed=seed, features=feats)
    precision, recall = precision_recall(evaluator.test_features(), feats)
    return {
        "is_mean": scores["is"],
        "is_std": scores["is_std"],
        "n": int(len(images)),
        "fid": dist["fid"],
        "kid_mean": dist["kid_mean"],
        "kid_std": dist["kid_std"],
        "precision": precision,
        "recall": recall,
        "modes": scores["modes"],
        "class_kl": scores["class_kl"],
        "max_prob": scores["max_prob"],
        "class_histogram": scores["class_histogram"],
    }


def evaluate_images(
    images: Any,
    dataset: str = "mnist",
    data_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    n: int | None = None,
    seed: int = 0,
    kid_subset_size: int = 1000,
    evaluator: Evaluator | None = None,
) -> dict[str, Any]:
    """Score generated ``images`` (uint8, [0, 1] or [-1, 1]) against ``dataset``'s test split.

    ``n`` scores a seeded random subset of that size (default: all images).
    """
    x = _subset(to_unit(images), n, seed, "images")
    ev = evaluator or get_evaluator(dataset, data_dir=data_dir, device=device)
    return score_images(x, ev, seed=seed, kid_subset_size=kid_subset_size)


def evaluate_real(
    dataset: str = "mnist",
    n: int = 10000,
    data_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
    kid_subset_size: int = 1000,
    evaluator: Evaluator | None = None,
) -> dict[str, Any]:
    """The reference row: ``n`` real training images the evaluator never saw, scored like samples.

    ``n`` is capped at the number of held-out images (10,000 for full MNIST); the result's ``n`` says.
    """
    ev = evaluator or get_evaluator(dataset, data_dir=data_dir, device=device)
    held = ev.held_out_images()
    x = _subset(to_unit(held), min(n, len(held)), seed, "held-out real images")
    return score_images(x, ev, seed=seed, kid_subset_size=min(kid_subset_size, len(x)))


def real_inception_score(dataset: str = "mnist", n: int = 500, seed: int = 0, evaluator: Evaluator | None = None, **kw: Any) -> tuple[float, float]:
    """IS of ``n`` held-out real images (the original study's 9.50 used 60,000)."""
    ev = evaluator or get_evaluator(dataset, **kw)
    held = to_unit(ev.held_out_images())
    probs = ev.probs(_subset(held, min(n, len(held)), seed, "held-out real images"))
    s = prob_scores(probs)
    return s["is"], s["is_std"]

