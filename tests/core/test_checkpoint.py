"""Checkpoints: atomic round trip, exact resume, and refusals of foreign/wrong/corrupt files."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from mnistgen.checkpoint import load_checkpoint, load_module_state, save_checkpoint
from mnistgen.errors import MnistgenError
from mnistgen.rundir import prepare_run_dir, write_json
from mnistgen.runtime import seed_everything, set_rng_state


def _model():
    return nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.3), nn.ReLU(), nn.Linear(16, 1))


def _step(model, opt):
    """One step whose outcome depends on torch, numpy and python RNGs (data, noise, dropout)."""
    x = torch.randn(32, 8) + float(np.random.rand()) + random.random()
    loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


def test_resume_equals_uninterrupted(tmp_path):
    seed_everything(0)
    straight = _model()
    opt = torch.optim.Adam(straight.parameters(), lr=1e-2)
    for _ in range(6):
        _step(straight, opt)

    seed_everything(0)
    first = _model()
    opt = torch.optim.Adam(first.parameters(), lr=1e-2)
    for _ in range(3):
        _step(first, opt)
    save_checkpoint(
        tmp_path / "ck.pt",
        kind="toy",
        models={"m": first},
        optimizers={"o": opt},
        state={"step": 3},
        config={"lr": 1e-2},
    )

    seed_everything(123)  # a fresh process would start from some other RNG state
    ck = load_checkpoint(tmp_path / "ck.pt", kind="toy")
    resumed = _model()
    opt = torch.optim.Adam(resumed.parameters(), lr=1e-2)
    resumed.load_state_dict(ck["models"]["m"])
    opt.load_state_dict(ck["optimizers"]["o"])
    set_rng_state(ck["rng"])
    assert ck["state"]["step"] == 3 and ck["config"] == {"lr": 1e-2}
    for _ in range(3):
        _step(resumed, opt)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_wrong_kind_and_foreign_files(tmp_path):
    save_checkpoint(tmp_path / "vae.pt", kind="vae", models={"m": _model()})
    with pytest.raises(MnistgenError, match="holds a vae checkpoint, not a gan one"):
        load_checkpoint(tmp_path / "vae.pt", kind="gan")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(MnistgenError, match="is not a mnistgen checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(MnistgenError, match="not a readable mnistgen checkpoint"):
        load_checkpoint(tmp_path / "text.pt")
    good = (tmp_path / "vae.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    with pytest.raises(MnistgenError, match="not a readable mnistgen checkpoint"):
        load_checkpoint(tmp_path / "cut.pt")
    with pytest.raises(MnistgenError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_architecture_mismatch_is_one_line(tmp_path):
    with pytest.raises(MnistgenError, match="does not fit the toy architecture"):
        load_module_state(nn.Linear(3, 3), _model().state_dict(), "toy")


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    save_checkpoint(tmp_path / "ck.pt", kind="toy", models={"m": _model()}, state={"step": 1})

    class Boom(nn.Module):
        def state_dict(self, *a, **k):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        save_checkpoint(tmp_path / "ck.pt", kind="toy", models={"m": Boom()})
    assert load_checkpoint(tmp_path / "ck.pt")["state"]["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


def test_run_dir_refuses_to_clobber(tmp_path):
    out = prepare_run_dir(tmp_path / "run")
    write_json(out / "config.json", {"kind": "toy"})
    with pytest.raises(MnistgenError, match="already holds a run; pass --resume"):
        prepare_run_dir(out)
    assert (out / "config.json").exists()
    prepare_run_dir(out, overwrite=True)
    assert not (out / "config.json").exists()
