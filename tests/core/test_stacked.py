"""Stacked MNIST: the dataset is deterministic and balanced, modes and KL are right on constructed histograms, every
family trains on three channels, and the benchmark's bad inputs are one-line errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from mnistgen import data, families, stacked
from mnistgen.cli import main
from mnistgen.config import replace_values
from mnistgen.errors import MnistgenError
from mnistgen.images import load_splits
from mnistgen.metrics import load_evaluator, mode_scores, stacked_quick_scores
from mnistgen.sampling import write_npz


def test_the_index_is_seeded_uniform_and_the_published_one_for_full_mnist():
    a, b = stacked.split_index("train", 60_000), stacked.split_index("train", 60_000)
    assert a.shape == (128_000, 3) and a.dtype == np.int32 and np.array_equal(a, b)
    assert stacked.index_sha256(a) == stacked.published_sha256("train", 60_000)
    test = stacked.split_index("test", 10_000)
    assert test.shape == (26_000, 3) and stacked.index_sha256(test) == stacked.published_sha256("test", 10_000)
    assert not np.array_equal(a[:26_000], test)  # the splits draw from other streams
    per_channel = [np.bincount(a[:, c] % 10, minlength=10) / len(a) for c in range(3)]
    assert all(np.abs(p - 0.1).max() < 0.01 for p in per_channel)  # every digit position about evenly used
    assert stacked.published_sha256("train", 1_000) is None


def test_a_stacked_image_is_three_digits_and_its_label_names_them(tiny_mnist_dir):
    ds = data.load_dataset("stacked-mnist", tiny_mnist_dir)
    digits = data.load_dataset("mnist", tiny_mnist_dir)
    assert ds.train_images.shape == (128_000, 3, 28, 28) and ds.test_images.shape == (26_000, 3, 28, 28)
    index = stacked.split_index("train", len(digits.train_images))
    for i in (0, 1, 12_345):
        for c in range(3):
            assert np.array_equal(ds.train_images[i, c], digits.train_images[index[i, c]])
        a, b, c = digits.train_labels[index[i]]
        assert ds.train_labels[i] == 100 * a + 10 * b + c
    counts = np.bincount(ds.train_labels, minlength=1000) / len(ds.train_labels)
    p = np.bincount(digits.train_labels, minlength=10) / len(digits.train_labels)
    expected = np.einsum("a,b,c->abc", p, p, p).ravel()  # independent, uniformly drawn digits: a product of theirs
    assert float((counts * np.log(counts / expected)).sum()) < 0.01
    again = data.load_dataset("stacked-mnist", tiny_mnist_dir)  # from the cached index: the same images
    assert np.array_equal(again.train_images[:100], ds.train_images[:100])
    assert ds.checksums["train-index.sha256"] == stacked.index_sha256(index)
    splits = load_splits(replace_values(families.get("gan").configure("tiny"), {"data.dataset": "stacked-mnist"}).data)
    assert splits.train.shape[1:] == (3, 28, 28) and splits.train.dtype == torch.float32


def test_modes_and_kl_on_constructed_histograms():
    one = np.zeros(1000, int)
    one[7] = 500
    assert stacked.modes_covered(one) == 1 and stacked.kl_from_uniform(one) == pytest.approx(math.log(1000))
    uniform = np.full(1000, 26)
    assert stacked.modes_covered(uniform) == 1000 and stacked.kl_from_uniform(uniform) == pytest.approx(0.0, abs=1e-12)
    half = np.r_[np.full(500, 10), np.zeros(500, int)]
    assert stacked.modes_covered(half) == 500 and stacked.kl_from_uniform(half) == pytest.approx(math.log(2))
    skew = np.r_[np.full(999, 1), [1001]]  # one mode holds half the samples
    p = np.r_[np.full(999, 1 / 2000), [1001 / 2000]]
    assert stacked.kl_from_uniform(skew) == pytest.approx(float((p * np.log(p * 1000)).sum()))
    assert stacked.mode_of(np.array([[1, 2, 3], [9, 0, 0]])).tolist() == [123, 900]
    with pytest.raises(MnistgenError, match="empty histogram"):
        stacked.kl_from_uniform(np.zeros(1000))


def test_scoring_real_stacked_digits_finds_their_modes(tiny_mnist_dir):
    ds, ev = data.load_dataset("stacked-mnist", tiny_mnist_dir), load_evaluator("stacked-mnist")
    s = mode_scores(ds.test_images[:2000], ev, kid_subset_size=500)
    truth = np.bincount(ds.test_labels[:2000], minlength=1000)
    assert abs(s["modes"] - stacked.modes_covered(truth)) <= 30  # the classifier reads nearly every triple right
    assert s["kl"] == pytest.approx(stacked.kl_from_uniform(truth), abs=0.1) and sum(s["mode_counts"]) == 2000
    assert s["is_mean"] > 8.0 and len(s["channel_fid"]) == 3 and max(s["channel_unsure"]) < 0.05
    quick = stacked_quick_scores(ds.test_images[:2000], ev)
    assert quick["modes"] == s["modes"] and quick["class_kl"] == pytest.approx(s["kl"])
    with pytest.raises(MnistgenError, match=r"stacked images have 3 channels.*one-channel file"):
        mode_scores(ds.test_images[:2000, 0], ev)


@pytest.mark.parametrize("name", ["gan", "vae", "flow"])
def test_every_family_trains_on_three_channels(name, tiny_mnist_dir, tmp_path):
    family = families.get(name)
    cfg = replace_values(family.configure("tiny"), {"data.dataset": "stacked-mnist", "runtime.device": "cpu"})
    run = family.train(cfg, tmp_path / "run", data_dir=tiny_mnist_dir)
    assert run.config.model.image_channels == 3
    images = families.open_trained(tmp_path / "run").sample(20, seed=0)
    assert images.shape == (20, 3, 28, 28) and 0.0 <= float(images.min()) <= float(images.max()) <= 1.0


def test_the_benchmarks_bad_inputs_are_one_line_errors(tiny_mnist_dir, tmp_path, capsys):
    gan, vae, flow = (families.get(n) for n in ("gan", "vae", "flow"))
    on_stacked = {"data.dataset": "stacked-mnist"}
    for family, preset, words in (
        (gan, "seed-fast", "the original's networks (the seed DCGAN, the MLP generator) take one-channel images"),
        (gan, "weak", "the original's networks (the seed DCGAN, the MLP generator) take one-channel images, not 3"),
        (vae, "seed", "the original's seed networks (an LSTM over the rows) take one-channel images"),
    ):
        with pytest.raises(MnistgenError, match="^" + re.escape(words)):
            family.train(replace_values(family.configure(preset), on_stacked), tmp_path / preset)
    with pytest.raises(MnistgenError, match="a flow model conditioned on labels takes one-channel images"):
        flow.train(replace_values(flow.configure("tiny", "on"), on_stacked), tmp_path / "flow-labels")
    with pytest.raises(MnistgenError, match="model.pack > 1 needs a discriminator without a code"):
        gan.configure("fast", pack=2)
    with pytest.raises(MnistgenError, match="train.batch_size 30 must be a multiple of model.pack 4"):
        gan.train(replace_values(gan.configure("tiny", pack=4), {"train.batch_size": 30}), tmp_path / "odd")
    flat = tmp_path / "digits.npz"
    write_npz(flat, torch.rand(100, 1, 28, 28))
    capsys.readouterr()
    assert main(["evaluate", str(flat), "--dataset", "stacked-mnist", "--kid-subset-size", "50"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stacked images have 3 channels") and err.count("\n") == 1
    cfg = replace_values(flow.configure("tiny"), on_stacked | {"train.steps": 2, "model.classes": 5, "data.limit": 100})
    flow.train(replace_values(cfg, {"model.code": "clusters"}), tmp_path / "clusters", data_dir=tiny_mnist_dir)
    assert main(["sample", str(tmp_path / "clusters"), "--out", str(tmp_path / "x.npz"), "--label", "3"]) == 2
    assert "conditioned on k-means clusters, not on labels: it takes no --label" in capsys.readouterr().err


def test_evaluate_scores_a_stacked_file_by_its_modes(tiny_mnist_dir, tmp_path, capsys):
    ds = data.load_dataset("stacked-mnist", tiny_mnist_dir)
    path = tmp_path / "real.npz"
    write_npz(path, torch.from_numpy(ds.test_images[:600]).float() / 255)
    assert np.load(path)["images"].shape == (600, 3, 28, 28)  # three channels kept
    assert main(["evaluate", str(path), "--kid-subset-size", "100"]) == 0  # told apart by its three channels
    out = capsys.readouterr().out
    assert "modes" in out and "on each channel" in out and "KL" in out
