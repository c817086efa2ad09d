"""Cluster-conditioned GAN codes: k-means pseudo-labels, the projection discriminator, training and resume."""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest
import torch

from mnistgen import gan as T
from mnistgen import rundir
from mnistgen.checkpoint import load_checkpoint
from mnistgen.clusters import cluster_images, kmeans
from mnistgen.config import DataConfig, RuntimeConfig
from mnistgen.errors import MnistgenError
from mnistgen.gan import loss as L
from mnistgen.gan.model import GANModelConfig, build

CL = GANModelConfig(
    z_dim=6,
    g_channels=(8, 4),
    g_norm="batch",
    g_act="relu",
    output="tanh",
    d_channels=(8, 8),
    d_kernel=4,
    d_dropout=0.0,
    categories=4,
    code="clusters",
)


def blobs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three tight, well separated blobs in R^5 of 40, 25 and 15 points, and their true labels."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0] * 5, [10.0] + [0.0] * 4, [0.0, 10.0, 0.0, 0.0, 0.0]])
    labels = torch.cat([torch.full((m,), i) for i, m in enumerate((40, 25, 15))])
    return centres[labels] + 0.3 * torch.randn(len(labels), 5, generator=gen), labels


def test_kmeans_recovers_separated_blobs_deterministically():
    x, labels = blobs()
    assign, centres = kmeans(x, 3, seed=5)
    assert centres.shape == (3, 5)
    mapping = {int(a): int(lab) for a, lab in zip(assign, labels)}  # each cluster maps to exactly one blob ...
    assert len(set(mapping.values())) == 3 and all(mapping[int(a)] == int(lab) for a, lab in zip(assign, labels))
    assert sorted(torch.bincount(assign).tolist()) == [15, 25, 40]  # ... and holds all of it
    assert torch.equal(assign, kmeans(x, 3, seed=5)[0])
    with pytest.raises(MnistgenError, match="K"):
        kmeans(x, 1)
    with pytest.raises(MnistgenError, match="K"):
        kmeans(x, 81)


def test_cluster_images_leaves_the_global_rng_alone():
    x = torch.rand(60, 1, 28, 28)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    a = cluster_images(x, 4, seed=1)
    assert torch.equal(torch.rand(3), expected)
    assert a.shape == (60,) and set(a.tolist()) <= {0, 1, 2, 3} and torch.equal(a, cluster_images(x, 4, seed=1))


def test_cluster_images_fits_once_per_images_and_arguments(monkeypatch):
    from mnistgen import clusters as C

    calls = []
    real_kmeans = C.kmeans
    monkeypatch.setattr(C, "kmeans", lambda *a, **k: calls.append(1) or real_kmeans(*a, **k))
    monkeypatch.setattr(C, "_MEMO", type(C._MEMO)())
    x = torch.rand(60, 1, 28, 28)
    a = C.cluster_images(x, 4, seed=1)
    a[:] = 0  # the caller's copy: the memo keeps its own
    b = C.cluster_images(x.clone(), 4, seed=1)
    assert len(calls) == 1 and not torch.equal(a, b)
    y = x.clone()
    y[0, 0, 0, 0] += 0.5
    C.cluster_images(y, 4, seed=1)  # other images
    C.cluster_images(x, 4, seed=2)  # another seed
    assert len(calls) == 3 and len(C._MEMO) == C._MEMO_SIZE  # bounded: the oldest entry went


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
    return T.GANRunConfig(
        data=DataConfig(val_size=0, limit=256),
        runtime=RuntimeConfig(device="cpu", seed=3, threads=1),
        model=CL,
        train=T.GANTrainConfig(batch_size=32, steps=steps, ema_decay=0.9, checkpoint_every=3),
    )


def test_cluster_run_trains_samples_and_resumes_exactly(tmp_path, tiny_mnist_dir):
    full = T.train(cl_cfg(6), tmp_path / "full", data_dir=tiny_mnist_dir, probe=None)
    T.train(cl_cfg(3), tmp_path / "part", data_dir=tiny_mnist_dir, probe=None)
    T.train(cl_cfg(6), resume=tmp_path / "part", data_dir=tiny_mnist_dir, probe=None)
    a, b = (load_checkpoint(tmp_path / r / "checkpoint_last.pt", "gan") for r in ("full", "part"))
    assert torch.equal(a["extra"]["clusters"], b["extra"]["clusters"]) and a["extra"]["clusters"].shape == (256,)
    for section in ("generator", "discriminator"):
        for k, v in a["models"][section].items():
            assert torch.equal(v, b["models"][section][k]), (section, k)
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
