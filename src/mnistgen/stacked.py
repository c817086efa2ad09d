"""Stacked MNIST: three MNIST digits as the three channels of one 28x28 image, so 10^3 = 1,000 modes (Srivastava et
al. 2017, VEEGAN; Lin et al. 2018, PacGAN), the field's benchmark of mode collapse.

Every image's three digits are drawn independently and uniformly, with replacement, from a pool of MNIST digits by a
fixed seed: the training set (128,000 images, PacGAN's size) from MNIST's 60,000 training digits, the held-out set
(26,000 images, PacGAN's number of samples) from its 10,000 test digits -- unlike PacGAN, which drew from both, so
that no held-out image shares a digit with the training set. An image's label is its triple as one number, 100 x
(red digit) + 10 x (green) + (blue). The sets are defined by the index triples into the digits, whose SHA-256 is
recorded: built from the canonical MNIST files they must match the published checksums below.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from mnistgen.errors import MnistgenError

NAME = "stacked-mnist"
CHANNELS = 3
MODES = 10**CHANNELS
TRAIN_SIZE, TEST_SIZE, SEED = 128_000, 26_000, 2018
PLACE = np.array([100, 10, 1])  # a triple (a, b, c) is the mode 100 a + 10 b + c


@dataclass(frozen=True)
class Stacked:
    """One split: images (N, 3, 28, 28) uint8, labels (N,) in 0..999, and the index triples into the digits."""

    images: np.ndarray
    labels: np.ndarray
    index: np.ndarray  # (N, 3) int32

    @property
    def sha256(self) -> str:
        return index_sha256(self.index)


def index_sha256(index: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(index, dtype="<i4").tobytes()).hexdigest()


def draw_index(pool: int, n: int, seed: int) -> np.ndarray:
    """``n`` triples of independent uniform draws from ``range(pool)`` (N, 3), by ``seed``."""
    if pool < 1:
        raise MnistgenError("stacking needs at least one digit")
    return np.random.default_rng(seed).integers(0, pool, size=(n, CHANNELS)).astype(np.int32)


def stack(digits: np.ndarray, labels: np.ndarray, index: np.ndarray) -> Stacked:
    """The images and labels of ``index`` (N, 3) into ``digits`` (M, 28, 28) uint8 with ``labels`` (M,) in 0..9."""
    if int(labels.max(initial=0)) > 9 or int(labels.min(initial=0)) < 0:
        raise MnistgenError("stacking needs digit labels in 0..9")
    return Stacked(digits[index], (labels[index] * PLACE).sum(1).astype(np.int64), index)


# SHA-256 of the index triples drawn from full MNIST's pools (60,000 training and 10,000 test digits): numpy's
# generator must draw these; another draw is refused rather than silently giving another dataset.
PUBLISHED = {
    ("train", 60_000): "58356268553d5ab5e1e2714b7c5bf657309533ee0535b43196bed5899505ad86",
    ("test", 10_000): "cdb5de1d9397851c31fd92eee5c356cab35dfef977d8324cba4f5eb57352917b",
}


def published_sha256(split: str, pool: int) -> str | None:
    """The recorded checksum of ``split``'s index into a pool of ``pool`` digits (None: not full MNIST's pool)."""
    return PUBLISHED.get((split, pool))


def split_index(split: str, pool: int) -> np.ndarray:
    """The index triples of ``split`` ("train" or "test") into a pool of ``pool`` digits."""
    size, salt = (TRAIN_SIZE, 0) if split == "train" else (TEST_SIZE, 1)
    return draw_index(pool, size, SEED * 10 + salt)


def mode_of(channel_labels: np.ndarray) -> np.ndarray:
    """(N, 3) digit labels -> (N,) modes in 0..999."""
    return (np.asarray(channel_labels) * PLACE).sum(1)


def mode_histogram(modes: np.ndarray) -> np.ndarray:
    """Counts of each of the 1,000 modes among ``modes`` (N,)."""
    return np.bincount(np.asarray(modes, dtype=np.int64), minlength=MODES)


def modes_covered(counts: np.ndarray) -> int:
    """How many modes hold at least one sample."""
    return int((np.asarray(counts) > 0).sum())


def kl_from_uniform(counts: np.ndarray) -> float:
    """KL(p || uniform) in nats of the histogram ``counts``: 0 for a uniform one, log 1000 for a single mode."""
    c = np.asarray(counts, dtype=np.float64)
    if c.sum() <= 0:
        raise MnistgenError("an empty histogram has no KL divergence")
    p = c[c > 0] / c.sum()
    return float((p * np.log(p * len(c))).sum())
