"""The VAE objective: Bernoulli reconstruction (BCE summed per image) + beta * KL(q(z|x) || N(0, I)), and its mean
over a set of images (``evaluate``: the validation curves).

All terms are averaged over the batch *after* summing over pixels / latent dimensions, so they are
in nats per image, as the study reports them.
"""

from __future__ import annotations

import functools
import operator
from typing import NamedTuple

import torch
import torch.nn.functional as F

from mnistgen.errors import MnistgenError
from mnistgen.vae.model import VAE

CURVES = ("loss", "recon", "kl")  # the terms recorded per epoch


class VAELoss(NamedTuple):
    total: torch.Tensor  # recon + beta * kl_weight * kl (what is minimised)
    recon: torch.Tensor  # BCE summed over the 784 pixels, mean over the batch
    kl: torch.Tensor  # KL(q(z|x) || N(0, I)) summed over latent dims, mean over the batch


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-image KL(N(mu, exp(logvar)) || N(0, I)) = -1/2 sum(1 + logvar - mu^2 - exp(logvar)), (B,)."""
    return -0.5 * torch.sum(1.0 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def reconstruction_bce(output: torch.Tensor, target: torch.Tensor, *, logits: bool = True) -> torch.Tensor:
    """Per-image BCE summed over pixels, (B,). ``output`` are logits (stable) or probabilities in [0, 1]."""
    if output.shape != target.shape:
        raise MnistgenError(
            f"reconstruction shape {tuple(output.shape)} does not match the input {tuple(target.shape)}"
        )
    if logits:
        per_pixel = F.binary_cross_entropy_with_logits(output, target, reduction="none")
    else:
        per_pixel = F.binary_cross_entropy(output.clamp(1e-7, 1 - 1e-7), target, reduction="none")
    return per_pixel.flatten(1).sum(dim=1)


def vae_loss(
    output: torch.Tensor,
    target: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    beta: float = 1.0,
    kl_weight: float = 1.0,
    logits: bool = True,
    free_bits: float = 0.0,
) -> VAELoss:
    """The three terms, each a scalar: total = recon + beta * kl_weight * kl (kl_weight: warm-up factor).

    ``free_bits`` > 0 (Kingma et al. 2016): the KL of each latent dimension, averaged over the batch, is optimised
    only above that many nats, so no dimension is pushed all the way onto the prior (posterior collapse). The reported
    ``kl`` is always the plain KL.
    """
    recon = reconstruction_bce(output, target, logits=logits).mean()
    per_dim = -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).mean(0)  # (d,) batch-mean KL of each dimension
    kl = per_dim.sum()
    optimised = per_dim.clamp(min=free_bits).sum() if free_bits > 0 else kl
    return VAELoss(recon + (beta * kl_weight) * optimised, recon, kl)


def kl_warmup(step: int, warmup_steps: int) -> float:
    """Linear KL warm-up factor in [0, 1]: 0 -> 1 over ``warmup_steps`` optimiser steps (0 = off)."""
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / warmup_steps)


def mmd_to_standard_normal(z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Unbiased MMD^2 between a batch of codes ``z`` (B, d) and as many draws of N(0, I) (InfoVAE / WAE).

    Inverse multiquadratic kernels k(a, b) = C / (C + |a - b|^2) at scales C = s * 2d, summed over s.
    Pulling the *aggregate* posterior onto the prior is what makes decoded prior samples look like
    data; the per-image KL alone does not ensure it.
    """
    n, d = z.shape
    if n < 2:
        return z.new_zeros(())
    prior = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
    both = torch.cat([z, prior])  # (2B, d)
    dist = torch.cdist(both, both).pow(2)  # (2B, 2B)
    k = functools.reduce(
        operator.add, (c / (c + dist) for c in (2.0 * d * s for s in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)))
    )
    off = 1.0 - torch.eye(n, device=z.device, dtype=z.dtype)
    kqq, kpp, kqp = k[:n, :n], k[n:, n:], k[:n, n:]
    return ((kqq * off).sum() + (kpp * off).sum()) / (n * (n - 1)) - 2.0 * kqp.mean()


@torch.no_grad()
def evaluate(
    model: VAE, images: torch.Tensor, beta: float, gen: torch.Generator, device: torch.device, batch: int = 1000
) -> dict[str, float]:
    """Mean combined loss (recon + beta*KL), reconstruction and KL per image over ``images``."""
    model.eval()
    sums = dict.fromkeys(CURVES, 0.0)
    for i in range(0, len(images), batch):
        x = images[i : i + batch].to(device)
        out = model(x, gen)
        terms = vae_loss(out.logits, x, out.mu, out.logvar, beta=beta)
        for name, value in zip(CURVES, terms):
            sums[name] += float(value) * len(x)
    return {k: v / max(len(images), 1) for k, v in sums.items()}
