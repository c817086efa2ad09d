"""The generator's weight average: the EMA's warm-up, and BatchNorm statistics recomputed for the averaged weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from factories import resumes_exactly, tiny_gan
from mnistgen import gan as T
from mnistgen.errors import MnistgenError
from mnistgen.gan.averaging import BN_SEED, recalibrate_bn, update_ema
from mnistgen.gan.model import GANModelConfig, Generator

BN_G = tiny_gan(categories=3, code="clusters").model  # the tiny preset (BatchNorm in G), 3 cluster codes


def _pair(value_g: float, value_ema: float) -> tuple[Generator, Generator]:
    g, ema = Generator(BN_G), Generator(BN_G)
    with torch.no_grad():
        for p in g.parameters():
            p.fill_(value_g)
        for p in ema.parameters():
            p.fill_(value_ema)
    return g, ema


@pytest.mark.parametrize(
    "ramp, step, cap, decay",
    [
        (9.0, 0, 0.999, 0.1),
        (3.0, 0, 0.999, 0.7),
        (9.0, 990, 0.999, 0.991),
        (3.0, 990, 0.999, 0.997),
        (3.0, 990, 0.99, 0.99),
        (3.0, 5000, 0.999, 0.999),
    ],
)
def test_the_ema_warms_up_over_about_the_last_1_over_ramp_of_the_steps(ramp, step, cap, decay):
    g, ema = _pair(1.0, 0.0)
    update_ema(ema, g, T.GANTrainConfig(ema_decay=cap, ema_ramp=ramp), step)
    assert float(ema.dense.weight[0, 0].detach()) == pytest.approx(1.0 - decay)  # decay * 0 + (1 - decay) * 1


def test_with_ema_bn_the_average_keeps_its_own_batchnorm_statistics_and_copies_the_other_buffers():
    g, ema = _pair(1.0, 0.0)
    bn_g, bn_ema = (next(m for m in net.modules() if isinstance(m, nn.BatchNorm1d)) for net in (g, ema))
    bn_g.running_mean.fill_(5.0)
    g.code_freq.copy_(torch.tensor([0.5, 0.3, 0.2]))
    update_ema(ema, g, T.GANTrainConfig(ema_decay=0.9, ema_bn=True), 10)
    assert float(bn_ema.running_mean.abs().max()) == 0.0 and torch.equal(ema.code_freq, g.code_freq)
    update_ema(ema, g, T.GANTrainConfig(ema_decay=0.9, ema_bn=False), 11)
    assert torch.equal(bn_ema.running_mean, bn_g.running_mean)


def test_recomputed_statistics_are_the_average_over_the_seeded_latents():
    torch.manual_seed(0)
    g = Generator(BN_G)
    first = next(m for m in g.modules() if isinstance(m, nn.BatchNorm1d))
    first.running_mean.fill_(7.0)
    first.momentum = 0.3
    g.eval()
    assert recalibrate_bn(g, "cpu", n=96, batch=32)
    gen = torch.Generator().manual_seed(BN_SEED)
    with torch.no_grad():
        batches = [g.dense(g.sample_latent(32, gen)) for _ in range(3)]  # (32, 8 * 49) each: what the first BN saw
    assert torch.allclose(first.running_mean, torch.cat(batches).mean(0), atol=1e-5)
    assert torch.allclose(first.running_var, torch.stack([b.var(0) for b in batches]).mean(0), atol=1e-5)
    assert first.momentum == 0.3 and not g.training  # the layer's settings and the mode are given back


def test_a_generator_without_batchnorm_is_left_alone():
    g = Generator(GANModelConfig())
    before = {k: v.clone() for k, v in g.state_dict().items()}
    assert not recalibrate_bn(g, "cpu", n=8, batch=4)
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in before.items())


def test_ema_ramp_out_of_range_is_a_one_line_error():
    for bad in (0.0, -1.0, 10.5):
        with pytest.raises(MnistgenError, match="train.ema_ramp"):
            T.GANTrainConfig(ema_ramp=bad)


def _cfg(steps: int) -> T.GANRunConfig:
    return tiny_gan(steps, train={"ema_ramp": 3.0, "ema_bn": True}, categories=3, code="clusters")


def test_a_run_with_recomputed_statistics_resumes_exactly_and_samples_with_them(tmp_path, tiny_mnist_dir):
    a, _ = resumes_exactly(T.train, _cfg, 3, 6, "gan", tmp_path, data_dir=tiny_mnist_dir, probe=None)
    g, _ = T.load_generator(tmp_path / "full")  # the saved statistics are the averaged weights' own
    saved = {k: v.clone() for k, v in g.state_dict().items()}
    recalibrate_bn(g, "cpu")
    assert all(torch.allclose(v, g.state_dict()[k], atol=1e-6) for k, v in saved.items())
    assert not torch.allclose(
        a["extra"]["ema"]["dense_post.0.running_mean"], a["models"]["generator"]["dense_post.0.running_mean"]
    )
