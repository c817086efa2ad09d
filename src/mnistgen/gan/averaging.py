"""The generator's weight average (EMA) and the BatchNorm statistics that go with it.

Samples come from an exponential moving average of the generator's weights, which draws better images than the
weights of any single step (Yazıcı et al. 2019, "The unusual effectiveness of averaging in GAN training"). Its decay
warms up as ``min(ema_decay, (10 + step - ema_ramp) / (10 + step))``: until ``ema_decay`` caps it, the average
spans about the last ``1 / ema_ramp`` of the steps taken (``ema_ramp`` 9 is the usual ``(1 + step) / (10 + step)``;
3, the last third).

Averaged weights need their own BatchNorm statistics. Copying the live generator's running statistics into the
average (``ema_bn`` off) fits it only while it spans a few steps; with ``ema_bn`` on they are recomputed for the
averaged weights whenever the average is about to draw (a probe, a progress grid, a checkpoint): one pass in
training mode over a fixed, seeded set of latents, as stochastic weight averaging does (Izmailov et al. 2018). The
statistics are a function of the averaged weights alone, so a resumed run gets the same ones.
"""

from __future__ import annotations

import torch
from torch import nn

from mnistgen.gan.config import GANTrainConfig
from mnistgen.gan.model import Generator

BN_SEED = 8642  # the latents of the BatchNorm pass (independent of the training RNG)
BN_LATENTS, BN_BATCH = 1024, 256


_BN = nn.modules.batchnorm._BatchNorm  # BatchNorm1d/2d/3d


def _bn_layers(g: nn.Module) -> list[_BN]:
    return [m for m in g.modules() if isinstance(m, _BN)]


@torch.no_grad()
def update_ema(ema: Generator, g: Generator, t: GANTrainConfig, step: int) -> None:
    """One EMA step of ``ema`` towards ``g``'s weights (``step``: generator steps taken before this one); buffers
    copied, except the BatchNorm statistics when ``t.ema_bn`` recomputes them."""
    decay = min(t.ema_decay, (10 + step - t.ema_ramp) / (10 + step))
    for pe, pg in zip(ema.parameters(), g.parameters()):
        pe.lerp_(pg, 1.0 - decay)
    for me, mg in zip(ema.modules(), g.modules()):
        if t.ema_bn and isinstance(me, _BN):
            continue
        for be, bg in zip(me.buffers(recurse=False), mg.buffers(recurse=False)):
            be.copy_(bg)


@torch.no_grad()
def recalibrate_bn(g: Generator, device: torch.device | str, n: int = BN_LATENTS, batch: int = BN_BATCH) -> bool:
    """Recompute the running statistics of ``g``'s BatchNorm layers for its current weights, from ``n`` seeded latents
    in batches of ``batch`` (a cumulative average over the batches). Returns False when ``g`` has no BatchNorm."""
    layers = _bn_layers(g)
    if not layers:
        return False
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # None: the running statistics become the plain average over the batches
    was, gen = g.training, torch.Generator().manual_seed(BN_SEED)
    g.train()
    for i in range(0, n, batch):
        g(g.sample_latent(min(batch, n - i), gen, device))  # (B, C, 28, 28), only the statistics are kept
    for m, momentum in zip(layers, momenta):
        m.momentum = momentum
    g.train(was)
    return True
