"""VAE family: architectures (STUDY.md §1 table), loss, early stopping, training, resume, sampling, errors."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from factories import same
from mnistgen import vae as tv
from mnistgen.checkpoint import load_checkpoint
from mnistgen.cli import main
from mnistgen.config import DataConfig, apply_overrides, pick_preset
from mnistgen.errors import MnistgenError
from mnistgen.sampling import sample_images, write_npz
from mnistgen.vae import training as tv_train
from mnistgen.vae.loss import kl_to_standard_normal, kl_warmup, mmd_to_standard_normal, reconstruction_bce, vae_loss
from mnistgen.vae.model import VAE
from mnistgen.vae.prior import GaussianMixture

TINY_MODEL = tv.VAEModelConfig(arch="conv", latent_dim=4, channels=4, hidden=16)


def tiny_cfg(epochs: int = 2, **train) -> tv.VAERunConfig:
    return tv.VAERunConfig(
        data=DataConfig(val_size=200, limit=600),
        model=TINY_MODEL,
        train=tv.VAETrainConfig(epochs=epochs, batch_size=100, lr=3e-3, **train),
    )


# ----------------------------------------------------------------------------- architectures


@pytest.mark.parametrize("preset,d", [("seed", 10), ("seed-2d", 2)])
def test_seed_layers_match_the_study_table(preset, d):
    model = tv.build_model(tv.PRESETS[preset].model).eval()
    assert model.latent_dim == d and model.decoder.latent_dim == d
    x = torch.rand(3, 1, 28, 28)
    enc, dec = model.encoder, model.decoder
    # encoder: rows as a 28-step sequence of 28 pixels -> LSTM last hidden 256 -> mu, log var of size d
    assert enc.lstm.input_size == 28 and enc.lstm.hidden_size == 256
    lstm_out = []
    enc.lstm.register_forward_hook(lambda m, i, o: lstm_out.append((tuple(i[0].shape), tuple(o[1][0].shape))))
    mu, logvar = model.encode(x)
    assert lstm_out == [((3, 28, 28), (1, 3, 256))]
    assert mu.shape == logvar.shape == (3, d)
    # decoder: dense 16 -> 64 -> 128 -> reshape 4x4x8 -> 8x8x8 -> 12x12x4 -> 24x24x2 -> 28x28x1 (sigmoid)
    z = torch.randn(3, d)
    linears = [m for m in dec.dense if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(d, 16), (16, 64), (64, 128)]
    deconvs = [m for m in dec.deconv if isinstance(m, torch.nn.ConvTranspose2d)]
    outs = []
    for m in deconvs:
        m.register_forward_hook(lambda mod, i, o: outs.append((tuple(i[0].shape[1:]), tuple(o.shape[1:]))))
    y = model.decode(z)
    assert outs == [
        ((8, 4, 4), (8, 8, 8)),
        ((8, 8, 8), (4, 12, 12)),
        ((4, 12, 12), (2, 24, 24)),
        ((2, 24, 24), (1, 28, 28)),
    ]
    assert y.shape == (3, 1, 28, 28) and y.min() >= 0 and y.max() <= 1
    assert sum(p.numel() for p in dec.parameters()) < 12_000  # "a few thousand weights" (dense layers dominate)


def test_conv_preset_decoder_alone_and_forward():
    model = tv.build_model(tv.PRESETS["conv"].model).eval()
    assert model.latent_dim == tv.PRESETS["conv"].model.latent_dim
    with torch.no_grad():
        y = model.decoder(torch.randn(5, model.latent_dim))
    assert y.shape == (5, 1, 28, 28) and float(y.min()) >= 0 and float(y.max()) <= 1
    out = model(torch.rand(5, 1, 28, 28), torch.Generator().manual_seed(0))
    assert out.logits.shape == (5, 1, 28, 28) and out.mu.shape == out.logvar.shape == out.z.shape == (
        5,
        model.latent_dim,
    )
    assert torch.allclose(torch.sigmoid(out.logits), model.decode(out.z), atol=1e-6)


# ----------------------------------------------------------------------------- loss


def test_kl_is_zero_at_the_prior_and_known_elsewhere():
    zero = torch.zeros(4, 10)
    assert torch.equal(kl_to_standard_normal(zero, zero), torch.zeros(4))
    # mu = 1, var = 1: 0.5 per dim; mu = 0, var = e: 0.5 * (e - 1 - 1) per dim
    assert torch.allclose(kl_to_standard_normal(torch.ones(2, 10), torch.zeros(2, 10)), torch.full((2,), 5.0))
    assert torch.allclose(
        kl_to_standard_normal(torch.zeros(1, 3), torch.ones(1, 3)), torch.tensor([1.5 * (math.e - 2)])
    )


def test_loss_terms_on_known_inputs():
    target = torch.zeros(2, 1, 28, 28)
    target[:, :, :14] = 1.0
    logits = torch.zeros(2, 1, 28, 28)  # p = 0.5 everywhere: BCE = 784 ln 2 per image
    assert torch.allclose(reconstruction_bce(logits, target), torch.full((2,), 784 * math.log(2)))
    assert torch.allclose(
        reconstruction_bce(torch.full_like(target, 0.5), target, logits=False), torch.full((2,), 784 * math.log(2))
    )
    mu, logvar = torch.ones(2, 4), torch.zeros(2, 4)  # KL = 2 per image
    loss = vae_loss(logits, target, mu, logvar, beta=3.0, kl_weight=0.5)
    assert loss.recon.item() == pytest.approx(784 * math.log(2), rel=1e-6)
    assert loss.kl.item() == pytest.approx(2.0)
    assert loss.total.item() == pytest.approx(784 * math.log(2) + 3.0 * 0.5 * 2.0, rel=1e-6)
    assert [kl_warmup(s, 4) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0] and kl_warmup(0, 0) == 1.0


def test_mmd_penalty_is_small_at_the_prior_and_large_off_it():
    gen = torch.Generator().manual_seed(0)
    at_prior = mmd_to_standard_normal(torch.randn(256, 8, generator=gen), gen).item()
    shrunk = mmd_to_standard_normal(0.3 * torch.randn(256, 8, generator=gen), gen).item()
    shifted = mmd_to_standard_normal(torch.randn(256, 8, generator=gen) + 1.0, gen).item()
    assert abs(at_prior) < 0.02 and shrunk > 0.5 and shifted > 0.5


@pytest.mark.parametrize("arch", ["seed", "conv"])
def test_loss_decreases_on_a_tiny_batch(arch):
    torch.manual_seed(0)
    model = VAE(arch, latent_dim=4, channels=8, hidden=32)
    x = torch.zeros(16, 1, 28, 28)
    for i in range(16):  # a vertical bar at one of 16 positions: structure a VAE can learn quickly
        x[i, 0, 4:24, 4 + i : 8 + i] = 1.0
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(25):
        out = model(x, gen)
        loss = vae_loss(out.logits, x, out.mu, out.logvar).total
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


# ----------------------------------------------------------------------------- early stopping


def test_early_stopping_on_a_crafted_validation_history():
    stop = tv.EarlyStopping(patience=4)
    history = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 3.05, 2.0]
    stopped_at = None
    for epoch, value in enumerate(history, 1):
        stop.update(value, epoch)
        if stop.should_stop:
            stopped_at = epoch
            break
    assert stopped_at == 7 and stop.best_epoch == 3 and stop.best == 3.0
    strict = tv.EarlyStopping(patience=2, min_delta=0.5)
    assert strict.update(10.0, 1) and not strict.update(9.6, 2) and not strict.update(9.7, 3) and strict.should_stop
    restored = tv.EarlyStopping(4)
    restored.load_state_dict(stop.state_dict())
    assert restored.state_dict() == stop.state_dict() and restored.should_stop


# ----------------------------------------------------------------------------- training, resume, faults


def assert_same_run(a, b):
    ca, cb = load_checkpoint(a / "checkpoint_last.pt", "vae"), load_checkpoint(b / "checkpoint_last.pt", "vae")
    for section in ("models", "optimizers", "rng"):
        same(ca[section], cb[section], section)
    ha, hb = (json.loads((r / "history.json").read_text()) for r in (a, b))
    for key in ("train_loss", "val_loss", "val_kl", "train_recon", "lr", "best_epoch"):
        assert ha[key] == hb[key], key


def test_train_writes_the_run_and_resume_equals_uninterrupted(tmp_path, tiny_mnist_dir):
    cfg = lambda epochs: tiny_cfg(epochs, schedule="constant")
    full = tv.train(cfg(3), tmp_path / "full", data_dir=tiny_mnist_dir, preset_name="test")
    tv.train(cfg(2), tmp_path / "split", data_dir=tiny_mnist_dir, preset_name="test")
    resumed = tv.train(cfg(3), resume=tmp_path / "split", data_dir=tiny_mnist_dir)
    assert full.summary["epochs_completed"] == resumed.summary["epochs_completed"] == 3 and resumed.summary["resumed"]
    assert_same_run(tmp_path / "full", tmp_path / "split")
    run = tmp_path / "full"
    history = json.loads((run / "history.json").read_text())
    assert len(history["val_loss"]) == 3 and all(len(history[k]) == 3 for k in ("train_kl", "val_recon", "train_loss"))
    assert json.loads((run / "config.json").read_text())["kind"] == "vae"
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["dataset"]["n_train_used"] == 400 and meta["environment"]["torch"] == torch.__version__
    for name in ("kl.png", "loss.png", "reconstructions.png", "samples.png", "latent_map.png"):
        assert (run / "figures" / name).stat().st_size > 1000, name
    assert (run / "checkpoint_best.pt").exists()
    with pytest.raises(MnistgenError, match="already holds a run"):
        tv.train(cfg(1), run, data_dir=tiny_mnist_dir)


def test_run_interrupted_mid_epoch_resumes_to_the_uninterrupted_result(tmp_path, tiny_mnist_dir, monkeypatch):
    tv.train(tiny_cfg(3), tmp_path / "full", data_dir=tiny_mnist_dir)  # default one-cycle schedule
    real, calls = tv_train.vae_loss, {"n": 0}

    def interrupt(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 12:  # epoch 3, second step (each epoch: 4 steps + 1 validation batch)
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(tv_train, "vae_loss", interrupt)
    with pytest.raises(KeyboardInterrupt):
        tv.train(tiny_cfg(3), tmp_path / "cut", data_dir=tiny_mnist_dir)
    monkeypatch.setattr(tv_train, "vae_loss", real)
    assert load_checkpoint(tmp_path / "cut" / "checkpoint_last.pt", "vae")["state"]["epoch"] == 2
    tv.train(None, resume=tmp_path / "cut", data_dir=tiny_mnist_dir)
    assert_same_run(tmp_path / "full", tmp_path / "cut")


def test_sampling_writes_uint8_npz_reproducibly(tmp_path, tiny_mnist_dir):
    tv.train(tiny_cfg(1), tmp_path / "run", data_dir=tiny_mnist_dir)
    images = sample_images(tmp_path / "run", 7, seed=3, batch=4)
    assert images.shape == (7, 1, 28, 28) and float(images.min()) >= 0 and float(images.max()) <= 1
    assert torch.equal(images, sample_images(tmp_path / "run", 7, seed=3, batch=4))
    assert not torch.equal(images, sample_images(tmp_path / "run", 7, seed=4, batch=4))
    path = write_npz(tmp_path / "s.npz", images, seed=3)
    arr = np.load(path)["images"]
    assert arr.dtype == np.uint8 and arr.shape == (7, 28, 28)


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path, tiny_mnist_dir, monkeypatch):
    real = tv_train.vae_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        out = real(*args, **kwargs)
        calls["n"] += 1
        return (
            out._replace(total=out.total * float("nan")) if calls["n"] > 5 else out
        )  # epoch 1: 4 steps + 1 validation batch

    monkeypatch.setattr(tv_train, "vae_loss", poisoned)
    with pytest.raises(
        MnistgenError,
        match=r"^VAE training diverged at epoch 2, step \d+ \(loss nan\); the last good checkpoint \(epoch 1\) "
        r"is kept in ",
    ):
        tv.train(tiny_cfg(3), tmp_path / "run", data_dir=tiny_mnist_dir)
    assert load_checkpoint(tmp_path / "run" / "checkpoint_last.pt", "vae")["state"]["epoch"] == 1


def test_time_budget_stops_between_epochs(tmp_path, tiny_mnist_dir):
    summary = tv.train(tiny_cfg(5, max_minutes=1e-6), tmp_path / "run", data_dir=tiny_mnist_dir)
    assert summary.summary["stopped"] == "time-budget" and summary.summary["epochs_completed"] == 1


def test_invalid_latent_size_and_unknown_preset():
    for bad in (0, -3, 2.5):
        with pytest.raises(MnistgenError, match="latent size"):
            tv.VAEModelConfig(latent_dim=bad)
    with pytest.raises(MnistgenError, match="latent size"):
        VAE("seed", latent_dim=0)
    with pytest.raises(MnistgenError, match="latent size"):
        apply_overrides(tv.PRESETS["conv"], ["model.latent_dim=0"])
    with pytest.raises(MnistgenError, match="unknown VAE preset 'big'"):
        pick_preset(tv.PRESETS, "big", "VAE")
    with pytest.raises(MnistgenError, match="architecture"):
        dataclasses.replace(TINY_MODEL, arch="mlp")


def test_cli_train_errors_and_resume(tmp_path, tiny_mnist_dir, capsys):
    base = ["train", "vae", "--data-dir", str(tiny_mnist_dir), "--set", "data.val_size=200", "--set", "data.limit=400"]
    assert main(base + ["--preset", "nope", "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.startswith("error: unknown VAE preset 'nope'")
    assert main(base + ["--set", "model.latent_dim=-1", "--out", str(tmp_path / "x")]) == 2
    assert "invalid VAE latent size" in capsys.readouterr().err
    run = tmp_path / "seed2d"
    assert (
        main(base + ["--preset", "seed-2d", "--out", str(run), "--epochs", "1", "--set", "train.batch_size=100"]) == 0
    )
    assert main(["train", "vae", "--resume", str(run), "--epochs", "2", "--data-dir", str(tiny_mnist_dir)]) == 0
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [1, 2]
    assert json.loads((run / "config.json").read_text())["preset"] == "seed-2d"
    assert "figure:" in capsys.readouterr().out


# ----------------------------------------------------------------------------- ex-post mixture prior


def _known_mixture() -> GaussianMixture:
    gen = torch.Generator().manual_seed(0)
    gmm = GaussianMixture(dim=3, components=4)
    a = torch.randn(4, 3, 3, generator=gen)
    gmm.means.copy_(4 * torch.randn(4, 3, generator=gen))
    gmm.scale_tril.copy_(torch.linalg.cholesky(a @ a.transpose(1, 2) + 0.5 * torch.eye(3)))
    gmm.log_weights.copy_(torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4])))
    return gmm


def test_mixture_log_prob_matches_torch_distributions_and_starts_as_the_standard_normal():
    from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

    gmm = _known_mixture()
    ref = MixtureSameFamily(
        Categorical(logits=gmm.log_weights), MultivariateNormal(gmm.means, scale_tril=gmm.scale_tril)
    )
    z = 3 * torch.randn(50, 3, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(gmm.log_prob(z), ref.log_prob(z), atol=1e-4)
    fresh = GaussianMixture(dim=3, components=5)  # unfitted: every component is N(0, I)
    assert torch.allclose(fresh.log_prob(z), MultivariateNormal(torch.zeros(3), torch.eye(3)).log_prob(z), atol=1e-5)


def test_mixture_em_is_scikit_learns_fit():
    import warnings

    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    gen = torch.Generator().manual_seed(3)
    centres = 3 * torch.randn(12, 4, generator=gen)
    codes = centres[torch.randint(0, 12, (1500,), generator=gen)] + torch.randn(1500, 4, generator=gen) * torch.rand(
        1500, 1, generator=gen
    )
    ours = GaussianMixture(dim=4, components=20)
    fit = ours.fit(codes, seed=5, restarts=2)
    x = codes.double().numpy()
    sk = SkGaussianMixture(
        20,
        covariance_type="full",
        reg_covar=1e-4 * float(x.var(0).mean()),
        max_iter=100,
        tol=1e-3,
        n_init=2,
        init_params="k-means++",
        random_state=5,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk.fit(x)
    assert (fit["iterations"], fit["converged"]) == (sk.n_iter_, sk.converged_)
    assert fit["log_likelihood"] == pytest.approx(sk.score(x), abs=1e-6)
    assert torch.allclose(ours.means.double(), torch.from_numpy(sk.means_), atol=1e-5)
    assert torch.allclose(ours.log_weights.double().exp(), torch.from_numpy(sk.weights_), atol=1e-6)
    assert torch.allclose(ours.scale_tril.double(), torch.linalg.cholesky(torch.from_numpy(sk.covariances_)), atol=1e-5)


def test_mixture_em_recovers_a_known_mixture_and_is_seeded():
    truth = _known_mixture()
    codes = truth.sample(8000, torch.Generator().manual_seed(2))  # (8000, 3)
    assert codes.shape == (8000, 3)
    fitted = GaussianMixture(dim=3, components=4)
    fit = fitted.fit(
        codes, iterations=200, tol=1e-4, seed=0, restarts=3
    )  # EM finds local optima: keep the best of 3 starts
    assert fit["converged"] and 1 <= fit["iterations"] < 200
    assert fit["log_likelihood"] == pytest.approx(float(truth.log_prob(codes).mean()), abs=0.02)
    assert float(fitted.log_prob(codes).mean()) == pytest.approx(
        fit["log_likelihood"], abs=1e-4
    )  # buffers = sklearn's fit
    order = torch.cdist(truth.means, fitted.means).argmin(1)  # match components by their means
    assert sorted(order.tolist()) == [0, 1, 2, 3]
    assert torch.allclose(fitted.log_weights.exp()[order], truth.log_weights.exp(), atol=0.02)
    assert torch.allclose(fitted.means[order], truth.means, atol=0.15)
    again = GaussianMixture(dim=3, components=4)
    assert again.fit(codes, iterations=200, tol=1e-4, seed=0, restarts=3) == fit and torch.equal(
        again.means, fitted.means
    )
    with pytest.raises(MnistgenError, match="at least 4 codes"):
        GaussianMixture(3, 4).fit(codes[:3])
    with pytest.raises(MnistgenError, match="non-finite"):
        GaussianMixture(3, 2).fit(torch.full((10, 3), float("nan")))


def test_run_with_a_mixture_prior_fits_it_on_the_best_weights_and_samples_from_it(tmp_path, tiny_mnist_dir):
    cfg = dataclasses.replace(
        tiny_cfg(2, prior_max_codes=300), model=dataclasses.replace(TINY_MODEL, prior_components=5)
    )
    tv.train(cfg, tmp_path / "run", data_dir=tiny_mnist_dir)
    prior = json.loads((tmp_path / "run" / "history.json").read_text())["prior"]
    assert (
        prior["components"] == 5
        and prior["codes"] == 300
        and prior["iterations"] >= 1
        and prior["log_likelihood"] > -100
    )
    best = load_checkpoint(tmp_path / "run" / "checkpoint_best.pt", "vae")
    assert best["state"]["prior"]["log_likelihood"] == prior["log_likelihood"]
    model, _ = tv.load_model(tmp_path / "run")
    assert model.prior is not None and not torch.equal(model.prior.means, torch.zeros(5, 4))
    images = sample_images(tmp_path / "run", 5, seed=1)
    assert images.shape == (5, 1, 28, 28) and torch.equal(images, sample_images(tmp_path / "run", 5, seed=1))
    with torch.no_grad():  # the sampler decodes mixture codes drawn from the seeded CPU generator
        expected = model.decode(model.prior.sample(5, torch.Generator().manual_seed(1)))
    assert torch.allclose(images, expected, atol=1e-6)
    figs = tmp_path / "run" / "figures"  # mixture-prior samples, and the study's N(0, I) grid beside them
    assert (figs / "samples.png").stat().st_size > 1000 and (figs / "samples_normal.png").stat().st_size > 1000
    tv.train(cfg, tmp_path / "again", data_dir=tiny_mnist_dir)  # an identical run fits the identical prior
    again = json.loads((tmp_path / "again" / "history.json").read_text())["prior"]
    assert again["log_likelihood"] == prior["log_likelihood"]


def test_free_bits_optimise_only_above_the_floor():
    mu = torch.tensor([[0.1, 2.0], [-0.1, 2.0]], requires_grad=True)  # dim 0: KL 0.005 nats, dim 1: KL 2 nats
    logvar = torch.zeros(2, 2)
    x = torch.rand(2, 1, 28, 28)
    plain = vae_loss(torch.zeros_like(x), x, mu, logvar)
    floored = vae_loss(torch.zeros_like(x), x, mu, logvar, free_bits=0.5)
    assert floored.kl.item() == pytest.approx(plain.kl.item()) and floored.total.item() == pytest.approx(
        plain.recon.item() + 0.5 + 2.0
    )
    floored.total.backward()
    assert (
        float(mu.grad[:, 0].abs().max()) == 0.0 and float(mu.grad[:, 1].abs().min()) > 0
    )  # only dim 1 is pulled to the prior
