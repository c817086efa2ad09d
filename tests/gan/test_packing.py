"""Packing (PacGAN): the discriminator judges m samples at once, stacked along channels; m = 1 is the plain one."""

from __future__ import annotations

import dataclasses

import torch

from factories import tiny_gan
from mnistgen import gan
from mnistgen.gan.model import Discriminator, build


def test_pack_one_is_the_plain_discriminator_untouched():
    cfg = tiny_gan().model
    assert cfg.pack == 1 and cfg.image_channels == 1
    torch.manual_seed(0)
    _, plain = build(cfg)
    x = torch.rand(6, 1, 28, 28)
    assert plain.packed(x) is x  # no reshape, no copy
    torch.manual_seed(0)
    _, again = build(dataclasses.replace(cfg, pack=1))
    same_weights = all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), again.state_dict().values()))
    plain.eval(), again.eval()
    logits = plain.head(plain.features(x)).squeeze(1)
    assert same_weights and torch.equal(plain(x), logits) and torch.equal(again(x), logits)


def test_a_packed_discriminator_judges_consecutive_samples_stacked_along_channels():
    for channels in (1, 3):
        cfg = dataclasses.replace(tiny_gan().model, pack=2, image_channels=channels)
        d = Discriminator(cfg).eval()
        assert d.features[0].in_channels == 2 * channels
        x = torch.rand(8, channels, 28, 28)
        logits = d(x)
        assert logits.shape == (4,)
        pairs = torch.cat([x[0::2], x[1::2]], 1) if channels == 1 else torch.stack([x[0::2], x[1::2]], 1)
        by_hand = d.head(d.features(pairs.reshape(4, 2 * channels, 28, 28))).squeeze(1)
        assert torch.allclose(logits, by_hand)
        swapped = d(torch.stack([x[1::2], x[0::2]], 1).reshape(8, channels, 28, 28))
        assert not torch.allclose(logits, swapped)  # the order inside a pack is seen


def test_a_packed_dcgan_trains_on_the_same_images(tmp_path, tiny_mnist_dir):
    cfg = dataclasses.replace(tiny_gan(), model=dataclasses.replace(tiny_gan().model, pack=2))
    run = gan.train(cfg, tmp_path / "run", data_dir=tiny_mnist_dir, probe=None)
    assert run.work.counts["images"] == 6 * 32 and run.config.model.pack == 2
    assert run.sample(4, seed=0).shape == (4, 1, 28, 28)
