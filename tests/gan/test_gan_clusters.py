"""Cluster-conditioned GAN codes: k-means pseudo-labels, the projection discriminator, training and resume."""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest
import torch

from factories import resumes_exactly, tiny_gan
from mnistgen import gan as T
from mnistgen import rundir
from mnistgen.errors import MnistgenError
from mnistgen.gan import loss as L
from mnistgen.gan.model import GANModelConfig, build

CL = tiny_gan(z_dim=6, categories=4, code="clusters").model  # the tiny preset, conditioned on 4 clusters


def test_projection_discriminator_and_code_frequencies():
    g, d = build(CL)
    d.eval()
    x, codes = torch.rand(5, 1, 28, 28), torch.tensor([0, 1, 2, 3, 0])
    with pytest.raises(MnistgenError, match="codes"):
        d(x)
    assert d.q_head is None and d.forward_with_code(x, codes)[1] is None  # no InfoGAN head: the code is given
    plain = d.head(d.features(x)).squeeze(1)
    assert torch.allclose(d(x, codes), plain)  # zero-initialised embedding: starts unconditional
    with torch.no_grad():
        d.embed.weight.copy_(torch.randn_like(d.embed.weight))
    h = d.features(x)
    assert torch.allclose(d(x, codes), plain + (d.embed.weight[codes] * h).sum(1), atol=1e-5)
    assert torch.allclose(d.forward_with_code(x, codes)[0], d(x, codes))
    g.code_freq.copy_(torch.tensor([0.0, 0.0, 1.0, 0.0]))  # the trainer sets the clusters' frequencies
    assert g.codes_of(g.sample_latent(20, torch.Generator().manual_seed(0))).tolist() == [2] * 20
    with pytest.raises(MnistgenError, match="categories"):
        GANModelConfig(code="clusters")
    with pytest.raises(MnistgenError, match="model.code"):
        GANModelConfig(code="labels", categories=10)


def test_gradient_penalty_through_the_conditioned_critic():
    _, d = build(dataclasses.replace(CL, d_norm="layer"))
    real, fake, codes = torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
    gp = L.gradient_penalty(partial(d, codes=codes), real, fake, generator=torch.Generator().manual_seed(0))
    assert gp.ndim == 0 and torch.isfinite(gp) and gp.item() >= 0


def cl_cfg(steps: int) -> T.GANRunConfig:
    return tiny_gan(steps, z_dim=6, categories=4, code="clusters")


def test_cluster_run_trains_samples_and_resumes_exactly(tmp_path, tiny_mnist_dir):
    a, _ = resumes_exactly(T.train, cl_cfg, 3, 6, "gan", tmp_path, data_dir=tiny_mnist_dir, probe=None)
    full = T.open_trained(tmp_path / "full")
    assert a["extra"]["clusters"].shape == (256,)
    freq = torch.bincount(a["extra"]["clusters"].long(), minlength=4).float() / 256
    g, _ = T.load_generator(full.run_dir)
    assert torch.allclose(g.code_freq, freq) and torch.allclose(a["extra"]["ema"]["code_freq"], freq)
    conv = next(m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)  # the format it trained in (faster sampling)
    z = g.sample_latent(5, torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(g(z), g.to(memory_format=torch.contiguous_format)(z), atol=1e-5)
    assert (
        "embed.weight" in a["models"]["discriminator"] and a["models"]["discriminator"]["embed.weight"].abs().sum() > 0
    )
    assert "info" not in rundir.read_json(tmp_path / "full" / "history.json")
    figs = {p.name: p for p in T.make_figures(full.run_dir)}
    assert set(figs) == {"losses.png", "samples.png", "codes.png"}
    assert T.load_sampler(tmp_path / "full", torch.device("cpu"))(7, torch.Generator().manual_seed(0)).shape == (
        7,
        1,
        28,
        28,
    )


def test_more_clusters_than_images_is_a_one_line_error(tmp_path, tiny_mnist_dir):
    cfg = dataclasses.replace(cl_cfg(2), model=dataclasses.replace(CL, categories=300))  # the data holds 256 images
    with pytest.raises(MnistgenError, match=r"model.categories=300 .* 256"):
        T.train(cfg, tmp_path / "run", data_dir=tiny_mnist_dir, probe=None)
