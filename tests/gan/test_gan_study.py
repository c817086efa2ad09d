"""The GAN study stages' numbers on constructed histories: convergence in steps and images, stability over the last
third, and the loss comparison's refusal to compare unequal work."""

from __future__ import annotations

import numpy as np
import pytest

from mnistgen import gan
from mnistgen.gan.study import capacity as S
from mnistgen.gan.study import losses as L
from mnistgen.gan.study import words as W


def history(probes, d_loss, loss="bce"):
    steps = list(range(1, len(d_loss) + 1))
    return {
        "loss": loss,
        "step": steps,
        "train_seconds": [0.1 * s for s in steps],
        "d_loss": d_loss,
        "g_loss": [1.0] * len(steps),
        "probe": [
            {"step": s, "train_seconds": 0.1 * s, "is": v, "modes": 10, "class_kl": 0.0, "n": 100} for s, v in probes
        ],
    }


def test_summarize_convergence_in_steps_and_images_and_stability():
    s = L.summarize(
        history([(3, 5.0), (6, 8.5), (7, 9.0), (9, 7.0)], [1.0] * 6 + [0.0, 2.0, 0.0]), batch=32, n_critic=5
    )
    assert (s["steps"], s["images"], s["real_images"]) == (9, 288, 1440)
    assert (s["targets"], s["steps_to"], s["images_to"]) == ([8.0, 9.0], [6, 7], [192, 224])
    assert s["final_is"] == 7.0 and s["best_is"] == 9.0
    assert s["is_std"] == pytest.approx(np.std([8.5, 9.0, 7.0]))  # the probes of the last third (steps >= 6)
    t, y = np.array([6.0, 7.0, 9.0]), np.array([8.5, 9.0, 7.0])
    slope = ((t - t.mean()) * (y - y.mean())).sum() / ((t - t.mean()) ** 2).sum()
    assert s["is_wobble"] == pytest.approx(np.std(y - (y.mean() + slope * (t - t.mean()))))
    assert s["d_jitter"] == pytest.approx(2.0) and s["d_std"] == pytest.approx(np.std([0.0, 2.0, 0.0]))
    climbing = L.summarize(history([(i, 1.0 + i) for i in range(1, 10)], [1.0] * 9), batch=32, n_critic=1)
    assert climbing["is_std"] > 0.5 and climbing["is_wobble"] == pytest.approx(0.0, abs=1e-9)  # a climb is not a wobble
    never = L.summarize(history([(3, 2.0), (9, 7.9)], [1.0] * 9), batch=32, n_critic=1)
    assert never["steps_to"] == [None, None] and never["images_to"] == [None, None]
    fashion = L.summarize(history([(3, 6.6), (6, 7.1), (9, 6.9)], [1.0] * 9), batch=32, n_critic=1, targets=(6.5, 7.0))
    assert fashion["steps_to"] == [3, 6]  # a dataset's own targets (Fashion-MNIST's real images score lower)


def test_the_ladder_runs_from_the_mlp_against_the_seed_discriminator_to_wider_conv_generators():
    params = []
    for rung, (preset, _, discriminator) in S.LADDER.items():
        cfg = S.ladder_config(rung)
        g, d = gan.build(cfg.model)
        params.append(gan.count_params(g))
        assert discriminator == ("seed discriminator" if preset == "weak" else "fast discriminator")
        assert d.features[0].out_channels == 64  # both discriminators open with 64 channels
    first = S.ladder_config(next(iter(S.LADDER)))
    assert first.model.g_channels == (128,) and first.model.z_dim == 100  # the original's MLP z -> 128 -> 784
    assert params[1] < params[2] < params[3]  # the conv rungs grow


def test_loss_curve_unsteadiness_is_scale_free_and_tells_a_settled_curve_from_a_wandering_one():
    t = np.arange(900, dtype=float)
    settled = 2.0 * np.exp(-t / 80) + 0.7 + 0.01 * np.sin(t)  # falls, then stays: what "quite stable" looks like
    wandering = settled + 0.8 * np.sin(t / 40) * (t > 300)  # keeps swinging across its range over the last two thirds
    calm, wild = L.unsteadiness(settled), L.unsteadiness(wandering)
    assert calm < 0.05 and wild > 0.2
    for scale, offset in ((-1.0, 0.0), (1e-3, 5.0), (-250.0, -40.0)):  # a critic's loss: other sign, scale, offset
        assert L.unsteadiness(scale * settled + offset) == pytest.approx(calm, rel=1e-9)
        assert L.unsteadiness(scale * wandering + offset) == pytest.approx(wild, rel=1e-9)
    assert L.unsteadiness(settled[:20]) is None and L.unsteadiness(np.full(100, 3.0)) == 0.0
    rows = [
        {"loss": "bce", "loss_wobble": 0.04},
        {"loss": "wgan", "loss_wobble": 0.31},
        {"loss": "wgan-gp", "loss_wobble": 0.12},
    ]
    assert "bce's curves settle most" in W.curves_caption(rows)
    tied = [dict(r, loss_wobble=w) for r, w in zip(rows, (0.100, 0.3, 0.105))]
    assert "bce and wgan-gp settle about equally" in W.curves_caption(tied)
    race = L.LossRace(("bce", "wgan", "wgan-gp"), (8.0, 9.0), ((1, 2),) * 3, (0.1, 0.2, 0.3), (0.3, 0.1, 0.2))
    assert race.steadiest() == "bce" and race.steadiest("loss_wobble") == "wgan"  # the two measures, each its own
