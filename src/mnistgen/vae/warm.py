"""Warm starts: a VAE begins from the weights of another VAE run (e.g. the 2-D seed VAE from the 10-D one).

Every tensor with the same name and shape is copied. What the latent size changes (the heads to mu and log var and
the decoder's first layer) is either left at its fresh initialisation or, when training images are given
(``train.warm_plane`` > 0), set so that the new model starts as the old one restricted to its *principal plane*:
mu' = P (mu - m) with P the top principal directions of the old model's means on training images (m their mean),
and a decoder that reads z' as m + P^T z'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mnistgen import rundir
from mnistgen.checkpoint import load_checkpoint
from mnistgen.errors import MnistgenError
from mnistgen.vae.config import KIND
from mnistgen.vae.model import VAE


def warm_start(model: VAE, run_dir: str, images: torch.Tensor | None = None) -> dict[str, Any]:
    """Copy the weights of ``run_dir``'s best checkpoint that fit ``model``; with ``images`` (N, 1, 28, 28) and a
    larger source latent, also start the model on the source's principal plane. Returns what was done."""
    path = Path(run_dir) / rundir.BEST
    if not path.is_file():
        raise MnistgenError(f"train.warm_start: {run_dir} holds no finished VAE run (no {rundir.BEST})")
    source, own = load_checkpoint(path, KIND)["models"]["vae"], model.state_dict()
    copied = [
        k for k, v in source.items() if k.startswith(("encoder.", "decoder.")) and k in own and own[k].shape == v.shape
    ]
    if not copied:
        raise MnistgenError(f"train.warm_start: no weights of {run_dir} fit this model")
    model.load_state_dict({k: source[k] for k in copied}, strict=False)
    done: dict[str, Any] = {"from": str(run_dir), "tensors": copied}
    if images is not None and source["encoder.mu.weight"].shape[0] > model.latent_dim:
        done["plane"] = _principal_plane(model, source, images)
    return done


@torch.no_grad()
def _principal_plane(model: VAE, source: dict[str, torch.Tensor], images: torch.Tensor) -> dict[str, Any]:
    """Set the mean head and the decoder's first layer from the source's top principal directions of its means."""
    hidden = []
    hook = model.encoder.mu.register_forward_hook(lambda _m, args, _out: hidden.append(args[0]))
    model.eval()
    model.posterior_means(images)  # the shared encoder body's features, (N, hidden), caught at the mean head
    hook.remove()
    w, b = source["encoder.mu.weight"], source["encoder.mu.bias"]  # (D, hidden), (D,)
    mu = torch.cat(hidden) @ w.T + b  # (N, D): the source model's means
    mean = mu.mean(0)  # (D,)
    _, s, vh = torch.linalg.svd(mu - mean, full_matrices=False)
    d = model.latent_dim
    p = vh[:d] * torch.sign(vh[:d].gather(1, vh[:d].abs().argmax(1, keepdim=True)))  # (d, D), largest entry positive
    model.encoder.mu.weight.copy_(p @ w)
    model.encoder.mu.bias.copy_(p @ (b - mean))
    first = model.decoder.dense[0]  # the decoder's first linear layer: z -> hidden
    assert isinstance(first, torch.nn.Linear)
    wd, bd = source["decoder.dense.0.weight"], source["decoder.dense.0.bias"]  # (H, D), (H,)
    first.weight.copy_(wd @ p.T)
    first.bias.copy_(bd + wd @ mean)
    explained = float((s[:d] ** 2).sum() / (s**2).sum())
    return {"images": len(images), "explained_variance": explained}
