"""The GAN study's captions say what the data show: fed contrary data, their wording changes (and never
repeats the original's story)."""

from __future__ import annotations

from mnistgen.datasets import describe
from mnistgen.gan.study import words as C

MNIST, FASHION = describe("mnist"), describe("fashion-mnist")


def test_collapse_caption_needs_one_confident_class_on_the_data():
    base = {"g_params": 1000, "precision": 0.9, "recall": 0.01}
    one = [0, 0.95, 0.05] + [0] * 7
    collapsed = C.collapse_caption(base | {"class_histogram": one, "top_confident_share": 0.93}, MNIST, "D")
    assert collapsed.startswith("Mode collapse") and "digit 1 in 95 %" in collapsed
    noise = C.collapse_caption(base | {"class_histogram": one, "top_confident_share": 0.2}, MNIST, "D")
    assert "not a clear digit" in noise and not noise.startswith("Mode collapse")
    blank = C.collapse_caption(
        base | {"class_histogram": one, "top_confident_share": 0.95, "precision": 0.0}, MNIST, "D"
    )
    assert not blank.startswith(
        "Mode collapse"
    )  # a confident class on an image far from the data (e.g. blank) is no digit
    few = C.collapse_caption(
        base | {"class_histogram": [0.4, 0.3, 0.3] + [0] * 7, "top_confident_share": 0.35}, MNIST, "D"
    )
    assert few.startswith("Partial mode collapse") and "short of the original" in few
    assert "covers only 3 of 10 classes (each at least 1 % of its samples; the largest, digit 0, 40 %)" in few
    spread = C.collapse_caption(
        base | {"class_histogram": [0.1] * 10, "top_confident_share": 0.1, "recall": 0.6}, FASHION, "D"
    )
    few_fashion = C.collapse_caption(
        base | {"class_histogram": [0.4, 0.3, 0.3] + [0] * 7, "top_confident_share": 0.35}, FASHION, "D"
    )
    assert "not onto a single item of clothing" in few_fashion and "original" not in few_fashion
    assert spread.startswith("No collapse") and "10 of 10 classes" in spread and "T-shirt/top" in spread


def test_capacity_caption_says_whether_coverage_rises_with_width():
    rows = [
        {"width": w, "modes": m, "is": s, "n": 2000}
        for w, m, s in [(8, 3, 2.0), (16, 6, 4.0), (32, 10, 7.0), (128, 10, 8.5)]
    ]
    assert "rise with the generator's capacity" in C.capacity_caption(rows, MNIST)
    inverted = [dict(r, modes=m) for r, m in zip(rows, (10, 6, 4, 2))]
    assert "do not rise steadily" in C.capacity_caption(inverted, MNIST)


def test_loss_comparison_caption_names_who_converged_and_who_never_did():
    rows = [
        {"loss": "bce", "targets": [8.0, 9.0], "steps_to": [100, 400], "is_wobble": 0.05},
        {"loss": "wgan", "targets": [8.0, 9.0], "steps_to": [600, None], "is_wobble": 0.2},
        {"loss": "wgan-gp", "targets": [8.0, 9.0], "steps_to": [200, 500], "is_wobble": 0.01},
    ]
    text = C.loss_comparison_caption(rows)
    assert "bce reached IS 8 first (100" in text and "wgan never did" in text and "wgan-gp is the steadiest" in text
    flipped = C.loss_comparison_caption([dict(r, steps_to=[None, None]) for r in rows])
    assert "none reached IS 8" in flipped and "none reached IS 9" in flipped
    close = C.loss_comparison_caption([dict(r, is_wobble=w) for r, w in zip(rows, (0.030, 0.2, 0.029))])
    assert "wgan-gp and bce are about equally steady" in close and "steadiest" not in close
