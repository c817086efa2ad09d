"""The shipped evaluators: their files match their hashes, they classify real digits, scoring needs no dataset,
a damaged evaluator is a one-line error, and scores agree whatever range or order the images come in."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from mnistgen.cli import main
from mnistgen.data import load_dataset
from mnistgen.errors import MnistgenError
from mnistgen.metrics import KEYS, evaluate_images, evaluate_real, load_evaluator, quick_scores, shipped
from mnistgen.metrics.evaluator import SHIPPED, sha256_of
from mnistgen.rundir import read_json


@pytest.fixture(scope="module")
def ev():
    return load_evaluator("mnist")


@pytest.fixture(scope="module")
def digits(tiny_mnist_dir):
    ds = load_dataset("mnist", tiny_mnist_dir, download_missing=False)
    return ds.test_images, ds.test_labels


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_shipped_files_match_their_hashes_and_recipe(dataset):
    info = json.loads((SHIPPED / f"{dataset}.json").read_text())
    assert sha256_of(SHIPPED / f"{dataset}.pt") == info["sha256"]
    assert sha256_of(SHIPPED / f"{dataset}-reference.npz") == info["reference_sha256"]
    assert info["recipe"]["runtime"]["seed"] == 0 and info["recipe"]["train"]["precision"] == "fp32"
    assert info["test_accuracy"] > (0.99 if dataset == "mnist" else 0.93)
    assert info["reference"]["n"] == 10000 and dataset in {i["dataset"] for i in shipped()}
    assert (SHIPPED / f"{dataset}.pt").stat().st_size < 1.5e6


def test_loading_leaves_the_global_rng_as_it_was():
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    load_evaluator("mnist")
    assert torch.equal(torch.rand(4), expected)


def test_it_classifies_real_digits(ev, digits):
    images, labels = digits
    probs = ev.probs(images)
    assert probs.shape == (len(images), 10) and torch.allclose(probs.sum(1), torch.ones(len(images)), atol=1e-5)
    assert float((probs.argmax(1).numpy() == labels).mean()) >= 0.97
    assert ev.features(images).shape == (len(images), 128)


def test_scores_agree_across_ranges_and_orders(ev, digits):
    images, labels = digits
    unit = images.astype(np.float32) / 255.0
    s8, su, sp = (quick_scores(x, ev) for x in (images, unit, torch.from_numpy(unit * 2 - 1)))
    for key in s8:
        assert s8[key] == pytest.approx(su[key], rel=1e-4, abs=1e-6) == pytest.approx(sp[key], rel=1e-4, abs=1e-6)
    by_label = quick_scores(images[np.argsort(labels, kind="stable")], ev)  # saved class by class
    assert by_label["is"] == pytest.approx(s8["is"], abs=3 * s8["is_std"] + 0.05) and by_label["is"] > 7


def test_scoring_leaves_the_callers_images_alone(ev, digits):
    images, _ = digits
    over = torch.from_numpy(images[:200].astype(np.float32) / 255.0) * 1.0004  # just above 1: clamped while scoring
    kept, as_numpy = over.clone(), over.numpy().copy()
    scores = evaluate_images(over, ev, kid_subset_size=50)
    assert torch.equal(over, kept) and over.max() > 1.0  # the caller's tensor is untouched
    evaluate_images(over.numpy(), ev, kid_subset_size=50)
    assert np.array_equal(over.numpy(), as_numpy)  # and so is a numpy array sharing its memory
    with torch.inference_mode():
        frozen = torch.from_numpy(images[:200].astype(np.float32) / 255.0).clone()  # an inference tensor
    assert evaluate_images(frozen, ev, kid_subset_size=50)["fid"] == pytest.approx(scores["fid"], rel=1e-3)
    with torch.inference_mode():
        inside = evaluate_images(frozen, ev, kid_subset_size=50)  # and inside inference mode too
    assert inside["is_mean"] == pytest.approx(scores["is_mean"], rel=1e-4)


def test_scoring_a_file_needs_no_dataset_and_prints_the_evaluator(ev, digits, tmp_path, tiny_mnist_dir, capsys):
    path = tmp_path / "digits.npz"
    np.savez(path, images=digits[0])
    assert (
        main(["evaluate", str(path), "--kid-subset-size", "100", "--no-download", "--device", "cpu"]) == 0
    )  # no data anywhere
    out = capsys.readouterr().out
    assert ev.info["name"] in out and ev.info["sha256"][:16] in out and "KID is an unbiased estimate" in out
    offline = read_json(tmp_path / "digits.metrics.json")
    assert offline["evaluator"]["sha256"] == ev.info["sha256"] and list(offline["samples"]) == list(KEYS)
    assert (
        main(
            [
                "evaluate",
                str(path),
                "--kid-subset-size",
                "100",
                "--real",
                "--data-dir",
                str(tiny_mnist_dir),
                "--device",
                "cpu",
                "--json",
                str(tmp_path / "with-data.json"),
            ]
        )
        == 0
    )
    with_data = read_json(tmp_path / "with-data.json")
    assert with_data["samples"] == offline["samples"] and with_data["real"]["n"] == 200
    assert main(["evaluate", str(path), "--json", str(tmp_path / "x.json")]) == 2  # 200 images < KID subsets of 1000
    assert "KID" in capsys.readouterr().err


def test_scores_of_real_digits(ev, digits, tiny_mnist_dir):
    result = evaluate_images(digits[0], ev, kid_subset_size=100)
    assert list(result) == list(KEYS) and result["n"] == 200
    assert result["modes"] >= 9 and result["precision"] > 0.7 and result["max_prob"] > 0.95 and result["fid"] >= 0
    shifted = evaluate_images(np.roll(digits[0], 6, axis=2), ev, kid_subset_size=100)
    assert shifted["fid"] > result["fid"] + 10 and shifted["kid_mean"] > result["kid_mean"]
    real = evaluate_real(ev, n=10000, kid_subset_size=50, data_dir=tiny_mnist_dir, download_missing=False)
    assert real["n"] == 200  # the recipe's validation split, capped by the tiny data set (1,000 // 5)
    with pytest.raises(MnistgenError, match="only 200"):
        evaluate_images(digits[0], ev, n=201, kid_subset_size=100)


def _copy(folder):
    folder.mkdir(exist_ok=True)
    for suffix in (".pt", ".json", "-reference.npz"):
        shutil.copy(SHIPPED / f"mnist{suffix}", folder / f"mnist{suffix}")
    return folder / "mnist.pt"


def test_a_damaged_or_wrong_evaluator_is_a_one_line_error(tmp_path, capsys):
    pt = _copy(tmp_path)
    assert (
        load_evaluator("mnist", pt).info["sha256"]
        == shipped()[[i["dataset"] for i in shipped()].index("mnist")]["sha256"]
    )
    with pytest.raises(MnistgenError, match="fashion-mnist images"):
        load_evaluator("fashion-mnist", pt)
    data = bytearray(pt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pt.write_bytes(bytes(data))
    with pytest.raises(MnistgenError, match="does not match the SHA-256"):
        load_evaluator("mnist", pt)
    (tmp_path / "mnist-reference.npz").unlink()
    npz = tmp_path / "x.npz"
    np.savez(npz, images=np.zeros((20, 28, 28), np.uint8))
    assert main(["evaluate", str(npz), "--evaluator", str(pt), "--kid-subset-size", "10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: evaluator file") and "is missing" in err and err.count("\n") == 1
    other = _copy(tmp_path / "other")
    other.with_suffix(".json").write_text("{not json")
    with pytest.raises(MnistgenError, match="not valid JSON"):
        load_evaluator("mnist", other)
