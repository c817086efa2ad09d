"""What each dataset is, in words: its title, its ten class names, what one image shows, and the figures the
original study measured on it. The report, figures, captions and CLI output take their vocabulary from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnistgen.errors import MnistgenError


@dataclass(frozen=True)
class DatasetInfo:
    name: str  # mnist | fashion-mnist (the --dataset value and the data folder's name)
    title: str  # "MNIST"
    classes: tuple[str, ...]  # the ten class names, in label order
    item: str  # what one image shows: "digit"
    items: str  # plural: "digits"
    # The original study's Inception Scores (docs/original-study.md), only for the dataset they were measured on
    original: dict[str, dict[str, Any]] | None = None
    # Two probe-IS levels the loss comparison times the GANs to (a good and a very good score on this dataset;
    # real test images score 9.8 on MNIST and 8.7 on Fashion-MNIST with the shipped evaluators)
    is_targets: tuple[float, float] = (8.0, 9.0)
    channels: int = 1  # channels of an image (3: three digits stacked, one per channel)
    evaluator: str = ""  # the dataset whose shipped evaluator scores it (a stacked one: each channel's); "" = itself
    # Published results on this dataset in another set-up, shown beside the study's: rows of (model, modes, KL, source)
    published: tuple[tuple[str, float, float, str], ...] = ()

    @property
    def scored_by(self) -> str:
        return self.evaluator or self.name

    @property
    def stacked(self) -> bool:
        """Is an image several items stacked as channels (each scored on its own by the single-channel evaluator)?"""
        return self.channels > 1

    def label(self, label: int) -> str:
        """How a class is named in prose: 'digit 1', or 'Trouser'."""
        return f"{self.item} {self.classes[label]}" if self.name == "mnist" else self.classes[label]


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        "mnist",
        "MNIST",
        tuple(str(i) for i in range(10)),
        "digit",
        "digits",
        original={
            "real": {"is_mean": 9.50, "is_std": 0.01, "n": 60000},
            "vae": {"is_mean": 1.72, "is_std": 0.25, "n": 500},
            "gan": {"is_mean": 7.52, "is_std": 0.58, "n": 500},
        },
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Fashion-MNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        "item of clothing",
        "items of clothing",
        is_targets=(6.5, 7.0),
    ),
    "stacked-mnist": DatasetInfo(
        "stacked-mnist",
        "Stacked MNIST",
        tuple(str(i) for i in range(10)),
        "digit triple",
        "digit triples",
        channels=3,
        evaluator="mnist",
        # PacGAN (Lin et al. 2018), Table 2: the VEEGAN set-up -- 128,000 training images, 50 epochs at batch 64,
        # 26,000 samples, each channel classified by a Keras MNIST CNN of 99.25 % -- mean over 10 trials
        published=tuple(
            (model, modes, kl, "PacGAN (Lin et al. 2018), Table 2")
            for model, modes, kl in (
                ("DCGAN", 99.0, 3.40),
                ("ALI", 16.0, 5.40),
                ("Unrolled GAN", 48.7, 4.32),
                ("VEEGAN", 150.0, 2.95),
                ("PacDCGAN2", 1000.0, 0.06),
            )
        ),
    ),
}


def describe(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise MnistgenError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}") from None
