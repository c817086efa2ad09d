"""Weight initialisation shared by the model families.

``torch``: PyTorch's defaults (kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
``keras``: what the original Keras study used: glorot-uniform kernels, U(-sqrt(6 / (fan_in + fan_out)), ...),
and zero biases. Embeddings and normalisation layers keep their own initialisation.
"""

from __future__ import annotations

from torch import nn

from mnistgen.errors import MnistgenError

INITS = ("torch", "keras")


def check_init(name: str) -> str:
    if name not in INITS:
        raise MnistgenError(f"unknown model.init {name!r}; choose one of: {', '.join(INITS)}")
    return name


def initialise(module: nn.Module, scheme: str) -> nn.Module:
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
