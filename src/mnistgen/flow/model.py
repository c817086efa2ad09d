"""The velocity network of the flow family: a small U-Net v(x_t, t [, y]) with a sinusoidal time embedding.

Layout for 28x28 images (``patch`` 1; channels c0, c1, c2 at 28, 14 and 7 pixels)::

    x (B, C, 28, 28) -> conv 3x3 (B, c0, 28, 28)        (C: the dataset's channels, 1 for MNIST)
      down: [ResBlock] x blocks (B, c0, 28, 28) -> conv s2 (B, c0, 14, 14) -> [ResBlock] x blocks (B, c1, 14, 14)
            -> conv s2 (B, c1, 7, 7) -> [ResBlock] x blocks (B, c2, 7, 7)
      middle: ResBlock, ResBlock (B, c2, 7, 7)
      up: the same levels back, each block fed the matching skip (concatenated), nearest x2 + conv 3x3 between levels
      out: GroupNorm, SiLU, conv 3x3 (B, C, 28, 28): the velocity

With ``patch`` 2 the image is first folded into 2x2 patches, (B, 4C, 14, 14), the U-Net runs at 14 and 7 pixels (one
level fewer) and the velocity is unfolded back to (B, C, 28, 28): a quarter of the work at the finest level.
Each ResBlock adds a projection of the time (and label) embedding between its two convolutions. No attention: at
28x28 it would dominate a CPU's time. With ``classes`` > 0 the network also takes a code in 0..classes-1, or
``classes`` itself for "no code" (classifier-free guidance trains on it and samples against it): the dataset's labels,
or (``code`` "clusters") the k-means cluster of each training image, drawn from the clusters' frequencies
(``code_freq``) when sampling, as the fast GAN does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from mnistgen.errors import MnistgenError

CODES = ("labels", "clusters")


@dataclass(frozen=True)
class FlowModelConfig:
    channels: tuple[int, ...] = (32, 64, 64)  # per level, finest first (patch 2: the first level is 14x14)
    blocks: int = 1  # ResBlocks per level on the way down (one more on the way up)
    emb: int = 128  # width of the time (and label) embedding
    patch: int = 1  # 1: the U-Net sees 28x28 pixels; 2: 2x2 patches at 14x14
    groups: int = 8  # GroupNorm groups
    classes: int = 0  # > 0: conditional on a code 0..classes-1 (classes = no code) ...
    code: str = "labels"  # ... the dataset's labels, or "clusters": k-means clusters of the training images (no labels)
    image_channels: int = 1  # channels of an image: the dataset's (3 for stacked-mnist), set when a run starts

    def __post_init__(self) -> None:
        if not self.channels or any(c < 1 or c % self.groups for c in self.channels):
            raise MnistgenError(f"model.channels must be positive multiples of model.groups ({self.groups})")
        if self.patch not in (1, 2) or 28 // self.patch % 2 ** (len(self.channels) - 1):
            raise MnistgenError("model.patch must be 1 or 2, and 28 / patch must halve once per extra level")
        if self.blocks < 1 or self.emb < 4 or self.emb % 2 or self.classes < 0:
            raise MnistgenError("model.blocks must be >= 1, model.emb an even number >= 4, model.classes >= 0")
        if self.code not in CODES:
            raise MnistgenError(f"unknown model.code {self.code!r}; choose one of: {', '.join(CODES)}")
        if self.image_channels < 1:
            raise MnistgenError("model.image_channels must be >= 1")
        if self.image_channels > 1 and self.classes and self.code == "labels":
            raise MnistgenError(
                "a flow model conditioned on labels takes one-channel images: on a stacked dataset a label names a "
                "triple of digits; train it unconditional or on its clusters (--conditional off)"
            )


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of t in [0, 1] (B,) -> (B, dim), frequencies from 1 to 1000 (as of 1000 noise levels)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)  # (half,)
    angles = 1000.0 * t.float()[:, None] * freqs[None]  # (B, half)
    return torch.cat([torch.sin(angles), torch.cos(angles)], 1)  # (B, dim)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb: int, groups: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.proj = nn.Linear(emb, cout)
        self.norm2, self.conv2 = nn.GroupNorm(groups, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, cout, H, W)
        h = h + self.proj(e)[:, :, None, None]  # the time (and label) shifts every channel
        h = self.conv2(F.silu(self.norm2(h)))  # (B, cout, H, W)
        return h + self.skip(x)


class VelocityNet(nn.Module):
    """v(x, t[, y]): images (B, C, 28, 28), times (B,) in [0, 1], labels (B,) -> velocities (B, C, 28, 28)."""

    code_freq: torch.Tensor  # (K,) how often each code occurs in the training images

    def __init__(self, cfg: FlowModelConfig) -> None:
        super().__init__()
        self.cfg, c, e, g = cfg, cfg.channels, cfg.emb, cfg.groups
        self.t_mlp = nn.Sequential(nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        self.label = nn.Embedding(cfg.classes + 1, e) if cfg.classes else None  # the last row: "no code"
        self.register_buffer("code_freq", torch.full((max(cfg.classes, 1),), 1.0 / max(cfg.classes, 1)))  # (K,)
        pixels = cfg.image_channels * cfg.patch**2  # the values of one (patch of a) pixel, all channels
        self.conv_in = nn.Conv2d(pixels, c[0], 3, padding=1)
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        skips, prev = [c[0]], c[0]
        for i, ch in enumerate(c):
            for _ in range(cfg.blocks):
                self.down.append(ResBlock(prev, ch, e, g))
                prev = ch
                skips.append(ch)
            if i < len(c) - 1:
                self.downsample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
                skips.append(ch)
        self.mid = nn.ModuleList([ResBlock(prev, prev, e, g), ResBlock(prev, prev, e, g)])
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i, ch in reversed(list(enumerate(c))):
            for _ in range(cfg.blocks + 1):
                self.up.append(ResBlock(prev + skips.pop(), ch, e, g))
                prev = ch
            if i > 0:
                self.upsample.append(nn.Conv2d(ch, ch, 3, padding=1))
        self.norm_out, self.conv_out = nn.GroupNorm(g, prev), nn.Conv2d(prev, pixels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)  # starts as the zero field
        nn.init.zeros_(self.conv_out.bias)  # type: ignore[arg-type]  # a Conv2d built with a bias has one

    def embed(self, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        e = self.t_mlp(time_embedding(t, self.cfg.emb))  # (B, emb)
        if self.label is not None:
            if y is None:
                y = torch.full_like(t, self.cfg.classes, dtype=torch.long)  # no label
            e = e + self.label(y)
        return F.silu(e)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        e, n_levels, p = self.embed(t, y), len(self.cfg.channels), self.cfg.patch
        h = self.conv_in(F.pixel_unshuffle(x, p) if p > 1 else x)  # (B, c0, 28 / p, 28 / p)
        skips, blocks = [h], iter(self.down)
        for i in range(n_levels):
            for _ in range(self.cfg.blocks):
                h = next(blocks)(h, e)
                skips.append(h)
            if i < n_levels - 1:
                h = self.downsample[i](h)  # (B, c_i, H / 2, W / 2)
                skips.append(h)
        for block in self.mid:
            h = block(h, e)  # (B, c_last, 7, 7)
        blocks = iter(self.up)
        for i in reversed(range(n_levels)):
            for _ in range(self.cfg.blocks + 1):
                h = next(blocks)(torch.cat([h, skips.pop()], 1), e)
            if i > 0:
                h = self.upsample[n_levels - 1 - i](
                    F.interpolate(h, scale_factor=2.0, mode="nearest")
                )  # (B, c, 2H, 2W)
        v = self.conv_out(F.silu(self.norm_out(h)))  # (B, C p p, 28 / p, 28 / p)
        return F.pixel_shuffle(v, p) if p > 1 else v  # (B, C, 28, 28)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
