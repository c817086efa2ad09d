"""The contract every registered generating family keeps, checked on its ``tiny`` preset: it trains, draws reproducible
images of the right shape and range that the evaluator scores, resumes bit for bit, stops a NaN loss with one line,
and refuses a bad preset or sampling option with one line. A new family is covered by declaring a ``tiny`` preset."""

from __future__ import annotations

import math

import pytest
import torch

from factories import same
from mnistgen import families, rundir
from mnistgen.checkpoint import load_checkpoint
from mnistgen.cli import main
from mnistgen.config import replace_values
from mnistgen.datasets import describe
from mnistgen.errors import MnistgenError
from mnistgen.family import Family
from mnistgen.metrics import load_evaluator, quick_scores

GENERATING = families.names(generating=True)


def tiny(family: Family, budget: int | None = None):
    """The family's tiny preset on the CPU at one thread, with its first budget (steps, epochs) set if given."""
    values: dict = {"runtime.device": "cpu", "runtime.threads": 1}
    if budget is not None:
        values[family.budgets[0].key] = budget
    return replace_values(family.configure("tiny"), values)


def _budget(family: Family) -> int:
    section, key = family.budgets[0].key.split(".")
    return int(getattr(getattr(tiny(family), section), key))


def test_every_generating_family_declares_a_tiny_preset_and_a_step_or_epoch_budget():
    assert {"vae", "gan", "flow"} <= set(GENERATING)
    for name in GENERATING:
        family = families.get(name)
        assert "tiny" in family.presets and family.budgets, name
        assert _budget(family) >= 2, name


def _counting(monkeypatch, stop_at: int | None = None) -> list[int]:
    """Count the Adam updates from now on (every family's tiny preset trains with Adam); with ``stop_at``, press
    Ctrl-C at that update, as a user would."""
    calls, real_step = [0], torch.optim.Adam.step

    def step(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == stop_at:
            raise KeyboardInterrupt
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    return calls


@pytest.mark.parametrize("name", GENERATING)
def test_a_tiny_run_trains_draws_scores_and_resumes_bit_for_bit(name, tmp_path, tiny_mnist_dir, monkeypatch):
    family, cfg = families.get(name), tiny(families.get(name))
    with monkeypatch.context() as patch:
        updates = _counting(patch)
        family.train(cfg, tmp_path / "full", data_dir=tiny_mnist_dir)
    with monkeypatch.context() as patch:  # interrupted two updates before the end, then resumed
        _counting(patch, stop_at=updates[0] - 1)
        with pytest.raises(KeyboardInterrupt):
            family.train(cfg, tmp_path / "cut", data_dir=tiny_mnist_dir)
    assert (tmp_path / "cut" / rundir.LAST).is_file()  # it stopped after a checkpoint, before the end
    family.train(cfg, resume=tmp_path / "cut", data_dir=tiny_mnist_dir)
    a, b = (load_checkpoint(tmp_path / r / rundir.LAST, name) for r in ("full", "cut"))
    for section in ("models", "optimizers", "extra", "rng"):
        same(a[section], b[section], section)
    run = families.open_trained(tmp_path / "full")
    images = run.sample(64, seed=5)
    channels = describe(run.config.data.dataset).channels
    assert images.shape == (64, channels, 28, 28) and images.dtype == torch.float32
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0 and float(images.std()) > 0.0
    assert torch.equal(images, families.open_trained(tmp_path / "cut").sample(64, seed=5))  # the resumed run's too
    assert not torch.equal(images, run.sample(64, seed=6))
    scores = quick_scores(images, load_evaluator("mnist"))
    assert 1.0 <= scores["is"] <= 10.0 and 1 <= scores["modes"] <= 10 and math.isfinite(scores["class_kl"])


@pytest.mark.parametrize("name", GENERATING)
def test_a_nan_loss_stops_training_with_one_line(name, tmp_path, tiny_mnist_dir, monkeypatch):
    family, real_step = families.get(name), torch.optim.Adam.step

    def poisoned(self, *args, **kwargs):  # every weight NaN after the first update: the next loss is NaN
        out = real_step(self, *args, **kwargs)
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    p.fill_(math.nan)
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", poisoned)
    with pytest.raises(MnistgenError) as caught:
        family.train(tiny(family), tmp_path / "run", data_dir=tiny_mnist_dir)
    message = str(caught.value)
    assert "\n" not in message and " training diverged at " in message and "nan" in message
    assert "no checkpoint was written yet" in message and message.endswith(" and retry")


@pytest.mark.parametrize("name", GENERATING)
def test_a_bad_preset_or_sampling_option_is_one_line(name, tmp_path, tiny_mnist_dir, capsys):
    family = families.get(name)
    with pytest.raises(MnistgenError, match=r"^unknown .*preset 'no-such'; choose one of: .*tiny"):
        family.configure("no-such")
    family.train(tiny(family, 1), tmp_path / "run", data_dir=tiny_mnist_dir)
    with pytest.raises(MnistgenError, match=rf"^a {name} run does not take --shade \(it takes "):
        families.open_trained(tmp_path / "run", shade=0.5)
    foreign = next((o for o, takers in families.sampling_options().values() if name not in takers), None)
    if foreign is not None:  # a flag of another family, on the command line
        value = (foreign.choices or ("1",))[0]
        assert main(["sample", str(tmp_path / "run"), "--out", str(tmp_path / "x.npz"), foreign.flag, value]) == 2
        err = capsys.readouterr().err
        assert err == f"error: a {name} run does not take {foreign.flag} (it takes " + _takes(family) + ")\n"


def _takes(family: Family) -> str:
    return ", ".join(o.flag for o in family.sampling) or "no sampling options"


def test_a_run_of_another_family_is_refused_on_resume(tmp_path, tiny_mnist_dir):
    gan, flow = families.get("gan"), families.get("flow")
    gan.train(tiny(gan, 2), tmp_path / "run", data_dir=tiny_mnist_dir)
    with pytest.raises(MnistgenError, match=r"run/checkpoint_last.pt holds a gan checkpoint, not a flow one$"):
        flow.train(tiny(flow, 4), resume=tmp_path / "run", data_dir=tiny_mnist_dir)
