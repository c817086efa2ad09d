"""GAN categorical latent code (InfoGAN): latent layout, the Q head, the code loss, training with it."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from factories import resumes_exactly, tiny_gan
from mnistgen import gan as T
from mnistgen import rundir
from mnistgen.errors import MnistgenError
from mnistgen.gan import loss as L
from mnistgen.gan.model import GANModelConfig, build

CAT = tiny_gan(z_dim=6, categories=4).model  # the tiny preset with a free (InfoGAN) code of 4 categories


def cat_cfg(steps: int, **model) -> T.GANRunConfig:
    return tiny_gan(steps, **({"z_dim": 6, "categories": 4} | model))


def test_latent_is_noise_then_one_hot_code():
    g, _ = build(CAT)
    lat = g.sample_latent(50, torch.Generator().manual_seed(1))
    assert lat.shape == (50, 10) and g.latent_dim == 10
    one_hot = lat[:, 6:]
    assert torch.equal(one_hot.sum(1), torch.ones(50)) and set(one_hot.unique().tolist()) == {0.0, 1.0}
    assert set(g.codes_of(lat).tolist()) == {0, 1, 2, 3}  # 50 uniform draws hit all 4 codes
    assert torch.equal(lat, g.sample_latent(50, torch.Generator().manual_seed(1)))
    given = g.sample_latent(3, torch.Generator().manual_seed(1), codes=torch.tensor([2, 0, 3]))
    assert g.codes_of(given).tolist() == [2, 0, 3]
    assert g(lat).shape == (50, 1, 28, 28)
    plain, _ = build(dataclasses.replace(CAT, categories=0))  # no code: exactly the old N(0, I) noise
    assert torch.equal(
        plain.sample_latent(5, torch.Generator().manual_seed(2)),
        torch.randn(5, 6, generator=torch.Generator().manual_seed(2)),
    )


def test_q_head_shares_the_discriminator_body():
    _, d = build(CAT)
    x = torch.rand(5, 1, 28, 28)
    d.eval()
    logits, q = d.forward_with_code(x)
    assert logits.shape == (5,) and q.shape == (5, 4)
    assert torch.equal(logits, d(x))
    _, plain = build(dataclasses.replace(CAT, categories=0))
    assert plain.forward_with_code(x)[1] is None and plain.q_head is None


def test_info_loss_values():
    uniform = torch.zeros(3, 4)
    assert L.info_loss(uniform, torch.tensor([0, 1, 3])).item() == pytest.approx(math.log(4))  # no information
    sure = torch.tensor([[20.0, 0, 0, 0], [0, 0, 20.0, 0]])
    assert L.info_loss(sure, torch.tensor([0, 2])).item() < 1e-6
    assert L.info_loss(sure, torch.tensor([1, 2])).item() == pytest.approx(
        20.0 / 2, rel=1e-3
    )  # one sample wrong by ~20 nats


def test_bad_categories_are_one_line_errors():
    with pytest.raises(MnistgenError, match="categories"):
        GANModelConfig(categories=1)
    with pytest.raises(MnistgenError, match="info_weight"):
        T.GANTrainConfig(info_weight=-1.0)


def test_training_learns_the_code_and_resumes_exactly(tmp_path, tiny_mnist_dir):
    a, _ = resumes_exactly(T.train, cat_cfg, 3, 6, "gan", tmp_path, data_dir=tiny_mnist_dir, probe=None)
    full = T.open_trained(tmp_path / "full")
    assert "q_head.weight" in a["models"]["discriminator"]
    ha, hb = (rundir.read_json(tmp_path / r / "history.json") for r in ("full", "part"))
    assert len(ha["info"]) == full.summary["steps"] == 6 and ha["info"] == hb["info"]
    assert all(0.0 <= v < 3 * math.log(4) for v in ha["info"])
    g, _ = T.load_generator(full.run_dir)
    assert g.categories == 4
    grid = T.grid_latent(g)
    assert g.codes_of(grid).tolist() == [(i // 10) % 4 for i in range(100)]  # one code per grid row
    figs = {p.name: p for p in T.make_figures(full.run_dir)}
    assert set(figs) == {"losses.png", "samples.png", "codes.png"} and figs["codes.png"].stat().st_size > 1000


def test_code_loss_trains_q_to_recover_the_code():
    torch.manual_seed(0)
    g, d = build(CAT)
    opt = torch.optim.Adam([*g.parameters(), *d.parameters()], lr=3e-3)
    first = None
    for _ in range(40):
        lat = g.sample_latent(64)
        loss = L.info_loss(d.forward_with_code(g(lat))[1], g.codes_of(lat))
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first == pytest.approx(math.log(4), abs=0.3) and loss.item() < 0.2
