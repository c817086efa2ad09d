"""Config: presets, typed --set overrides, JSON round trip, clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from mnistgen.config import DataConfig, RuntimeConfig, apply_overrides, from_dict, pick_preset, save_config, to_dict
from mnistgen.errors import MnistgenError
from mnistgen.rundir import read_json


@dataclass(frozen=True)
class Train:
    lr: float = 1e-3
    epochs: int = 3
    amsgrad: bool = False
    betas: tuple[float, ...] = (0.5, 0.999)
    note: str = "x"
    budget: float | None = None


@dataclass(frozen=True)
class Run:
    data: DataConfig = field(default_factory=DataConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    train: Train = field(default_factory=Train)


def test_overrides_parse_by_type():
    cfg = apply_overrides(
        Run(),
        [
            "train.lr=3e-4",
            "train.epochs=7",
            "train.amsgrad=yes",
            "train.betas=0.0,0.9",
            "train.note=hi=there",
            "train.budget=2.5",
            "data.dataset=fashion-mnist",
            "runtime.device=cpu",
        ],
    )
    assert cfg.train == Train(3e-4, 7, True, (0.0, 0.9), "hi=there", 2.5)
    assert cfg.data.dataset == "fashion-mnist" and cfg.runtime.device == "cpu"
    assert apply_overrides(cfg, ["train.budget=none"]).train.budget is None
    assert Run().train.lr == 1e-3  # frozen originals untouched


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.lrr=1", "unknown config key 'train.lrr'"),
        ("nope.lr=1", "unknown config key 'nope.lr'"),
        ("train.epochs=three", "expected an integer"),
        ("train.lr=fast", "expected a number"),
        ("train.amsgrad=maybe", "expected true or false"),
        ("train=1", "is a section"),
        ("train.lr", "expects key=value"),
        ("data.dataset=kmnist", "unknown dataset 'kmnist'"),
        ("runtime.device=tpu", "unknown device 'tpu'"),
        ("data.val_size=-1", ">= 0"),
    ],
)
def test_override_errors(override, message):
    with pytest.raises(MnistgenError, match=message):
        apply_overrides(Run(), [override])


def test_json_round_trip(tmp_path):
    cfg = apply_overrides(Run(), ["train.betas=0,0.9", "runtime.seed=5"])
    save_config(cfg, tmp_path / "config.json", extra={"kind": "test", "preset": "p"})
    payload = read_json(tmp_path / "config.json")
    assert payload["kind"] == "test" and payload["preset"] == "p"
    assert from_dict(Run, payload["config"]) == cfg
    assert to_dict(cfg)["train"]["betas"] == (0.0, 0.9)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(MnistgenError, match="unknown config key 'train.bogus'"):
        from_dict(Run, {"train": {"bogus": 1}})


def test_pick_preset():
    presets = {"a": Run(), "b": Run()}
    assert pick_preset(presets, "a", "demo") is presets["a"]
    with pytest.raises(MnistgenError, match="unknown demo preset 'c'; choose one of: a, b"):
        pick_preset(presets, "c", "demo")
