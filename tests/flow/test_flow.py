"""The flow family: shapes, the flow-matching loss on a point mass, ODE steps on known fields, optimal-transport
pairing, exact resume, class-conditional sampling that honours its label, and one-line errors for bad options."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from factories import resumes_exactly
from mnistgen import flow
from mnistgen.cli import main
from mnistgen.config import apply_overrides
from mnistgen.errors import MnistgenError
from mnistgen.flow.solve import Solver, integrate


def tiny(steps: int = 6, **train) -> flow.FlowRunConfig:
    cfg = flow.configure("tiny")
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, limit=300))
    return apply_overrides(
        cfg,
        [
            "runtime.device=cpu",
            f"train.steps={steps}",
            "train.checkpoint_every=3",
            *(f"train.{k}={v}" for k, v in train.items()),
        ],
    )


@pytest.mark.parametrize("patch, channels", [(1, (8, 16, 16)), (2, (8, 16)), (2, (16,))])
def test_the_velocity_net_keeps_the_image_shape_and_starts_as_the_zero_field(patch, channels):
    for classes in (0, 10):
        net = flow.VelocityNet(flow.FlowModelConfig(channels=channels, patch=patch, emb=16, classes=classes))
        x, t = torch.randn(3, 1, 28, 28), torch.rand(3)
        y = torch.tensor([0, 9, 10]) if classes else None
        v = net(x, t, y)
        assert v.shape == (3, 1, 28, 28) and torch.equal(v, torch.zeros_like(v))


def test_the_exact_velocity_of_a_point_mass_has_zero_loss():
    c = torch.rand(1, 1, 28, 28) * 2 - 1  # every image is the same point
    x0 = torch.randn(16, 1, 28, 28)
    t = torch.rand(16) * 0.99
    xt, u = flow.path_point(x0, c.expand(16, -1, -1, -1), t)
    exact = (c - xt) / (1 - t.view(-1, 1, 1, 1))  # the field that carries every x_t to c on time
    assert float(flow.flow_matching_loss(exact, u)) == pytest.approx(0.0, abs=1e-8)
    assert float(flow.flow_matching_loss(torch.zeros_like(u), u)) == pytest.approx(float((u**2).mean()))


def test_solvers_on_known_fields():
    x0 = torch.ones(2, 1, 28, 28)
    for name, nfe in (("euler", 1), ("midpoint", 2), ("rk4", 4)):  # a constant field: one step is exact
        (x1,), calls = integrate(lambda x, t: torch.full_like(x, 3.0), x0, Solver(name, nfe))
        assert torch.allclose(x1, x0 + 3.0) and calls == nfe
    # dx/dt = x from 1: e after t = 1; Euler with 4 steps gives (5/4)^4, midpoint with 2 steps (1 + 1/2 + 1/8)^2
    field = lambda x, t: x
    assert float(integrate(field, x0, Solver("euler", 4))[0][0].mean()) == pytest.approx(1.25**4)
    assert float(integrate(field, x0, Solver("midpoint", 4))[0][0].mean()) == pytest.approx(1.625**2)
    (x1,), calls = integrate(field, x0, Solver("dopri5"))
    assert float(x1.mean()) == pytest.approx(np.e, rel=1e-4) and calls > 6
    (half, end), _ = integrate(field, x0, Solver("rk4", 8), keep=(0.5,))
    assert float(half.mean()) == pytest.approx(np.exp(0.5), rel=1e-3) and float(end.mean()) == pytest.approx(
        np.e, rel=1e-3
    )


def test_optimal_transport_pairs_each_image_with_its_nearest_noise():
    x1 = torch.tensor([[0.0], [10.0], [20.0]])
    x0 = torch.tensor([[19.0], [1.0], [11.0]])
    perm = flow.ot_pairing(x0, x1)
    assert torch.equal(x0[perm].flatten(), torch.tensor([1.0, 11.0, 19.0]))


def test_bad_settings_are_one_line_errors():
    for bad, words in (
        (lambda: Solver("rk4", 6), "multiple of 4"),
        (lambda: Solver("heun", 4), "unknown solver"),
        (lambda: flow.FlowModelConfig(channels=(8, 16, 16), patch=2), "halve"),
        (lambda: flow.configure("fast", "maybe"), "--conditional"),
        (lambda: flow.FlowModelConfig(code="digits"), "model.code"),
    ):
        with pytest.raises(MnistgenError, match=words):
            bad()


def test_an_interrupted_run_resumes_to_the_uninterrupted_one(tmp_path, tiny_mnist_dir):
    resumes_exactly(flow.train, tiny, 3, 6, "flow", tmp_path, data_dir=tiny_mnist_dir, probe=None)
    full, part = flow.open_trained(tmp_path / "full"), flow.open_trained(tmp_path / "part")
    assert (
        full.work.counts
        == part.work.counts
        == {
            "steps": 6,
            "batch": 16,
            "images": 96,
        }
    )
    assert torch.equal(full.sample(4, seed=1), flow.open_trained(tmp_path / "part").sample(4, seed=1))
    with pytest.raises(MnistgenError, match="train.lr cannot change"):
        flow.train(tiny(8, lr=1e-2), resume=tmp_path / "part", data_dir=tiny_mnist_dir, probe=None)


def test_a_nan_loss_stops_with_a_one_line_error(tmp_path, tiny_mnist_dir, monkeypatch):
    monkeypatch.setattr("mnistgen.flow.training.flow_matching_loss", lambda v, u: (v - u).mean() * float("nan"))
    with pytest.raises(MnistgenError, match="flow training diverged at step 1"):
        flow.train(tiny(4), tmp_path / "run", data_dir=tiny_mnist_dir, probe=None)


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    """A data dir whose 'digits' are bright top halves (label 0) or bright bottom halves (label 1)."""
    from conftest import write_dataset

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400).astype(np.uint8)
    images = np.zeros((400, 28, 28), np.uint8)
    images[labels == 0, :14] = 255
    images[labels == 1, 14:] = 255
    root = tmp_path_factory.mktemp("halves")
    write_dataset(root / "mnist", images, labels, images[:50], labels[:50])
    return root


def test_class_conditional_sampling_honours_the_label(halves, tmp_path, capsys):
    cfg = apply_overrides(
        flow.configure("tiny", "on"),
        [
            "runtime.device=cpu",
            "train.steps=150",
            "train.lr=1e-2",
            "train.batch_size=32",
            "data.limit=0",
            "train.ema_decay=0.9",
        ],
    )
    flow.train(cfg, tmp_path / "run", data_dir=halves, probe=None)
    top = lambda x: float(x[:, :14].mean() - x[:, 14:].mean())  # (N, 28, 28): > 0 when the top half is brighter
    for label, sign in ((0, 1), (1, -1)):
        assert (
            main(
                [
                    "sample",
                    str(tmp_path / "run"),
                    "-n",
                    "8",
                    "--out",
                    str(tmp_path / f"{label}.npz"),
                    "--label",
                    str(label),
                    "--guidance",
                    "2",
                ]
            )
            == 0
        )
        assert sign * top(np.load(tmp_path / f"{label}.npz")["images"] / 255.0) > 0.3
    for argv, words in (
        (["--label", "10"], "--label must lie in 0..9"),
        (["--nfe", "3"], "multiple of 2"),
        (["--guidance", "-1"], "--guidance needs"),
    ):
        assert main(["sample", str(tmp_path / "run"), "--out", str(tmp_path / "x.npz"), *argv]) == 2
        assert words in capsys.readouterr().err


def test_an_unconditional_run_or_another_family_asked_for_a_label_is_a_one_line_error(tmp_path, tiny_mnist_dir, capsys):
    flow.train(tiny(2), tmp_path / "run", data_dir=tiny_mnist_dir, probe=None)
    assert main(["sample", str(tmp_path / "run"), "--out", str(tmp_path / "x.npz"), "--label", "3"]) == 2
    assert "not class-conditional" in capsys.readouterr().err
    assert (
        main(
            [
                "sample",
                str(tmp_path / "run"),
                "-n",
                "3",
                "--out",
                str(tmp_path / "x.npz"),
                "--solver",
                "rk4",
                "--nfe",
                "4",
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "x.npz")["images"].shape == (3, 28, 28)
