"""The flow stage's comparison words follow the numbers."""

from __future__ import annotations

from mnistgen.flow.sweep import NfeRow, SweepReference, comparison_words
from mnistgen.stagekit import Scores


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
    assert "FID 3.50 (conv VAE 1.90, GAN 1.70), precision 0.790 (conv VAE 0.880, GAN 0.820)" in behind
    ref = SweepReference("GAN", 300, 5.5)
    crossing = comparison_words(_scores(1.2, 0.90, 0.80, 0.95), {"GAN": gan}, _sweep(9, 5, 4), [ref])
    assert "first falls below the GAN's at the same n (300 samples: FID 5.50) at NFE 2" in crossing
    never = comparison_words(_scores(1.2, 0.9, 0.8, 0.95), {"GAN": gan}, _sweep(9, 6, 7), [ref])
    assert "stays above the GAN's at the same n" in never and "falls below" not in never
