"""Shared caption words say what the data show, in the dataset's vocabulary."""

from __future__ import annotations

from mnistgen.datasets import describe
from mnistgen.stagekit import samples_caption
from mnistgen.study.report import first_sentence

MNIST, FASHION = describe("mnist"), describe("fashion-mnist")


def test_samples_caption_uses_the_dataset_vocabulary():
    metrics = {"n": 10000, "class_histogram": [0.5] + [0.5 / 9] * 9, "max_prob": 0.97}
    assert "the largest, digit 0, 50 %" in samples_caption("GAN", metrics, MNIST)
    text = samples_caption("GAN", metrics, FASHION)
    assert "T-shirt/top" in text and "digit" not in text


def test_first_sentence_keeps_decimals_whole():
    assert first_sentence("Samples at confidence 0.98. Then more.") == "Samples at confidence 0.98"
    assert first_sentence("IS 9.12 (n = 2000); classes rise") == "IS 9.12 (n = 2000)"
    assert first_sentence("One sentence only.") == "One sentence only"
    assert first_sentence("A spread (26 a mode; real in black): none") == "A spread (26 a mode; real in black)"
