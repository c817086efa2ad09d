"""GAN generators and discriminators (nn.Modules only; the discriminator returns LOGITS).

Two layouts, both built from :class:`GANModelConfig`:

* generator, ``len(g_channels) == 3`` (the study's ``seed`` table)::

    z (B, z_dim) -> dense (B, c0*49) -> act -> reshape (B, c0, 7, 7)
      -> ConvT 4x4 s2 (B, c1, 14, 14) -> act -> ConvT 4x4 s2 (B, c2, 28, 28) -> act
      -> conv k x k (B, C, 28, 28) -> sigmoid | tanh     (C: the dataset's channels, 1 for MNIST)

* generator, ``len(g_channels) == 2`` (the cheap ``fast``/``small`` layout)::

    z -> dense (B, c0*49) -> [BN] act -> (B, c0, 7, 7) -> ConvT 4x4 s2 (B, c1, 14, 14) -> [BN] act
      -> ConvT 4x4 s2 (B, C, 28, 28) -> sigmoid | tanh

* generator, ``len(g_channels) == 1``: an MLP, z -> dense (B, c0) -> act -> dense (B, 784) -> sigmoid | tanh

* discriminator: one stride-2 conv per entry of ``d_channels`` (28 -> 14 -> 7), LeakyReLU(0.2),
  optional dropout, flatten, dense -> 1 logit. With ``pack`` m > 1 (PacGAN, Lin et al. 2018) it judges m samples at
  once, stacked along channels: real packs hold m real images, fake packs m generated ones, so a generator that
  repeats itself is easier to tell apart.

Optional categorical latent code (``categories = K > 0``, InfoGAN, Chen et al. 2016): the generator's
input is ``[z, onehot(c)]`` with ``c ~ U{0..K-1}``, and the discriminator has a second dense head
``Q(c | x)`` (K logits) on its shared features, trained to recover ``c`` from ``G(z, c)``. Maximising
this mutual-information bound lets the generator place its samples in K separate modes instead of
spreading one Gaussian blob across the gaps between digit classes. No labels are used.

With ``code = "clusters"`` the code is not free: it is the k-means cluster of the training images
(:mod:`mnistgen.clusters`, still no labels), the generator draws it from the clusters' frequencies
(buffer ``code_freq``), and the discriminator is conditioned on it by projection (Miyato & Koyama 2018):
``logit = head(h) + <embed(c), h>``, with c the real image's cluster or the code a fake was made from
(a self-conditioned GAN, Liu et al. 2020); there is no Q head then.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mnistgen.errors import MnistgenError
from mnistgen.layers import Dropout, check_init, initialise

NORMS = ("none", "batch")
ACTS = ("lrelu", "relu")
OUTPUTS = ("sigmoid", "tanh")
CODES = ("info", "clusters")


@dataclass(frozen=True)
class GANModelConfig:
    z_dim: int = 100
    g_channels: tuple[int, ...] = (128, 128, 128)  # 7x7, 14x14[, 28x28] feature maps of the generator
    g_head_kernel: int = 7  # kernel of the final conv (3-entry layout only)
    g_norm: str = "none"  # none | batch (BatchNorm after the dense and hidden ConvT layers)
    g_act: str = "lrelu"  # lrelu (0.2) | relu
    output: str = "sigmoid"  # sigmoid: images in [0, 1]; tanh: images in [-1, 1]
    d_channels: tuple[int, ...] = (64, 64)  # 14x14 and 7x7 feature maps of the discriminator
    d_kernel: int = 3
    d_dropout: float = 0.4
    d_norm: str = "none"  # none | batch | layer (after the second conv; use none/layer with wgan-gp)
    categories: int = 0  # K of a categorical latent code joined to z (0 = none)
    code: str = "info"  # info: a free code recovered by Q (InfoGAN) | clusters: k-means clusters, projection D
    # torch (PyTorch's defaults) | keras (glorot-uniform kernels, zero biases: the original study's)
    init: str = "torch"
    image_channels: int = 1  # channels of an image: the dataset's (3 for stacked-mnist), set when a run starts
    pack: int = 1  # the discriminator judges this many samples at once, stacked along channels (PacGAN; 1 = one)

    def __post_init__(self) -> None:
        if self.d_norm not in (*NORMS, "layer"):
            raise MnistgenError(f"unknown model.d_norm {self.d_norm!r}; choose one of: none, batch, layer")
        if self.g_norm not in NORMS:
            raise MnistgenError(f"unknown model.g_norm {self.g_norm!r}; choose one of: {', '.join(NORMS)}")
        if self.g_act not in ACTS:
            raise MnistgenError(f"unknown model.g_act {self.g_act!r}; choose one of: {', '.join(ACTS)}")
        if self.output not in OUTPUTS:
            raise MnistgenError(f"unknown model.output {self.output!r}; choose one of: {', '.join(OUTPUTS)}")
        if len(self.g_channels) not in (1, 2, 3) or min(self.g_channels) < 1:
            raise MnistgenError("model.g_channels must hold 1 (an MLP's hidden width), 2 or 3 positive channel counts")
        if len(self.d_channels) != 2 or min(self.d_channels) < 1:
            raise MnistgenError("model.d_channels must hold 2 positive channel counts")
        if self.categories < 0 or self.categories == 1:
            raise MnistgenError("model.categories must be 0 (no categorical code) or >= 2")
        if self.code not in CODES:
            raise MnistgenError(f"unknown model.code {self.code!r}; choose one of: {', '.join(CODES)}")
        if self.code == "clusters" and not self.categories:
            raise MnistgenError("model.code clusters needs model.categories >= 2 (the number of clusters)")
        if self.z_dim < 1 or self.d_kernel not in (3, 4, 5) or self.g_head_kernel % 2 == 0:
            raise MnistgenError("model.z_dim must be >= 1, model.d_kernel 3, 4 or 5, model.g_head_kernel odd")
        if not 0.0 <= self.d_dropout < 1.0:
            raise MnistgenError("model.d_dropout must lie in [0, 1)")
        check_init(self.init)
        if self.image_channels < 1 or self.pack < 1:
            raise MnistgenError("model.image_channels and model.pack must be >= 1")
        if self.image_channels > 1 and (len(self.g_channels) == 1 or self.init == "keras"):
            raise MnistgenError(
                f"the original's networks (the seed DCGAN, the MLP generator) take one-channel images, not "
                f"{self.image_channels}: train the fast layout (presets fast, dcgan, small) on a stacked dataset"
            )
        if self.pack > 1 and self.categories:
            raise MnistgenError(
                "model.pack > 1 needs a discriminator without a code (model.categories 0): a pack of samples has no "
                "one cluster or code"
            )


def _act(kind: str) -> nn.Module:
    return nn.LeakyReLU(0.2) if kind == "lrelu" else nn.ReLU()


def _norm2d(kind: str, ch: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(ch)] if kind == "batch" else []


class Generator(nn.Module):
    """latent (B, z_dim + categories) -> images (B, C, 28, 28) in [0, 1] (sigmoid) or [-1, 1] (tanh)."""

    code_freq: torch.Tensor  # (K,) how often each cluster occurs in the training data (cluster codes only)

    def __init__(self, cfg: GANModelConfig) -> None:
        super().__init__()
        self.z_dim, self.categories = cfg.z_dim, cfg.categories
        self.latent_dim = cfg.z_dim + cfg.categories
        self.cluster_codes = cfg.code == "clusters"
        if self.cluster_codes:  # how often each cluster occurs in the training data (set by the trainer)
            self.register_buffer("code_freq", torch.full((cfg.categories,), 1.0 / cfg.categories))
        c = cfg.g_channels
        bias = cfg.g_norm == "none"
        self.c0, self.mlp = c[0], len(c) == 1
        width = c[0] if self.mlp else c[0] * 49
        self.dense = nn.Linear(self.latent_dim, width, bias=bias)  # (B, c0*49), or (B, c0) for the MLP
        self.dense_post = nn.Sequential(*([nn.BatchNorm1d(width)] if cfg.g_norm == "batch" else []), _act(cfg.g_act))
        if self.mlp:  # z -> c0 -> 784 pixels: the classic too-simple generator
            self.body = nn.Sequential(
                nn.Linear(c[0], 784), nn.Sigmoid() if cfg.output == "sigmoid" else nn.Tanh()
            )  # (B, 784)
            return
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(c[0], c[1], 4, 2, 1, bias=bias),  # (B, c1, 14, 14)
            *_norm2d(cfg.g_norm, c[1]),
            _act(cfg.g_act),
        ]
        if len(c) == 3:
            layers += [
                nn.ConvTranspose2d(c[1], c[2], 4, 2, 1, bias=bias),  # (B, c2, 28, 28)
                *_norm2d(cfg.g_norm, c[2]),
                _act(cfg.g_act),
                nn.Conv2d(c[2], cfg.image_channels, cfg.g_head_kernel, 1, cfg.g_head_kernel // 2),  # (B, C, 28, 28)
            ]
        else:
            layers += [nn.ConvTranspose2d(c[1], cfg.image_channels, 4, 2, 1)]  # (B, C, 28, 28)
        layers.append(nn.Sigmoid() if cfg.output == "sigmoid" else nn.Tanh())
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.dense_post(self.dense(z))  # (B, c0*49) or, MLP, (B, c0)
        if self.mlp:
            return self.body(h).view(-1, 1, 28, 28)  # (B, 1, 28, 28)
        return self.body(h.view(-1, self.c0, 7, 7))  # (B, C, 28, 28)

    def sample_latent(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
        codes: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``[z, onehot(c)]`` (n, latent_dim): z ~ N(0, I), c ~ U{0..K-1} or, for cluster codes, the clusters'
        frequencies (or the given ``codes``).
        The noise is drawn on the CPU from ``generator`` when one is given, else on ``device``."""
        where = "cpu" if generator is not None else device
        z = torch.randn(n, self.z_dim, generator=generator, device=where)  # (n, z_dim)
        if self.categories:
            if codes is None and self.cluster_codes:
                codes = torch.multinomial(self.code_freq.float().to(where), n, replacement=True, generator=generator)
            elif codes is None:
                codes = torch.randint(self.categories, (n,), generator=generator, device=where)
            z = torch.cat(
                [z, nn.functional.one_hot(codes.to(z.device), self.categories).to(z.dtype)], 1
            )  # (n, z_dim + K)
        return z.to(device)

    def codes_of(self, latent: torch.Tensor) -> torch.Tensor:
        """The categorical codes (n,) of latents made by :meth:`sample_latent`."""
        return latent[:, self.z_dim :].argmax(1)


