"""The evaluator classifier: shapes, augmentation, the training loop on a tiny subset, reloading."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from mnistgen import rundir
from mnistgen.classifier import (
    PRESETS,
    Classifier,
    ClassifierModelConfig,
    ClassifierTrainConfig,
    accuracy,
    load_classifier,
    load_config,
    train,
)
from mnistgen.classifier.training import augment
from mnistgen.errors import MnistgenError
from mnistgen.images import load_splits


def test_shapes_and_num_features():
    model = Classifier(ClassifierModelConfig(channels=(4, 8, 8), num_features=16)).eval()
    x = torch.rand(5, 1, 28, 28)
    assert model.logits(x).shape == (5, 10)
    assert model.features(x).shape == (5, 16)
    assert model.num_features == 16
    assert torch.equal(model(x), model.logits(x))


def test_bad_model_config():
    with pytest.raises(MnistgenError):
        ClassifierModelConfig(channels=(4, 8))
    with pytest.raises(MnistgenError):
        ClassifierTrainConfig(epochs=0)
    with pytest.raises(MnistgenError, match="unknown train.precision 'fp16'"):
        ClassifierTrainConfig(precision="fp16")


def test_augment_keeps_shape_range_and_can_be_disabled():
    gen = torch.Generator().manual_seed(0)
    x = torch.zeros(8, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0
    y = augment(x, ClassifierTrainConfig(), gen)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0 + 1e-6
    assert float(y[:, :, :3].abs().max()) == 0.0  # the empty border stays background
    assert not torch.allclose(y, x)  # it did move something
    off = ClassifierTrainConfig(max_rotate=0.0, max_shift=0.0, max_scale=0.0)
    assert torch.equal(augment(x, off, gen), x)


def test_training_learns_on_tiny_subset_and_reloads(tiny_mnist_dir, tmp_path):
    base = PRESETS["tiny"]
    cfg = dataclasses.replace(
        base, train=dataclasses.replace(base.train, epochs=4), runtime=dataclasses.replace(base.runtime, device="cpu")
    )
    out = Path(train(cfg, tmp_path / "clf", preset_name="tiny", data_dir=tiny_mnist_dir).run_dir)
    for name in (rundir.CONFIG, rundir.METADATA, rundir.HISTORY, rundir.LAST):
        assert (out / name).is_file(), name
    assert rundir.run_kind(out) == "classifier"
    history = rundir.read_json(out / rundir.HISTORY)
    assert len(history["epochs"]) == 4
    assert history["epochs"][-1]["train_loss"] < history["epochs"][0]["train_loss"]
    assert history["test_accuracy"] > 0.6  # chance is 0.1
    assert rundir.read_json(out / rundir.METADATA)["test_accuracy"] == history["test_accuracy"]
    assert load_config(out) == (cfg, "tiny")

    model, payload = load_classifier(out)
    assert payload["state"]["test_accuracy"] == history["test_accuracy"]
    splits = load_splits(cfg.data, tiny_mnist_dir)
    assert accuracy(model, splits.test, splits.test_labels, torch.device("cpu")) == pytest.approx(
        history["test_accuracy"]
    )

    with pytest.raises(MnistgenError, match="already holds a run"):
        train(cfg, out, data_dir=tiny_mnist_dir)


def test_max_steps_stops_early(tiny_mnist_dir, tmp_path):
    base = PRESETS["tiny"]
    cfg = dataclasses.replace(base, train=dataclasses.replace(base.train, max_steps=3))
    out = Path(train(cfg, tmp_path / "clf", data_dir=tiny_mnist_dir).run_dir)
    history = rundir.read_json(out / rundir.HISTORY)
    assert history["epochs"][-1]["step"] == 3


def test_load_classifier_rejects_other_kinds(tmp_path):
    with pytest.raises(MnistgenError, match="does not exist"):
        load_classifier(tmp_path)


def test_cli_train_classifier(tiny_mnist_dir, tmp_path, capsys):
    from mnistgen.cli import main

    out = tmp_path / "run"
    argv = [
        "train",
        "classifier",
        "--out",
        str(out),
        "--preset",
        "tiny",
        "--data-dir",
        str(tiny_mnist_dir),
        "--device",
        "cpu",
        "--set",
        "train.max_steps=2",
    ]
    assert main(argv) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert rundir.read_json(out / rundir.HISTORY)["epochs"][-1]["step"] == 2
    assert main(argv) == 2  # refuses to clobber the finished run
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "classifier", "--set", "train.epochs=1"]) == 2  # --out or --resume is required
    assert "one of the arguments --out --resume is required" in capsys.readouterr().err
