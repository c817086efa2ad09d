"""The second stage of a two-stage VAE: fit ``model.stage2`` to the codes of the trained first stage.

Runs after the first stage's epochs, on the best first-stage weights: encode the training images
(posterior means), then train the latent VAE for ``train.stage2_epochs`` with a cosine learning
rate. Seeded generators make it reproducible; the first stage is frozen throughout.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from mnistgen.errors import MnistgenError
from mnistgen.models.vae import VAE
from mnistgen.runtime import progress


def train_stage2(model: VAE, images: torch.Tensor, *, epochs: int, batch_size: int, lr: float, seed: int,
                 device: torch.device) -> dict[str, Any]:
    """Train ``model.stage2`` in place; returns its history (per-epoch loss, KL, gamma, seconds)."""
    if model.stage2 is None:
        raise MnistgenError("this VAE has no second stage (model.stage2_hidden = 0)")
    started = time.monotonic()
    codes = model.eval().posterior_means(images)  # (N, d) on the model's device
    s2 = model.stage2.float().train()
    opt = torch.optim.Adam(s2.parameters(), lr=lr)
    gen_cpu = torch.Generator().manual_seed(seed * 7919 + 17)
    noise = torch.Generator(device=device).manual_seed(seed * 7919 + 18)
    n = len(codes)
    per_epoch = math.ceil(n / batch_size)
    total, step = epochs * per_epoch, 0
    hist: dict[str, Any] = {"epoch": [], "loss": [], "kl": [], "gamma": [], "seconds": []}
    for ep in progress(range(1, epochs + 1), desc="vae second stage", unit="epoch"):
        order = torch.randperm(n, generator=gen_cpu).to(device)
        loss_sum = kl_sum = 0.0
        for i in range(per_epoch):
            z = codes[order[i * batch_size : (i + 1) * batch_size]]
            for group in opt.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total))
            loss, kl = s2.loss(z, noise)
            if not torch.isfinite(loss):
                raise MnistgenError(f"the VAE's second stage diverged (NaN loss in its epoch {ep}); lower train.stage2_lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += float(loss.detach()) * len(z)
            kl_sum += float(kl.detach()) * len(z)
        hist["epoch"].append(ep)
        hist["loss"].append(loss_sum / n)
        hist["kl"].append(kl_sum / n)
        hist["gamma"].append(float(s2.log_gamma.detach().exp()))
        hist["seconds"].append(time.monotonic() - started)
    s2.eval()
    return hist
