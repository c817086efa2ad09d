"""The evaluator CNN: a small BatchNorm conv net for 28x28 digits in [0, 1].

Its softmax drives the Inception Score and the class histograms; its penultimate layer
(``features``, ``num_features``-dimensional) is the feature space of FID, KID and precision/recall.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mnistgen.errors import MnistgenError
from mnistgen.layers import Dropout

# MNIST pixel statistics: inputs are standardised inside the model so callers pass [0, 1] images.
_MEAN, _STD = 0.1307, 0.3081


@dataclass(frozen=True)
class ClassifierModelConfig:
    channels: tuple[int, ...] = (32, 64, 128)  # conv widths of the three stages
    num_features: int = 128  # width of the penultimate (feature) layer
    dropout: float = 0.3  # before the last linear layer (training only)
    num_classes: int = 10

    def __post_init__(self) -> None:
        if len(self.channels) != 3 or min(self.channels) < 1:
            raise MnistgenError("model.channels must hold three positive conv widths, e.g. (32,64,128)")
        if self.num_features < 2 or not 0.0 <= self.dropout < 1.0:
            raise MnistgenError("model.num_features must be >= 2 and model.dropout in [0, 1)")


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Classifier(nn.Module):
    """Three conv-BN-ReLU stages, each max-pooled, then a BN'd dense feature layer and a linear head."""

    def __init__(self, cfg: ClassifierModelConfig = ClassifierModelConfig()) -> None:
        super().__init__()
        c1, c2, c3 = cfg.channels
        self.num_features = cfg.num_features
        self.num_classes = cfg.num_classes
        self.body = nn.Sequential(
            _block(1, c1),  # (B, c1, 28, 28)
            nn.MaxPool2d(2),  # (B, c1, 14, 14)
            _block(c1, c2),  # (B, c2, 14, 14)
            nn.MaxPool2d(2),  # (B, c2, 7, 7)
            _block(c2, c3),  # (B, c3, 7, 7)
            nn.MaxPool2d(2),  # (B, c3, 3, 3)
            nn.Flatten(),  # (B, c3 * 9)
            nn.Linear(c3 * 9, cfg.num_features, bias=False),  # (B, F)
            nn.BatchNorm1d(cfg.num_features),  # (B, F)
            nn.ReLU(inplace=True),  # (B, F)  <- features
        )
        self.head = nn.Sequential(Dropout(cfg.dropout), nn.Linear(cfg.num_features, cfg.num_classes))  # (B, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) in [0, 1] -> (B, num_features) penultimate activations."""
        return self.body((x - _MEAN) / _STD)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) in [0, 1] -> (B, num_classes) unnormalised class scores."""
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)
