"""Decoder refinement (vae/refine.py): the decoder alone, trained on the frozen encoder's posteriors after the joint
epochs, lowers the validation loss, leaves the encoder (codes, map, prior) alone, is reverted when it does not help,
is repeatable (run again, it refines from the same jointly trained decoder), and is not redone when a finished run
is resumed."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from mnistgen import vae as tv
from mnistgen.checkpoint import load_checkpoint, rewrite_checkpoint
from mnistgen.config import DataConfig
from mnistgen.errors import MnistgenError
from mnistgen.vae import finish, refine
from mnistgen.vae.model import VAE

SEED_MODEL = tv.VAEModelConfig(arch="seed", latent_dim=2, hidden=16)


def _cfg(decoder_epochs: int) -> tv.VAERunConfig:
    return tv.VAERunConfig(
        data=DataConfig(val_size=200, limit=600),
        model=SEED_MODEL,
        train=tv.VAETrainConfig(
            epochs=2, batch_size=100, lr=3e-3, channels_last=False, decoder_epochs=decoder_epochs, decoder_images=300
        ),
    )


def _best(run):
    return load_checkpoint(run / "checkpoint_best.pt", "vae")


def test_refinement_trains_only_the_decoder_and_lowers_the_validation_loss(tmp_path, tiny_mnist_dir):
    tv.train(_cfg(0), tmp_path / "joint", data_dir=tiny_mnist_dir)
    summary = tv.train(_cfg(4), tmp_path / "refined", data_dir=tiny_mnist_dir)
    done = json.loads((tmp_path / "refined" / "history.json").read_text())["decoder"]
    assert summary.summary["decoder_refinement"] == done and done["epochs"] == 4 and done["images"] == 300
    assert done["images_seen"] == 1200 and done["kept"] and done["val_loss_after"] < done["val_loss_before"] - 1.0
    joint, refined = _best(tmp_path / "joint"), _best(tmp_path / "refined")
    assert done["val_loss_before"] == pytest.approx(
        json.loads((tmp_path / "joint" / "history.json").read_text())["best_val_loss"]
    )
    for key, value in joint["models"]["vae"].items():  # the encoder is the joint run's; the old decoder is kept beside
        if key.startswith("encoder."):
            assert torch.equal(value, refined["models"]["vae"][key]), key
        else:
            assert torch.equal(value, refined["state"]["joint_decoder"][key.removeprefix("decoder.")]), key
    assert not torch.equal(
        joint["models"]["vae"]["decoder.dense.0.weight"], refined["models"]["vae"]["decoder.dense.0.weight"]
    )


def test_a_resumed_finished_run_redoes_neither_the_refinement_nor_the_prior(tmp_path, tiny_mnist_dir, monkeypatch):
    cfg = dataclasses.replace(_cfg(3), model=dataclasses.replace(SEED_MODEL, prior_components=3))
    tv.train(cfg, tmp_path / "run", data_dir=tiny_mnist_dir)
    first, history = _best(tmp_path / "run"), json.loads((tmp_path / "run" / "history.json").read_text())

    def redo(*args, **kwargs):
        raise AssertionError("a finished step was redone")

    monkeypatch.setattr(finish, "refine_decoder", redo)
    monkeypatch.setattr(finish, "_fit_prior", redo)
    summary = tv.train(None, resume=tmp_path / "run", data_dir=tiny_mnist_dir)  # nothing left to train
    again = _best(tmp_path / "run")["models"]["vae"]
    assert all(torch.equal(first["models"]["vae"][k], again[k]) for k in again)
    resumed = json.loads((tmp_path / "run" / "history.json").read_text())
    assert (
        resumed["decoder"] == history["decoder"] == summary.summary["decoder_refinement"]
        and resumed["prior"] == history["prior"]
    )


def test_a_refinement_run_again_starts_from_the_joint_decoder_to_the_same_weights(tmp_path, tiny_mnist_dir):
    tv.train(_cfg(3), tmp_path / "run", data_dir=tiny_mnist_dir)
    best = _best(tmp_path / "run")
    first = {k: v.clone() for k, v in best["models"]["vae"].items()}
    del best["state"]["decoder"]  # its record lost (as after a crash between the epochs and the refinement)
    rewrite_checkpoint(tmp_path / "run" / "checkpoint_best.pt", best)
    tv.train(None, resume=tmp_path / "run", data_dir=tiny_mnist_dir)  # refines the stored joint decoder again
    again = _best(tmp_path / "run")["models"]["vae"]
    assert all(torch.equal(first[k], again[k]) for k in first)


def test_a_refinement_that_does_not_help_is_reverted(monkeypatch):
    torch.manual_seed(0)
    model = VAE("seed", latent_dim=2, hidden=16)
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    before = {k: v.clone() for k, v in model.decoder.state_dict().items()}

    def spoil(model, *args):
        with torch.no_grad():
            for p in model.decoder.parameters():
                p.add_(3.0)
        return 0.0

    monkeypatch.setattr(refine, "_fit", spoil)
    cfg = tv.VAETrainConfig(batch_size=32, decoder_epochs=1, channels_last=False)
    done = refine.refine_decoder(
        model, images[:48], images[48:], cfg, 0, torch.device("cpu"), lambda: torch.Generator().manual_seed(2)
    )
    assert not done["kept"] and done["val_loss_after"] > done["val_loss_before"]
    assert all(torch.equal(before[k], v) for k, v in model.decoder.state_dict().items())


def test_invalid_refinement_settings_are_one_line_errors():
    for bad in ({"decoder_epochs": -1}, {"decoder_images": -5}, {"decoder_lr": 0.0}):
        with pytest.raises(MnistgenError, match="train.decoder_epochs"):
            tv.VAETrainConfig(**bad)
