"""GAN losses on discriminator LOGITS: ``bce`` (non-saturating), ``wgan`` (clipping), ``wgan-gp``.

Each loss also names its training defaults (optimizer, learning rates, betas, critic steps per
generator step, weight clipping), which a run config may override field by field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mnistgen.errors import MnistgenError

LOSSES = ("bce", "wgan", "wgan-gp")


@dataclass(frozen=True)
class LossDefaults:
    optimizer: str  # adam | rmsprop
    lr_g: float
    lr_d: float
    beta1: float
    beta2: float
    n_critic: int  # discriminator updates per generator update
    clip: float  # weight clipping bound (0 = none)
    gp_weight: float  # gradient-penalty weight (0 = none)


DEFAULTS = {
    # DCGAN recipe of the study: Adam 2e-4, beta1 0.5
    "bce": LossDefaults("adam", 2e-4, 2e-4, 0.5, 0.999, 1, 0.0, 0.0),
    # Arjovsky et al. 2017: RMSprop 5e-5, n_critic 5, clip 0.01
    "wgan": LossDefaults("rmsprop", 5e-5, 5e-5, 0.0, 0.0, 5, 0.01, 0.0),
    # Gulrajani et al. 2017: Adam 1e-4, betas (0, 0.9), n_critic 5, lambda 10
    "wgan-gp": LossDefaults("adam", 1e-4, 1e-4, 0.0, 0.9, 5, 0.0, 10.0),
}


def check_loss(name: str) -> str:
    if name not in LOSSES:
        raise MnistgenError(f"unknown GAN loss {name!r}; choose one of: {', '.join(LOSSES)}")
    return name


def defaults(name: str) -> LossDefaults:
    return DEFAULTS[check_loss(name)]


def clip_logits(logits: torch.Tensor, bound: float) -> torch.Tensor:
    """Logits clamped to +-``bound`` (0 = unclamped): Keras's cross-entropy clips probabilities at 1e-7, i.e. logits
    at +-16.12, which caps the gradient a saturated discriminator passes on."""
    return logits.clamp(-bound, bound) if bound > 0 else logits


def d_loss(name: str, real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    """Discriminator/critic loss (without the gradient penalty), to minimise. ``real_target`` < 1 is one-sided label
    smoothing of the cross-entropy (Salimans et al. 2016): real images are labelled e.g. 0.9 instead of 1."""
    check_loss(name)
    if name == "bce":  # -t log D(x) - (1 - t) log(1 - D(x)) - log(1 - D(G(z))), D = sigmoid(logit)
        real = (
            F.softplus(-real_logits)
            if real_target == 1.0
            else F.binary_cross_entropy_with_logits(
                real_logits, torch.full_like(real_logits, real_target), reduction="none"
            )
        )
        return real.mean() + F.softplus(fake_logits).mean()
    return fake_logits.mean() - real_logits.mean()  # -(E[f(x)] - E[f(G(z))])


def g_loss(name: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss, to minimise: non-saturating -log D(G(z)) for bce, -E[f(G(z))] for Wasserstein."""
    check_loss(name)
    if name == "bce":
        return F.softplus(-fake_logits).mean()
    return -fake_logits.mean()


def info_loss(code_logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """InfoGAN's categorical term: cross-entropy of Q(c | G(z, c)) against the code c that made the sample
    (log K minus this is a lower bound on the mutual information I(c; G(z, c)))."""
    return F.cross_entropy(code_logits.float(), codes)


def wasserstein_estimate(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> float:
    """The critic's estimate E[f(x)] - E[f(G(z))] (meaningful for wgan / wgan-gp)."""
    return float(real_logits.detach().mean() - fake_logits.detach().mean())


Critic = Callable[[torch.Tensor], torch.Tensor]  # images -> logits


def gradient_penalty(
    critic: Critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """E[(||grad_x f(x_hat)||_2 - 1)^2], x_hat = eps*real + (1-eps)*fake, one eps ~ U(0,1) per sample."""
    eps = torch.rand(
        real.shape[0], 1, 1, 1, generator=generator, device=real.device if generator is None else "cpu"
    ).to(real.device)
    x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


def r1_penalty(critic: Critic, real: torch.Tensor) -> torch.Tensor:
    """E[||grad_x D(x)||^2] on real images (Mescheder et al. 2018): keeps the discriminator smooth on the data."""
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, bound: float) -> None:
    """Clamp every parameter of the critic to [-bound, bound] (the original WGAN's Lipschitz trick)."""
    for p in module.parameters():
        p.clamp_(-bound, bound)


def make_optimizer(
    kind: str, params, lr: float, betas: tuple[float, float], eps: float = 1e-8
) -> torch.optim.Optimizer:
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise MnistgenError(f"unknown optimizer {kind!r}; choose adam or rmsprop")
