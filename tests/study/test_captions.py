"""Captions say what the data show: fed contrary data, their wording changes (and never repeats the original's
story)."""

from __future__ import annotations

from mnistgen.datasets import describe
from mnistgen.study import captions as C
from mnistgen.study.flow_stage import NfeRow, SweepReference, comparison_words
from mnistgen.study.report import first_sentence
from mnistgen.study.results import Scores

MNIST, FASHION = describe("mnist"), describe("fashion-mnist")


def test_kl_caption_follows_the_trend_and_credits_the_original_only_when_it_matches():
    rising = C.kl_caption({"val_kl": [5.0, 8.0, 12.0]}, original_saw_rise=True)
    assert "rises" in rising and "as in the original study" in rising
    falling = C.kl_caption({"val_kl": [12.0, 9.0, 6.0]}, original_saw_rise=True)
    assert "falls" in falling and "saw it rise instead" in falling and "as in the original" not in falling
    flat = C.kl_caption({"val_kl": [10.0, 10.1, 10.2]}, original_saw_rise=False)
    assert "flat" in flat and "original" not in flat


def test_loss_caption_tells_whether_early_stopping_fired():
    fired = C.loss_caption(
        {"val_loss": [5, 4, 3, 3.5, 3.6, 3.7, 3.8], "epoch": list(range(1, 8)), "best_epoch": 3}, 4, 20
    )
    assert "minimum is at epoch 3" in fired and "early stopping (patience 4) ended training at epoch 7" in fired
    assert "kept the model of epoch 3" in fired
    ran_out = C.loss_caption({"val_loss": [5, 4, 3], "epoch": [1, 2, 3], "best_epoch": 3}, 4, 3)
    assert "no early stop" in ran_out and "last epoch is the best" in ran_out and "ended training" not in ran_out
    cut = C.loss_caption({"val_loss": [5, 4, 4.5], "epoch": [1, 2, 3], "best_epoch": 2}, 4, 10)
    assert "cut short" in cut and "early stopping" in cut


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


def test_latent_caption_reports_separation_from_the_numbers():
    stats = {"knn_accuracy": 0.55, "k": 5, "dims": 2, "confused_pairs": [(4, 9, 80), (3, 5, 50)]}
    heavy = C.latent_caption(stats, MNIST)
    assert "recovers 55 % of the test labels" in heavy and "overlap heavily" in heavy and "4/9" in heavy
    assert "largely separated" in C.latent_caption(stats | {"knn_accuracy": 0.95}, MNIST)
    assert "Pullover/Coat" in C.latent_caption(stats | {"confused_pairs": [(2, 4, 10)]}, FASHION)


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


def test_samples_caption_uses_the_dataset_vocabulary():
    metrics = {"n": 10000, "class_histogram": [0.5] + [0.5 / 9] * 9, "max_prob": 0.97}
    assert "the largest, digit 0, 50 %" in C.samples_caption("GAN", metrics, MNIST)
    text = C.samples_caption("GAN", metrics, FASHION)
    assert "T-shirt/top" in text and "digit" not in text


def test_first_sentence_keeps_decimals_whole():
    assert first_sentence("Samples at confidence 0.98. Then more.") == "Samples at confidence 0.98"
    assert first_sentence("IS 9.12 (n = 2000); classes rise") == "IS 9.12 (n = 2000)"
    assert first_sentence("One sentence only.") == "One sentence only"


def test_refinement_caption_gives_the_measured_losses_and_says_when_the_joint_decoder_was_kept():
    done = {
        "epochs": 10,
        "images": 20000,
        "val_loss_before": 130.5,
        "val_loss_after": 122.25,
        "val_recon_before": 121.0,
        "val_recon_after": 112.75,
        "kept": True,
    }
    helped = C.refinement_caption({"decoder": done})
    assert (
        "10 passes over 20,000 training images" in helped
        and "130.50 → 122.25" in helped
        and "the samples use it" in helped
    )
    worse = C.refinement_caption({"decoder": done | {"val_loss_after": 131.0, "kept": False}})
    assert "130.50 → 131.00" in worse and "jointly trained decoder was kept" in worse and "samples use it" not in worse
    assert C.refinement_caption({}) == "" and "refined" not in C.sampling_note({})
    assert "trained alone for 10 passes" in C.sampling_note({"decoder": done})
    assert "trained alone" not in C.sampling_note({"decoder": done | {"kept": False}})


def _scores(fid: float, precision: float, recall: float, coverage: float) -> Scores:
    return Scores(9.0, 0.1, 8.5, 0.5, 10_000, 500, fid, 0.1, 0.01, precision, recall, 0.8, coverage, 10, 0.0, 0.9, ())


def _sweep(*fids: float) -> list[NfeRow]:
    return [NfeRow("midpoint", 2**i, 1.0, 8.0, fid, 0.8, 0.7, 0.1) for i, fid in enumerate(fids)]


def test_flow_comparison_says_ahead_or_behind_from_the_numbers_and_compares_the_sweep_at_equal_n():
    vae, gan = _scores(1.9, 0.88, 0.64, 0.90), _scores(1.7, 0.82, 0.52, 0.80)
    behind = comparison_words(_scores(3.5, 0.79, 0.61, 0.75), {"conv VAE": vae, "GAN": gan}, _sweep(9, 6, 7))
    assert "on fidelity (FID and precision) it is behind the conv VAE and the GAN" in behind
    assert "behind the conv VAE; mixed against (one score better, one worse) the GAN" in behind
    assert "NFE sweep" not in behind  # no GAN scored at the sweep's n: no claim about the sweep
    ahead = comparison_words(_scores(1.2, 0.90, 0.80, 0.95), {"conv VAE": vae, "GAN": gan}, _sweep(9, 5, 4))
    assert "fidelity (FID and precision) it is ahead of the conv VAE and the GAN" in ahead
    crossing = comparison_words(_scores(1.2, 0.90, 0.80, 0.95), {"GAN": gan}, _sweep(9, 5, 4), SweepReference(300, 5.5))
    assert "first falls below the GAN's at the same n (300 samples: FID 5.50) at NFE 2" in crossing
    never = comparison_words(_scores(1.2, 0.9, 0.8, 0.95), {"GAN": gan}, _sweep(9, 6, 7), SweepReference(300, 5.5))
    assert "stays above the GAN's at the same n" in never and "falls below" not in never
