"""GAN family: seed shapes, losses, gradient penalty, clipping, training, resume, sampling, faults."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from factories import resumes_exactly, tiny_gan
from mnistgen import gan as T
from mnistgen import rundir
from mnistgen.checkpoint import load_checkpoint
from mnistgen.errors import MnistgenError
from mnistgen.gan import loss as L
from mnistgen.gan.model import GANModelConfig, build
from mnistgen.layers import Dropout
from mnistgen.runtime import use_bf16

SMALL = tiny_gan().model  # the tiny preset's networks


def small_cfg(loss="bce", steps=6, **train) -> T.GANRunConfig:
    return tiny_gan(steps, loss, train=train)


def layer_shapes(module: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple]]:
    shapes = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: shapes.append((type(m).__name__, tuple(o.shape[1:]))))
        for m in module.modules()
        if not list(m.children())
    ]
    module.eval()(x)
    for h in hooks:
        h.remove()
    return shapes


def test_seed_layers_match_the_study_table():
    g, d = build(T.PRESETS["seed"].model)
    assert layer_shapes(g, torch.zeros(2, 100)) == [
        ("Linear", (6272,)),
        ("LeakyReLU", (6272,)),
        ("ConvTranspose2d", (128, 14, 14)),
        ("LeakyReLU", (128, 14, 14)),
        ("ConvTranspose2d", (128, 28, 28)),
        ("LeakyReLU", (128, 28, 28)),
        ("Conv2d", (1, 28, 28)),
        ("Sigmoid", (1, 28, 28)),
    ]
    assert [m.negative_slope for m in g.modules() if isinstance(m, nn.LeakyReLU)] == [0.2] * 3
    assert [m.kernel_size for m in g.modules() if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d))] == [
        (4, 4),
        (4, 4),
        (7, 7),
    ]
    assert layer_shapes(d, torch.zeros(2, 1, 28, 28)) == [
        ("Conv2d", (64, 14, 14)),
        ("LeakyReLU", (64, 14, 14)),
        ("Dropout", (64, 14, 14)),
        ("Conv2d", (64, 7, 7)),
        ("LeakyReLU", (64, 7, 7)),
        ("Dropout", (64, 7, 7)),
        ("Flatten", (3136,)),
        ("Linear", (1,)),
    ]
    assert [m.p for m in d.modules() if isinstance(m, nn.Dropout)] == [0.4, 0.4]
    assert all(isinstance(m, Dropout) for m in d.modules() if isinstance(m, nn.Dropout))  # masks the same on any CPU
    assert [m.kernel_size for m in d.modules() if isinstance(m, nn.Conv2d)] == [(3, 3), (3, 3)]
    out = d(torch.rand(5, 1, 28, 28))  # logits: no sigmoid, can leave [0, 1]
    assert out.shape == (5,) and not any(isinstance(m, nn.Sigmoid) for m in d.modules())


def test_every_preset_builds_and_generates_in_range():
    for name, cfg in T.PRESETS.items():
        g, d = build(cfg.model)
        with torch.no_grad():
            z = g.sample_latent(3)
            x = g.eval()(z)
        assert x.shape == (3, 1, 28, 28), name
        lo = -1.0 if cfg.model.output == "tanh" else 0.0
        assert float(x.min()) >= lo and float(x.max()) <= 1.0
        assert d(x, g.codes_of(z) if g.cluster_codes else None).shape == (3,)


def test_loss_values_on_hand_made_logits():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([0.0, -1.0])
    sp = lambda v: math.log1p(math.exp(v))
    expect_d = (sp(0) + sp(-2)) / 2 + (sp(0) + sp(-1)) / 2
    assert L.d_loss("bce", real, fake).item() == pytest.approx(expect_d)
    assert L.g_loss("bce", fake).item() == pytest.approx((sp(0) + sp(1)) / 2)
    assert L.d_loss("bce", torch.tensor([0.0]), torch.tensor([0.0])).item() == pytest.approx(2 * math.log(2))
    for name in ("wgan", "wgan-gp"):
        assert L.d_loss(name, real, fake).item() == pytest.approx(-0.5 - 1.0)  # E f(G(z)) - E f(x)
        assert L.g_loss(name, fake).item() == pytest.approx(0.5)
    assert L.wasserstein_estimate(real, fake) == pytest.approx(1.5)
    with pytest.raises(MnistgenError, match="unknown GAN loss 'hinge'"):
        L.d_loss("hinge", real, fake)


def test_gradient_penalty_zero_for_unit_gradient_critic():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(784, 1, bias=True))
    w = torch.randn(1, 784)
    critic[1].weight.data = w / w.norm()  # |grad_x f| = 1 everywhere
    real, fake = torch.rand(16, 1, 28, 28), torch.rand(16, 1, 28, 28)
    assert L.gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-8)
    critic[1].weight.data = 3 * w / w.norm()  # |grad| = 3 -> penalty (3 - 1)^2 = 4
    assert L.gradient_penalty(critic, real, fake).item() == pytest.approx(4.0, rel=1e-5)


def test_gradient_penalty_interpolates_with_one_weight_per_sample_and_is_differentiable():
    class Bowl(nn.Module):  # f(x) = a / 2 |x|^2 per image, so grad_x f = a x and the penalty is known in closed form
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Parameter(torch.tensor(0.7))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 0.5 * self.a * x.flatten(1).pow(2).sum(1)

    critic, real, fake = Bowl(), torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    gp = L.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))
    eps = torch.rand(4, 1, 1, 1, generator=torch.Generator().manual_seed(0))  # one weight per image
    norms = (eps * real + (1 - eps) * fake).flatten(1).norm(dim=1)  # |x_hat| per image
    assert gp.item() == pytest.approx(float(((0.7 * norms - 1) ** 2).mean()), rel=1e-5)
    one_eps = (0.5 * real + 0.5 * fake).flatten(1).norm(dim=1)  # a single weight for all would give another value
    assert gp.item() != pytest.approx(float(((0.7 * one_eps - 1) ** 2).mean()), rel=1e-3)
    gp.backward()  # d/da mean((a |x| - 1)^2) = mean(2 (a |x| - 1) |x|): the penalty trains the critic
    assert critic.a.grad is not None
    assert critic.a.grad.item() == pytest.approx(float((2 * (0.7 * norms - 1) * norms).mean()), rel=1e-4)


def test_weight_clipping_bounds_every_parameter():
    _, d = build(SMALL)
    for p in d.parameters():
        p.data.normal_(0, 1)
    L.clip_weights(d, 0.01)
    assert all(float(p.detach().abs().max()) <= 0.01 for p in d.parameters())
    assert any(float(p.detach().abs().max()) == pytest.approx(0.01) for p in d.parameters())


def test_loss_defaults_and_overrides():
    assert T.hyper(T.GANTrainConfig(loss="wgan")) == L.DEFAULTS["wgan"]
    h = T.hyper(T.GANTrainConfig(loss="wgan-gp", lr_g=3e-4))
    assert (h.lr_g, h.beta1, h.beta2, h.n_critic, h.gp_weight) == (3e-4, 0.0, 0.9, 5, 10.0)
    assert (L.DEFAULTS["wgan"].optimizer, L.DEFAULTS["wgan"].n_critic, L.DEFAULTS["wgan"].clip) == ("rmsprop", 5, 0.01)
    assert (
        T.configure("fast", "wgan-gp").train.loss == "wgan-gp"
        and T.configure("fast", "wgan-gp").model.d_norm == "layer"
    )
    assert T.hyper(T.configure("seed", "wgan").train) == L.DEFAULTS["wgan"]  # the original WGAN recipe
    fast = T.hyper(
        T.configure("fast", "wgan").train
    )  # tuned: clipping kept, one critic step (equal images for every loss)
    assert (fast.optimizer, fast.clip, fast.n_critic, fast.lr_d) == ("rmsprop", 0.01, 1, 5e-4)


def test_unknown_loss_and_preset_are_one_line_errors():
    with pytest.raises(MnistgenError, match="unknown GAN loss"):
        T.GANTrainConfig(loss="lsgan")
    with pytest.raises(MnistgenError, match="unknown gan preset 'huge'"):
        T.configure("huge")
    from mnistgen.cli import main

    assert main(["train", "gan", "--loss", "lsgan", "--out", "x"]) == 2


def test_few_steps_reduce_discriminator_loss():
    torch.manual_seed(0)
    g, d = build(SMALL)
    opt = torch.optim.Adam(d.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real = torch.rand(32, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        fake = g(torch.randn(32, SMALL.z_dim))
    first = L.d_loss("bce", d(real), d(fake)).item()
    for _ in range(20):
        loss = L.d_loss("bce", d(real), d(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first


@pytest.mark.parametrize("loss", ["bce", "wgan-gp", "wgan"])
def test_resume_equals_uninterrupted_run(tmp_path, tiny_mnist_dir, loss):
    a, _ = resumes_exactly(
        T.train, lambda n: small_cfg(loss, n), 3, 6, "gan", tmp_path, data_dir=tiny_mnist_dir, probe=None
    )
    ha, hb = (rundir.read_json(tmp_path / r / "history.json") for r in ("full", "part"))
    assert ha["d_loss"] == hb["d_loss"] and ha["g_loss"] == hb["g_loss"] and len(ha["step"]) == 6
    if loss == "wgan":  # the critic stays clipped
        assert all(
            float(v.abs().max()) <= 0.01 + 1e-7
            for k, v in a["models"]["discriminator"].items()
            if "weight" in k or "bias" in k
        )


def test_resume_with_the_quality_probe_equals_uninterrupted_run(tmp_path, tiny_mnist_dir):
    # building the probe's evaluator draws from the global RNG: a resume must restore the RNG after it, as a fresh run
    probe = {"probe_every": 3, "probe_n": 50}
    resumes_exactly(T.train, lambda n: small_cfg("bce", n, **probe), 3, 6, "gan", tmp_path, data_dir=tiny_mnist_dir)


def test_sampling_writes_mnist_style_uint8(tmp_path, tiny_mnist_dir):
    from mnistgen.sampling import sample_images, write_npz

    run = T.train(small_cfg(steps=2), tmp_path / "run", data_dir=tiny_mnist_dir, probe=None).run_dir
    x = sample_images(run, 7, seed=5)
    assert x.shape == (7, 1, 28, 28) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert torch.equal(x, sample_images(run, 7, seed=5))
    path = write_npz(tmp_path / "s.npz", x)
    arr = np.load(path)["images"]
    assert arr.dtype == np.uint8 and arr.shape == (7, 28, 28)
    figs = T.make_figures(run)
    assert {p.name for p in figs} == {"losses.png", "samples.png"} and all(p.stat().st_size > 1000 for p in figs)


def test_probe_history_and_refusal_to_clobber(tmp_path, tiny_mnist_dir):
    probe = lambda images: {"is": float(images.mean()) + 1, "modes": 3, "class_kl": 0.5}
    s = T.train(small_cfg(steps=4, probe_every=2, probe_n=20), tmp_path / "run", data_dir=tiny_mnist_dir, probe=probe)
    hist = rundir.read_json(tmp_path / "run" / "history.json")
    assert [p["step"] for p in hist["probe"]] == [2, 4] and s.summary["last_probe"]["modes"] == 3
    assert hist["train_seconds"] == sorted(hist["train_seconds"]) and hist["stopped"] == "steps"
    with pytest.raises(MnistgenError, match="already holds a run"):
        T.train(small_cfg(steps=4), tmp_path / "run", data_dir=tiny_mnist_dir, probe=None)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, tiny_mnist_dir, monkeypatch):
    real_d_loss = L.d_loss
    calls = {"n": 0}

    def poisoned(name, r, f, *rest):
        calls["n"] += 1
        out = real_d_loss(name, r, f, *rest)
        return out * float("nan") if calls["n"] == 5 else out

    monkeypatch.setattr(L, "d_loss", poisoned)
    with pytest.raises(
        MnistgenError,
        match=r"^GAN training diverged at step 5 \(D loss nan, G loss nan\); the last good checkpoint \(step 3\) "
        r"is kept in .*; lower the learning rates and retry$",
    ):
        T.train(small_cfg(steps=8), tmp_path / "run", data_dir=tiny_mnist_dir, probe=None)
    ck = load_checkpoint(tmp_path / "run" / "checkpoint_last.pt", "gan")
    assert ck["state"]["step"] == 3
    assert all(torch.isfinite(v).all() for v in ck["models"]["generator"].values() if v.is_floating_point())


def test_cli_trains_resumes_and_samples(tmp_path, tiny_mnist_dir, capsys):
    from mnistgen.cli import main

    run = tmp_path / "run"
    common = ["--data-dir", str(tiny_mnist_dir), "--device", "cpu", "--threads", "1"]
    sets = [
        "--set",
        "data.limit=200",
        "--set",
        "model.g_channels=8,4",
        "--set",
        "model.d_channels=8,8",
        "--set",
        "train.batch_size=16",
        "--set",
        "train.probe_seconds=0",
        "--set",
        "train.grid_every=0",
    ]
    assert (
        main(
            ["train", "gan", "--preset", "fast", "--loss", "wgan-gp", "--out", str(run), "--steps", "2", *sets, *common]
        )
        == 0
    )
    assert main(["train", "gan", "--resume", str(run), "--steps", "3", *common]) == 0
    assert load_checkpoint(run / "checkpoint_last.pt", "gan")["state"]["step"] == 3
    assert main(["train", "gan", "--out", str(run), "--steps", "2", *common]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_precision_and_learning_rate_decay_options(tmp_path, tiny_mnist_dir):
    cpu = torch.device("cpu")
    assert use_bf16("bf16", cpu) and not use_bf16("fp32", cpu)
    assert use_bf16("auto", cpu) == bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    with pytest.raises(MnistgenError, match="unknown train.precision 'fp8'"):
        T.GANTrainConfig(precision="fp8")
    with pytest.raises(MnistgenError, match="lr_final"):
        T.GANTrainConfig(lr_final=1.5)
    t = T.GANTrainConfig(steps=100, lr_final=0.2)
    assert [T.lr_scale(t, s, 0.0) for s in (0, 50, 100, 200)] == pytest.approx([1.0, 0.6, 0.2, 0.2])
    t = T.GANTrainConfig(steps=0, max_minutes=2.0, lr_final=0.0)
    assert T.lr_scale(t, 10, 60.0) == pytest.approx(0.5) and T.lr_scale(T.GANTrainConfig(), 10, 5.0) == 1.0
    # a bf16 run trains, records its precision, and its losses stay finite
    s = T.train(small_cfg(steps=3, precision="bf16"), tmp_path / "run", data_dir=tiny_mnist_dir, probe=None)
    meta = rundir.read_json(tmp_path / "run" / "metadata.json")
    hist = rundir.read_json(tmp_path / "run" / "history.json")
    assert (
        s.summary["steps"] == 3
        and meta["precision"] == "bf16"
        and all(math.isfinite(v) for v in hist["d_loss"] + hist["g_loss"])
    )
    assert all(
        T.configure(p).train.precision == "fp32" for p in T.PRESETS
    )  # fp32 is part of every recipe: the same on every CPU


def test_probe_schedule_is_dense_inside_its_window_then_regular():
    t = T.GANTrainConfig(probe_seconds=20.0, probe_dense_seconds=5.0, probe_dense_until=30.0)
    times, now = [], 0.0
    while now < 70:
        now = T.next_probe_time(t, now)
        times.append(now)
    assert times == pytest.approx([5, 10, 15, 20, 25, 30, 40, 60, 80])
    assert T.next_probe_time(T.GANTrainConfig(probe_seconds=20.0), 39.5) == pytest.approx(40.0)
    assert T.next_probe_time(T.GANTrainConfig(), 3.0) == math.inf
    with pytest.raises(MnistgenError, match="probe_dense_seconds"):
        T.GANTrainConfig(probe_dense_seconds=-1.0)
    # inside the window only the dense schedule runs (no extra regular probe at 20 s)
    t = T.GANTrainConfig(probe_seconds=20.0, probe_dense_seconds=6.0, probe_dense_until=30.0)
    assert [T.next_probe_time(t, s) for s in (0.0, 18.0, 24.0, 29.0, 30.0)] == pytest.approx([6, 24, 30, 30, 40])


def test_label_smoothing_and_r1_on_known_inputs():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5])
    smoothed = L.d_loss("bce", real, fake, real_target=0.9)
    expected = (
        torch.nn.functional.binary_cross_entropy_with_logits(real, torch.full((2,), 0.9))
        + torch.nn.functional.softplus(fake).mean()
    )
    assert torch.allclose(smoothed, expected) and torch.allclose(
        L.d_loss("bce", real, fake), L.d_loss("bce", real, fake, 1.0)
    )
    critic = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 1, bias=False)
    )  # D(x) = w.x: grad = w everywhere
    torch.nn.init.constant_(critic[1].weight, 0.01)
    assert L.r1_penalty(lambda x: critic(x).squeeze(1), torch.rand(3, 1, 28, 28)).item() == pytest.approx(
        784 * 1e-4, rel=1e-5
    )


def test_mlp_generator_and_keras_initialisation():
    g, d = build(GANModelConfig(g_channels=(32,), init="keras"))
    assert (
        g(torch.randn(5, 100)).shape == (5, 1, 28, 28)
        and sum(p.numel() for p in g.parameters()) == 100 * 32 + 32 + 32 * 784 + 784
    )
    conv = d.features[0]
    bound = (6 / (1 * 9 + 64 * 9)) ** 0.5  # glorot-uniform of a 3x3 conv 1 -> 64
    top = float(conv.weight.detach().abs().max())
    assert 0.9 * bound < top <= bound
    assert all(float(m.bias.detach().abs().max()) == 0.0 for m in d.modules() if isinstance(m, torch.nn.Conv2d))
    torch_init = build(GANModelConfig())[1].features[0]
    assert float(torch_init.bias.detach().abs().max()) > 0  # PyTorch's default: non-zero biases
    with pytest.raises(MnistgenError, match="model.init"):
        GANModelConfig(init="xavier")
