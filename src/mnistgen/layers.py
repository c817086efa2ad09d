"""Layers and weight initialisation shared by the model families.

``Dropout``: inverted dropout whose CPU masks are the same on every CPU (see its docstring).

``torch``: PyTorch's defaults (kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
``keras``: what the original Keras study used: glorot-uniform kernels, U(-sqrt(6 / (fan_in + fan_out)), ...),
and zero biases. Embeddings and normalisation layers keep their own initialisation.
"""

from __future__ import annotations

from typing import TypeVar

import torch
from torch import nn
from torch.nn import functional as F

from mnistgen.errors import MnistgenError

INITS = ("torch", "keras")


def check_init(name: str) -> str:
    if name not in INITS:
        raise MnistgenError(f"unknown model.init {name!r}; choose one of: {', '.join(INITS)}")
    return name


M = TypeVar("M", bound=nn.Module)


def initialise(module: M, scheme: str) -> M:
    """Re-initialise every linear, convolution and LSTM weight of ``module`` by ``scheme``; returns ``module``."""
    if check_init(scheme) == "torch":
        return module
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LSTM):  # Keras: glorot-uniform input kernels, orthogonal recurrent kernels, zero biases
            for name, p in m.named_parameters():
                if name.startswith("weight_ih"):
                    for gate in p.data.chunk(4, 0):
                        nn.init.xavier_uniform_(gate)
                elif name.startswith("weight_hh"):
                    for gate in p.data.chunk(4, 0):
                        nn.init.orthogonal_(gate)
                else:
                    nn.init.zeros_(p)
    return module


class Dropout(nn.Dropout):
    """Inverted dropout (``nn.Dropout``'s function) whose masks on the CPU do not depend on the CPU's vendor.

    PyTorch's CPU ``bernoulli_`` -- behind ``nn.Dropout`` -- draws from MKL's own generator on Intel processors and
    from the global Mersenne Twister elsewhere, so the same seed gives other masks (and another run) on an Intel
    CPU than on an AMD or ARM one. This layer draws the mask as ``uniform double < 1 - p`` from the global
    generator, in the input's memory order: exactly what the non-Intel path draws (the same masks, outputs and
    gradients bit for bit, and the generator left in the same state), on every CPU. Elsewhere (CUDA, MPS) it is
    ``F.dropout``.
    """

    def __init__(self, p: float) -> None:
        if not 0.0 <= p < 1.0:
            raise MnistgenError(f"dropout probability must lie in [0, 1), got {p}")
        super().__init__(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, training=True)
        keep = 1.0 - self.p
        noise = (torch.empty_like(x, dtype=torch.float64).uniform_() < keep).to(x.dtype)  # same shape and layout as x
        return x * noise.div_(keep)
