"""Metrics on constructed cases: IS, class coverage, the evaluator cache, FID/KID, precision/recall."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
import torch

from mnistgen.errors import MnistgenError
from mnistgen.metrics import (
    class_histogram,
    class_kl,
    get_evaluator,
    inception_score,
    max_prob,
    mode_count,
    quick_scores,
)
from mnistgen.images import to_unit
from mnistgen.metrics import evaluator as evaluator_mod
from mnistgen.metrics.distances import evaluate_images, evaluate_real, fid_kid, precision_recall
from mnistgen.rundir import read_json
from mnistgen.classifier import PRESETS


def one_hot(labels, c=10, conf=1.0):
    p = np.full((len(labels), c), (1.0 - conf) / (c - 1))
    p[np.arange(len(labels)), labels] = conf
    return p


def tiny_recipe(epochs=1):
    base = PRESETS["tiny"]
    return dataclasses.replace(base, train=dataclasses.replace(base.train, epochs=epochs))


@pytest.fixture(scope="module")
def tiny_evaluator(tiny_mnist_dir, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MNISTGEN_CACHE_DIR", str(tmp_path_factory.mktemp("evcache")))
        mp.setenv("MNISTGEN_NO_PROGRESS", "1")
        return get_evaluator("mnist", data_dir=tiny_mnist_dir, config=tiny_recipe(epochs=3))


# ----------------------------------------------------------------------------- probability scores


def test_inception_score_extremes():
    balanced = one_hot(np.arange(1000) % 10)
    mean, std = inception_score(balanced, splits=10)
    assert mean == pytest.approx(10.0, rel=1e-6) and std == pytest.approx(0.0, abs=1e-6)
    single = one_hot(np.zeros(1000, int))
    assert inception_score(single)[0] == pytest.approx(1.0, abs=1e-6)
    uniform = np.full((500, 10), 0.1)  # unconfident: also 1
    assert inception_score(uniform)[0] == pytest.approx(1.0, abs=1e-6)
    two = one_hot(np.arange(1000) % 2)  # two balanced classes
    assert inception_score(two)[0] == pytest.approx(2.0, rel=1e-6)


def test_inception_score_std_reflects_split_differences():
    labels = np.concatenate([np.arange(500) % 10, np.zeros(500, int)])  # first half balanced, second collapsed
    mean, std = inception_score(one_hot(labels), splits=2)
    assert mean == pytest.approx(5.5, rel=1e-6) and std == pytest.approx(4.5, rel=1e-6)


def test_coverage_on_crafted_histograms():
    # 5 classes equally, class 5 at 0.5 % (below the 1 % threshold), the rest absent
    labels = np.concatenate([np.repeat(np.arange(5), 199), np.full(5, 5)])
    p = one_hot(labels, conf=0.9)
    hist = class_histogram(p)
    assert hist.sum() == pytest.approx(1.0) and hist[5] == pytest.approx(0.005)
    assert mode_count(p) == 5
    assert mode_count(p, threshold=0.005) == 6
    expected_kl = sum(h * math.log(h * 10) for h in hist if h > 0)
    assert class_kl(p) == pytest.approx(expected_kl)
    assert class_kl(one_hot(np.arange(100) % 10)) == pytest.approx(0.0, abs=1e-12)
    assert class_kl(one_hot(np.zeros(100, int))) == pytest.approx(math.log(10))
    assert max_prob(p) == pytest.approx(0.9)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.full((4, 10), np.nan), "NaN"),
        (np.ones((4,)), "shaped"),
        (np.ones((4, 10)), "summing to 1"),
    ],
)
def test_probability_errors(bad, match):
    with pytest.raises(MnistgenError, match=match):
        inception_score(bad, splits=2)


def test_inception_score_needs_enough_samples():
    with pytest.raises(MnistgenError, match="at least 10 samples"):
        inception_score(one_hot(np.arange(5)), splits=10)


# ----------------------------------------------------------------------------- the evaluator


def test_evaluator_outputs_and_ranges_agree(tiny_evaluator, tiny_mnist_dir):
    ev = tiny_evaluator
    images = ev.dataset.test_images[:120]  # uint8
    unit = images.astype(np.float32) / 255.0
    pm1 = unit * 2 - 1
    p8, pu, pp = ev.probs(images), ev.probs(unit), ev.probs(torch.from_numpy(pm1))
    assert p8.shape == (120, 10) and torch.allclose(p8.sum(1), torch.ones(120), atol=1e-5)
    assert torch.allclose(p8, pu, atol=1e-5) and torch.allclose(p8, pp, atol=1e-5)
    assert ev.features(images).shape == (120, ev.num_features)
    s8, su, sp = (quick_scores(x, ev) for x in (images, unit, pm1))
    assert set(s8) == {"is", "is_std", "modes", "class_kl", "max_prob"}
    for key in s8:
        assert s8[key] == pytest.approx(su[key], rel=1e-4, abs=1e-6) == pytest.approx(sp[key], rel=1e-4, abs=1e-6)
    assert 0.5 < ev.accuracy <= 1.0
    assert s8["modes"] >= 8  # real test digits cover (nearly) every class


def test_evaluator_rejects_bad_images(tiny_evaluator):
    with pytest.raises(MnistgenError, match="shaped"):
        tiny_evaluator.probs(np.zeros((3, 32, 32), np.uint8))
    bad = np.zeros((3, 28, 28), np.float32)
    bad[0, 0, 0] = np.nan
    with pytest.raises(MnistgenError, match="NaN"):
        tiny_evaluator.probs(bad)


def test_evaluator_cache_is_reused(tiny_mnist_dir, monkeypatch, capsys):
    recipe = tiny_recipe()
    with pytest.raises(MnistgenError, match="no trained evaluator"):
        get_evaluator("mnist", data_dir=tiny_mnist_dir, config=recipe, train_if_missing=False)
    first = get_evaluator("mnist", data_dir=tiny_mnist_dir, config=recipe)
    assert "training the mnist evaluator" in capsys.readouterr().err
    assert (first.directory / evaluator_mod.INFO).is_file()

    def no_training(*args, **kwargs):
        raise AssertionError("the cached evaluator was retrained")

    monkeypatch.setattr(evaluator_mod, "build_evaluator", no_training)
    started = time.time()
    second = get_evaluator("mnist", data_dir=tiny_mnist_dir, config=recipe, train_if_missing=False)
    assert time.time() - started < 1.0
    assert second.directory == first.directory and second.accuracy == first.accuracy
    x = first.dataset.test_images[:50]
    assert torch.equal(first.probs(x), second.probs(x))
    # a different recipe is a different evaluator
    other = dataclasses.replace(recipe, model=dataclasses.replace(recipe.model, num_features=24))
    assert evaluator_mod.evaluator_dir(first.dataset, other) != first.directory


def test_evaluator_training_leaves_caller_rng_alone(tiny_mnist_dir):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    get_evaluator("mnist", data_dir=tiny_mnist_dir, config=tiny_recipe())
    assert torch.equal(torch.rand(3), expected)


# ----------------------------------------------------------------------------- distances


def naive_precision_recall(real, fake, k):
    def radii(x):
        d = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
        return d.sort(1).values[:, k]

    def inside(q, ref, r):
        return np.mean([any(float(torch.dist(a, b)) <= float(rb) for b, rb in zip(ref, r)) for a in q])

    return inside(fake, real, radii(real)), inside(real, fake, radii(fake))


def test_precision_recall_constructed_cases():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(300, 8, generator=gen)
    assert precision_recall(real, real, k=3) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0, k=3) == (0.0, 0.0)
    half = torch.cat([real[:150], real[150:] + 100.0])  # half the fakes on the data, half far away
    p, r = precision_recall(real, half, k=3)
    assert p == pytest.approx(0.5)
    assert 0.5 <= r < 1.0
    fake = torch.randn(40, 8, generator=gen) * 1.5 + 0.3
    small = real[:50]
    expected = naive_precision_recall(small, fake, 3)
    assert precision_recall(small, fake, k=3, chunk=7) == pytest.approx(expected)


def test_precision_recall_errors():
    with pytest.raises(MnistgenError, match="equal D"):
        precision_recall(torch.zeros(10, 3), torch.zeros(10, 4))
    with pytest.raises(MnistgenError, match="more than 3"):
        precision_recall(torch.zeros(3, 2), torch.zeros(10, 2))


def shifted(images_uint8, pixels):
    return np.roll(images_uint8, pixels, axis=2)


def test_fid_zero_on_itself_and_grows_with_shift(tiny_evaluator):
    ev = tiny_evaluator
    test = to_unit(ev.dataset.test_images)
    same = fid_kid(test, ev, kid_subset_size=50)
    assert abs(same["fid"]) < 1e-2
    fids = [fid_kid(to_unit(shifted(ev.dataset.test_images, s)), ev, kid_subset_size=50)["fid"] for s in (1, 3, 6)]
    assert same["fid"] < fids[0] < fids[1] < fids[2]
    assert fid_kid(test, ev, kid_subset_size=50) == same  # deterministic, and BatchNorm statistics untouched
    x = to_unit(shifted(ev.dataset.test_images, 3))
    given = fid_kid(x, ev, kid_subset_size=50, features=ev.features(x))  # precomputed features: same numbers
    assert given == pytest.approx(fid_kid(x, ev, kid_subset_size=50), rel=1e-5, abs=1e-7)


def test_kid_unbiased_for_same_distribution(tiny_evaluator):
    ev = tiny_evaluator
    other_half = to_unit(ev.dataset.train_images[:200])  # different real digits, same distribution as the test split
    kid = fid_kid(other_half, ev, kid_subset_size=100, seed=1)
    assert abs(kid["kid_mean"]) < kid["kid_std"]
    far = fid_kid(to_unit(shifted(ev.dataset.train_images[:200], 6)), ev, kid_subset_size=100, seed=1)
    assert far["kid_mean"] > 5 * far["kid_std"] > 0


def test_evaluate_images_keys_ranges_and_subsets(tiny_evaluator):
    ev = tiny_evaluator
    x8 = ev.dataset.train_images[:120]
    r8 = evaluate_images(x8, kid_subset_size=50, evaluator=ev)
    assert list(r8) == ["is_mean", "is_std", "n", "fid", "kid_mean", "kid_std", "precision", "recall",
                        "modes", "class_kl", "max_prob", "class_histogram"]
    assert r8["n"] == 120 and len(r8["class_histogram"]) == 10 and 0 <= r8["precision"] <= 1
    unit = x8.astype(np.float32) / 255.0
    for other in (unit, torch.from_numpy(unit * 2 - 1)):
        r = evaluate_images(other, kid_subset_size=50, evaluator=ev)
        for key in r8:
            assert r[key] == pytest.approx(r8[key], rel=1e-3, abs=1e-5), key
    sub = evaluate_images(x8, n=60, kid_subset_size=50, evaluator=ev)
    assert sub["n"] == 60 and sub == evaluate_images(x8, n=60, kid_subset_size=50, evaluator=ev)


def test_evaluate_real_uses_held_out_images(tiny_evaluator):
    ev = tiny_evaluator
    held = ev.held_out_images()
    assert len(held) == 200  # the tiny recipe's validation split
    result = evaluate_real(n=10000, kid_subset_size=50, evaluator=ev)
    assert result["n"] == 200 and result["modes"] >= 8


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        (np.zeros((100, 32, 32), np.uint8), {}, "shaped"),
        (np.full((100, 28, 28), np.nan, np.float32), {}, "NaN"),
        (np.zeros((40, 28, 28), np.uint8), {}, "at least 50 images for KID"),
        (np.zeros((60, 28, 28), np.uint8), {"n": 61}, "only 60"),
        (np.zeros((5, 28, 28), np.uint8), {"kid_subset_size": 2}, "at least 10 images"),
        (np.zeros((60, 28, 28), np.uint8), {"kid_subset_size": 0}, "subset size must be at least 2"),
    ],
)
def test_evaluate_images_errors(tiny_evaluator, images, kwargs, match):
    with pytest.raises(MnistgenError, match=match):
        evaluate_images(images, evaluator=tiny_evaluator, **({"kid_subset_size": 50} | kwargs))


def test_cli_evaluate_npz(tiny_evaluator, tmp_path, monkeypatch, capsys):
    import mnistgen.metrics
    from mnistgen.cli import main

    monkeypatch.setattr(mnistgen.metrics, "get_evaluator", lambda *a, **k: tiny_evaluator)
    path = tmp_path / "samples.npz"
    np.savez(path, images=tiny_evaluator.dataset.train_images[:100])
    assert main(["evaluate", str(path), "--kid-subset-size", "50", "--real", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "samples.npz" in out and "real (held-out)" in out
    payload = read_json(tmp_path / "samples.metrics.json")
    assert payload["samples"]["n"] == 100 and payload["real"]["n"] == 100
    assert main(["evaluate", str(path), "--json", str(tmp_path / "x.json")]) == 2
    assert "KID" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing.npy")]) == 2
