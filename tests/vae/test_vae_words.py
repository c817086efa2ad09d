"""The VAE's captions say what the data show: fed contrary data, their wording changes (and never repeats
the original's story)."""

from __future__ import annotations

from mnistgen.datasets import describe
from mnistgen.vae import words as C
from mnistgen.vae.latent import CLAIM, OVERLAP, EncoderBlame, blame_words

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


def test_latent_caption_reports_separation_from_the_numbers():
    stats = {"knn_accuracy": 0.55, "k": 5, "dims": 2, "confused_pairs": [(4, 9, 80), (3, 5, 50)]}
    heavy = C.latent_caption(stats, MNIST)
    assert "recovers 55 % of the test labels" in heavy and "overlap heavily" in heavy and "4/9" in heavy
    assert "largely separated" in C.latent_caption(stats | {"knn_accuracy": 0.95}, MNIST)
    assert "Pullover/Coat" in C.latent_caption(stats | {"confused_pairs": [(2, 4, 10)]}, FASHION)


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


def test_the_2d_comparison_says_which_way_the_numbers_fell():
    mixed = EncoderBlame(seed_knn=0.70, conv_knn=0.68, seed_overlap=0.31, conv_overlap=0.33)
    assert OVERLAP.holds(mixed) and not CLAIM.holds(mixed)
    assert blame_words(mixed).startswith("a convolutional encoder does not separate the classes better")
    assert "5-NN 0.700 vs 0.680" in blame_words(mixed) and "31 % vs 33 %" in blame_words(mixed)
    separated = EncoderBlame(seed_knn=0.70, conv_knn=0.93, seed_overlap=0.31, conv_overlap=0.07)
    assert CLAIM.holds(separated) and blame_words(separated).startswith("the seed networks' classes overlap; a conv")
    clean = EncoderBlame(seed_knn=0.95, conv_knn=0.97, seed_overlap=0.05, conv_overlap=0.03)
    assert not OVERLAP.holds(clean)  # no overlap to speak of: the original's observation does not hold
    assert OVERLAP.measures(mixed) == {"5-NN": 0.70, "mean class overlap": 0.31}
