"""The one resume rule, for every family: model, data and loss come from the checkpoint; only the family's budget
keys (and how it runs: device, threads, tensorboard) may change; anything else is a one-line error."""

from __future__ import annotations

import pytest
import torch

from mnistgen import classifier, families, gan, vae
from mnistgen.checkpoint import load_checkpoint
from mnistgen.classifier import training as classifier_training
from mnistgen.cli import main
from mnistgen.config import apply_overrides
from mnistgen.errors import MnistgenError

SMALL = ["data.limit=300", "runtime.device=cpu"]
TINY = {
    "vae": lambda: apply_overrides(
        vae.PRESETS["seed"],
        [*SMALL, "data.val_size=100", "train.epochs=1", "train.batch_size=100", "model.prior_components=0"],
    ),
    "gan": lambda: apply_overrides(
        gan.configure("tiny"),
        [*SMALL, "train.steps=2", "train.batch_size=16", "train.probe_every=0", "train.checkpoint_every=1"],
    ),
    "classifier": lambda: apply_overrides(
        classifier.PRESETS["tiny"], [*SMALL, "data.val_size=100", "train.max_steps=2"]
    ),
}
CHANGE = {"vae": ("train.lr", "0.5"), "gan": ("train.lr_g", "0.5"), "classifier": ("train.lr", "0.5")}


@pytest.mark.parametrize("name", sorted(TINY))
def test_resume_refuses_anything_but_budgets(name, tmp_path, tiny_mnist_dir, capsys):
    family, run = families.get(name), tmp_path / "run"
    family.train(TINY[name](), run, data_dir=tiny_mnist_dir)
    key, value = CHANGE[name]
    with pytest.raises(MnistgenError, match=f"{key} cannot change"):
        family.train(apply_overrides(TINY[name](), [f"{key}={value}"]), resume=run, data_dir=tiny_mnist_dir)
    assert (
        main(["train", name, "--resume", str(run), "--set", f"{key}={value}", "--data-dir", str(tiny_mnist_dir)]) == 2
    )
    err = capsys.readouterr().err
    assert (
        err.startswith(f"error: --resume continues a run with the model, data and loss of its checkpoint; {key}")
        and err.count("\n") == 1
    )
    assert main(["train", name, "--resume", str(run), "--seed", "7", "--data-dir", str(tiny_mnist_dir)]) == 2
    assert "runtime.seed cannot change" in capsys.readouterr().err
    if family.budgets:  # a budget may change: the run goes on
        flag = family.budgets[0].flag
        assert (
            main(["train", name, "--resume", str(run), flag, "3", "--data-dir", str(tiny_mnist_dir), "--device", "cpu"])
            == 0
        )


def test_interrupted_classifier_resumes_to_the_uninterrupted_weights(tmp_path, tiny_mnist_dir, monkeypatch):
    cfg = apply_overrides(classifier.PRESETS["tiny"], [*SMALL, "data.val_size=100", "train.epochs=3"])
    classifier.train(cfg, tmp_path / "full", data_dir=tiny_mnist_dir)
    real, calls = classifier_training._save, {"n": 0}

    def stop_after_first_epoch(*args, **kwargs):
        real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(classifier_training, "_save", stop_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        classifier.train(cfg, tmp_path / "cut", data_dir=tiny_mnist_dir)
    monkeypatch.setattr(classifier_training, "_save", real)
    assert load_checkpoint(tmp_path / "cut" / "checkpoint_last.pt", "classifier")["state"]["epoch"] == 1
    classifier.train(None, resume=tmp_path / "cut", data_dir=tiny_mnist_dir)
    a, b = (
        load_checkpoint(tmp_path / r / "checkpoint_last.pt", "classifier")["models"]["classifier"]
        for r in ("full", "cut")
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
