"""Decoder refinement: after the joint training, the decoder alone trains on the frozen encoder's posteriors.

The seed networks pair a 256-unit LSTM encoder with a decoder of a few thousand weights. A joint epoch costs what the
LSTM costs, and when early stopping ends the joint training the decoder is still far from the best it can do for that
encoder (bench/RESULTS.md, eleventh session). With the encoder frozen, the KL term, the codes, the latent map and the
mixture prior fitted to the codes are all fixed; the objective's only free part is the reconstruction term
E_q(z|x)[-log p(x|z)]. Training the decoder on z ~ q(z|x) is therefore coordinate ascent on the same ELBO and, with
the training images encoded once, several times cheaper per image than a joint epoch. The refined decoder is kept
only if it lowers the validation loss.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch

from mnistgen.runtime import placed
from mnistgen.vae.config import VAETrainConfig
from mnistgen.vae.loss import evaluate, reconstruction_bce
from mnistgen.vae.model import VAE

_SALT = 7_919  # the refinement's own random stream (image draw, order, reparameterisation noise)


def _fit(
    model: VAE, images: torch.Tensor, mu: torch.Tensor, sd: torch.Tensor, tc: VAETrainConfig, gen: torch.Generator
) -> float:
    """``tc.decoder_epochs`` shuffled passes of Adam (one-cycle to ``tc.decoder_lr``) on the decoder's BCE; returns
    the last pass's mean."""
    decoder, device = model.decoder, mu.device
    opt = torch.optim.Adam(decoder.parameters(), lr=tc.decoder_lr, eps=tc.adam_eps)
    per_epoch = math.ceil(len(images) / tc.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=tc.decoder_lr, total_steps=tc.decoder_epochs * per_epoch)
    decoder.train()
    total = 0.0
    for _ in range(tc.decoder_epochs):
        order, total = torch.randperm(len(images), generator=gen), 0.0
        for i in range(per_epoch):
            idx = order[i * tc.batch_size : (i + 1) * tc.batch_size]
            eps = torch.randn(len(idx), mu.shape[1], generator=gen).to(device)
            on = idx.to(device)
            z = mu[on] + sd[on] * eps  # (B, d) ~ q(z|x)
            loss = reconstruction_bce(decoder.logits(z), images[idx].to(device)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
    return total / len(images)


def refine_decoder(
    model: VAE,
    train_images: torch.Tensor,
    val_images: torch.Tensor,
    tc: VAETrainConfig,
    seed: int,
    device: torch.device,
    val_generator: Callable[[], torch.Generator],
) -> dict[str, Any]:
    """Refine ``model.decoder`` in place (see the module's docstring); returns what it did and the validation losses
    before and after (``val_generator()`` gives the reparameterisation noise of a validation pass)."""
    started = time.monotonic()
    gen = torch.Generator().manual_seed(seed * 1_000_003 + _SALT)
    pick = torch.randperm(len(train_images), generator=gen)[: tc.decoder_images or len(train_images)]
    images = train_images[pick].contiguous()
    mu, logvar = model.eval().posteriors(images)  # encoded once: the encoder is frozen
    sd = torch.exp(0.5 * logvar)
    before = evaluate(model, val_images, tc.beta, val_generator(), device)
    joint = {k: v.clone() for k, v in model.decoder.state_dict().items()}
    fmt = torch.channels_last if tc.channels_last else torch.contiguous_format
    placed(model.decoder, fmt=torch.channels_last)  # ~1.7x faster for this decoder's small convolutions on CPU
    train_recon = _fit(model, images, mu, sd, tc, gen)
    placed(model.decoder, fmt=fmt)
    after = evaluate(model, val_images, tc.beta, val_generator(), device)
    kept = after["loss"] <= before["loss"] or not len(val_images)
    if not kept:
        model.decoder.load_state_dict(joint)
    return {
        "epochs": tc.decoder_epochs,
        "images": len(images),
        "images_seen": tc.decoder_epochs * len(images),
        "batch_size": tc.batch_size,
        "lr": tc.decoder_lr,
        "train_recon": train_recon,
        "val_loss_before": before["loss"],
        "val_loss_after": after["loss"],
        "val_recon_before": before["recon"],
        "val_recon_after": after["recon"],
        "kept": bool(kept),
        "seconds": time.monotonic() - started,
    }
