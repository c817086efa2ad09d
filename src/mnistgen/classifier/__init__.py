"""The evaluator classifier family: a small CNN trained on the dataset's labels, used to score samples.

Its softmax drives the Inception Score and the class histograms; its feature layer is the space of
FID, KID and precision/recall (see :mod:`mnistgen.metrics`). It generates no images.
"""

from __future__ import annotations

from typing import Any

from mnistgen.classifier.config import KIND, PRESETS, ClassifierRunConfig, ClassifierTrainConfig
from mnistgen.classifier.figures import make_figures
from mnistgen.classifier.model import Classifier, ClassifierModelConfig
from mnistgen.classifier.run import open_trained
from mnistgen.classifier.training import accuracy, load_classifier, load_config, train
from mnistgen.config import pick_preset
from mnistgen.family import Option


class ClassifierFamily:
    """The classifier as the registry sees it (see :class:`mnistgen.family.Family`)."""

    name = KIND
    title = "evaluator classifier"
    generates = False
    presets = PRESETS
    default_preset = "default"
    options: tuple[Option, ...] = ()
    budgets: tuple[Option, ...] = ()  # its one-cycle schedule is planned for the whole run: a resume only finishes it
    sampling: tuple[Option, ...] = ()
    stages = ()
    substudies = ()
    train = staticmethod(train)
    load_config = staticmethod(load_config)
    make_figures = staticmethod(make_figures)

    @staticmethod
    def configure(preset: str, **options: Any) -> ClassifierRunConfig:
        return pick_preset(PRESETS, preset, "classifier")

    open = staticmethod(open_trained)


FAMILY = ClassifierFamily()

__all__ = [
    "FAMILY",
    "KIND",
    "PRESETS",
    "Classifier",
    "ClassifierModelConfig",
    "ClassifierRunConfig",
    "ClassifierTrainConfig",
    "accuracy",
    "load_classifier",
    "load_config",
    "make_figures",
    "train",
]