class Discriminator(nn.Module):
    """images (B, C, 28, 28) [and, for cluster codes, their codes (B,)] -> logits (B,); with ``pack`` m > 1 it judges
    each m consecutive images as one sample, stacked along channels (B / m, m C, 28, 28) -> logits (B / m,)."""

    def __init__(self, cfg: GANModelConfig) -> None:
        super().__init__()
        c, k = cfg.d_channels, cfg.d_kernel
        pad = 1 if k in (3, 4) else 2

        def dropouts() -> list[nn.Module]:  # the package's dropout: the same masks on any CPU
            return [Dropout(cfg.d_dropout)] if cfg.d_dropout > 0 else []

        def norms() -> list[nn.Module]:
            if cfg.d_norm == "batch":
                return [nn.BatchNorm2d(c[1])]
            return [nn.GroupNorm(1, c[1])] if cfg.d_norm == "layer" else []

        self.pack, self.channels = cfg.pack, cfg.image_channels * cfg.pack
        self.features = nn.Sequential(
            nn.Conv2d(self.channels, c[0], k, 2, pad),  # (B, c0, 14, 14)
            nn.LeakyReLU(0.2),
            *dropouts(),
            nn.Conv2d(c[0], c[1], k, 2, pad),  # (B, c1, 7, 7)
            *norms(),
            nn.LeakyReLU(0.2),
            *dropouts(),
            nn.Flatten(),  # (B, c1*49)
        )
        self.head = nn.Linear(c[1] * 49, 1)  # (B, 1)
        self.q_head = nn.Linear(c[1] * 49, cfg.categories) if cfg.categories and cfg.code == "info" else None  # (B, K)
        self.embed = None
        if cfg.code == "clusters":  # projection: one feature-space direction per code, zero = unconditional start
            self.embed = nn.Embedding(cfg.categories, c[1] * 49)  # (B, c1*49)
            nn.init.zeros_(self.embed.weight)

    def _logits(self, h: torch.Tensor, codes: torch.Tensor | None) -> torch.Tensor:
        out = self.head(h).squeeze(1)  # (B,)
        if self.embed is not None:
            if codes is None:
                raise MnistgenError("this discriminator is conditioned on cluster codes; pass codes=")
            out = out + (self.embed(codes) * h).sum(1)  # (B,)
        return out

    def packed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, 28, 28) -> (B / m, m C, 28, 28): each m consecutive images one sample (itself for m = 1)."""
        if self.pack == 1:
            return x
        if len(x) % self.pack:
            raise MnistgenError(f"a batch of {len(x)} images does not split into packs of {self.pack}")
        return x.reshape(len(x) // self.pack, self.channels, *x.shape[2:])

    def forward(self, x: torch.Tensor, codes: torch.Tensor | None = None) -> torch.Tensor:
        return self._logits(self.features(self.packed(x)), codes)  # (B,)

    def forward_with_code(
        self, x: torch.Tensor, codes: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Real/fake logits (B,) and, with an InfoGAN code, the code logits Q(c | x) (B, K)."""
        h = self.features(self.packed(x))  # (B, c1*49)
        return self._logits(h, codes), (self.q_head(h) if self.q_head is not None else None)


def build(cfg: GANModelConfig) -> tuple[Generator, Discriminator]:
    return initialise(Generator(cfg), cfg.init), initialise(Discriminator(cfg), cfg.init)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
