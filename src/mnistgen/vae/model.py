"""VAE encoders and decoders: the study's ``seed`` architecture (docs/original-study.md) and a strong ``conv`` one.

Every decoder computes *logits* (``decoder.logits(z)``, for a numerically stable BCE) and its
``forward``/``decode`` applies the sigmoid, so ``decode(z)`` returns pixel means in [0, 1] as the
study's table has it. The decoder is a module of its own and is usable alone (``load_sampler``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from mnistgen.errors import MnistgenError
from mnistgen.vae.prior import GaussianMixture

ARCHS = ("seed", "conv")


def check_latent_dim(latent_dim: object) -> int:
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or not 1 <= latent_dim <= 1024:
        raise MnistgenError(f"invalid VAE latent size {latent_dim!r}: must be an integer from 1 to 1024")
    return latent_dim


class Posterior(NamedTuple):
    mu: torch.Tensor  # (B, d)
    logvar: torch.Tensor  # (B, d)


# ----------------------------------------------------------------------------- seed (the original study's table)


class SeedEncoder(nn.Module):
    """Rows of the image as a 28-step sequence -> LSTM -> last hidden state -> dense mu / log var."""

    def __init__(self, latent_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=28, hidden_size=hidden, batch_first=True)  # (B, 28, 28) -> h (1, B, 256)
        self.mu = nn.Linear(hidden, latent_dim)  # (B, d)
        self.logvar = nn.Linear(hidden, latent_dim)  # (B, d)

    def forward(self, x: torch.Tensor) -> Posterior:
        rows = x.reshape(x.shape[0], 28, 28)  # (B, 28, 28): 28 time steps of 28 pixels
        _, (h, _) = self.lstm(rows)  # h: (1, B, 256)
        h = h[-1]  # (B, 256)
        return Posterior(self.mu(h), self.logvar(h))


class SeedDecoder(nn.Module):
    """dense 16 -> 64 -> 128 -> reshape 4x4x8 -> transposed convs 8x8x8, 12x12x4, 24x24x2, 28x28x1.

    The table gives no activations; LeakyReLU(0.2) (as in the study's GAN) keeps this very narrow
    decoder alive: with ReLU, the 2-D latent's 16 units and the 2-channel layer died early in
    training and the model collapsed to one blurry average digit (KL = 0).
    """

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.dense = nn.Sequential(
            nn.Linear(latent_dim, 16),
            nn.LeakyReLU(0.2),  # (B, 16)
            nn.Linear(16, 64),
            nn.LeakyReLU(0.2),  # (B, 64)
            nn.Linear(64, 128),
            nn.LeakyReLU(0.2),  # (B, 128)
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(8, 8, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2),  # (B, 8, 8, 8)
            nn.ConvTranspose2d(8, 4, kernel_size=5, stride=1, padding=0),
            nn.LeakyReLU(0.2),  # (B, 4, 12, 12)
            nn.ConvTranspose2d(4, 2, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2),  # (B, 2, 24, 24)
            nn.ConvTranspose2d(2, 1, kernel_size=5, stride=1, padding=0),  # (B, 1, 28, 28), sigmoid in forward
        )

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.dense(z).reshape(-1, 8, 4, 4)  # (B, 8, 4, 4)
        return self.deconv(h)  # (B, 1, 28, 28)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z))  # (B, 1, 28, 28) in [0, 1]


# ----------------------------------------------------------------------------- conv (strong default)


def _block(cin: int, cout: int, transpose: bool = False) -> nn.Sequential:
    conv = nn.ConvTranspose2d if transpose else nn.Conv2d
    return nn.Sequential(conv(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.GELU())


class ConvEncoder(nn.Module):
    def __init__(self, latent_dim: int, channels: int = 32, hidden: int = 256, image_channels: int = 1) -> None:
        super().__init__()
        c = channels
        self.features = nn.Sequential(
            _block(image_channels, c),  # (B, c, 14, 14) from (B, C, 28, 28)
            _block(c, 2 * c),  # (B, 2c, 7, 7)
            nn.Flatten(),  # (B, 2c*49)
            nn.Linear(2 * c * 49, hidden),
            nn.GELU(),  # (B, hidden)
        )
        self.mu = nn.Linear(hidden, latent_dim)  # (B, d)
        self.logvar = nn.Linear(hidden, latent_dim)  # (B, d)

    def forward(self, x: torch.Tensor) -> Posterior:
        h = self.features(x)  # (B, hidden)
        return Posterior(self.mu(h), self.logvar(h))


class ConvDecoder(nn.Module):
    def __init__(self, latent_dim: int, channels: int = 32, hidden: int = 256, image_channels: int = 1) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        c = channels
        self.c = c
        self.dense = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.GELU(),  # (B, hidden)
            nn.Linear(hidden, 2 * c * 49, bias=False),
            nn.BatchNorm1d(2 * c * 49),
            nn.GELU(),  # (B, 2c*49)
        )
        self.up = nn.Sequential(
            _block(2 * c, c, transpose=True),  # (B, c, 14, 14)
            _block(c, max(c // 2, 1), transpose=True),  # (B, c/2, 28, 28)
            nn.Conv2d(max(c // 2, 1), image_channels, kernel_size=3, padding=1),  # (B, C, 28, 28) logits
        )

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.dense(z).reshape(-1, 2 * self.c, 7, 7)  # (B, 2c, 7, 7)
        return self.up(h)  # (B, C, 28, 28)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z))  # (B, C, 28, 28) in [0, 1]


# ----------------------------------------------------------------------------- the VAE


class VAEOutput(NamedTuple):
    logits: torch.Tensor  # (B, C, 28, 28) decoder logits of the reconstruction
    mu: torch.Tensor  # (B, d)
    logvar: torch.Tensor  # (B, d)
    z: torch.Tensor  # (B, d) the reparameterised sample


class VAE(nn.Module):
    """Encoder q(z|x) = N(mu, diag(exp(logvar))), decoder p(x|z) Bernoulli with ``decode(z)`` means."""

    def __init__(
        self,
        arch: str = "conv",
        latent_dim: int = 16,
        channels: int = 32,
        hidden: int = 256,
        prior_components: int = 0,
        image_channels: int = 1,
    ) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise MnistgenError(f"unknown VAE architecture {arch!r}; choose one of: {', '.join(ARCHS)}")
        self.latent_dim = check_latent_dim(latent_dim)
        self.arch = arch
        self.encoder: SeedEncoder | ConvEncoder
        self.decoder: SeedDecoder | ConvDecoder
        if arch == "seed":
            self.encoder = SeedEncoder(latent_dim, hidden)
            self.decoder = SeedDecoder(latent_dim)
        else:
            if channels < 1 or hidden < 1:
                raise MnistgenError("VAE channels and hidden size must be >= 1")
            self.encoder = ConvEncoder(latent_dim, channels, hidden, image_channels)
            self.decoder = ConvDecoder(latent_dim, channels, hidden, image_channels)
        if prior_components < 0:
            raise MnistgenError("the latent prior's component count must be >= 0 (0 = the standard normal prior)")
        # Fitted after training (mnistgen.train.vae); until then it equals N(0, I).
        self.prior = GaussianMixture(latent_dim, prior_components) if prior_components else None

    def encode(self, x: torch.Tensor) -> Posterior:
        return self.encoder(x)

    @torch.no_grad()
    def posteriors(self, images: torch.Tensor, batch: int = 1000) -> Posterior:
        """q(z|x) of ``images`` (N, C, 28, 28) in batches: means and log-variances, float32 (N, d) on the model's
        device."""
        device = next(self.encoder.parameters()).device
        parts = [self.encoder(images[i : i + batch].to(device)) for i in range(0, len(images), batch)]
        return Posterior(torch.cat([p.mu.float() for p in parts]), torch.cat([p.logvar.float() for p in parts]))

    def posterior_means(self, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
        """Encoder means of ``images`` (N, C, 28, 28) in batches, float32 (N, d) on the model's device."""
        return self.posteriors(images, batch).mu

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel means in [0, 1], (B, C, 28, 28)."""
        return self.decoder(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples (n, C, 28, 28) in [0, 1]: codes drawn on the CPU with ``generator``, decoded.

        Codes are z ~ N(0, I), or, once the ex-post mixture prior is fitted, z = mu_k + L_k eps with
        k ~ Cat(w) and eps ~ N(0, I) (see mnistgen.models.gmm).
        """
        device = next(self.decoder.parameters()).device
        if self.prior is None:
            return self.decoder(torch.randn(n, self.latent_dim, generator=generator).to(device))  # (n, C, 28, 28)
        return self.decoder(self.prior.sample(n, generator).to(device))  # (n, C, 28, 28)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        mu, logvar = self.encoder(x)  # (B, d) each
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps  # reparameterisation, (B, d)
        return VAEOutput(self.decoder.logits(z), mu, logvar, z)
