"""GAN studies: compare-losses and the capacity sweep, on tiny data with a stand-in probe."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnistgen.config import DataConfig, RuntimeConfig
from mnistgen.errors import MnistgenError
from mnistgen.study import gan_studies as S

DATA = DataConfig(val_size=0, limit=256)
RUNTIME = RuntimeConfig(device="cpu", seed=1, threads=1)


def fake_probe(images):
    """Deterministic stand-in for the evaluator: 'IS' grows with mean brightness."""
    return {"is": 1.0 + 9.0 * float(images.mean()), "modes": 10, "class_kl": 0.01}


def test_summarize_convergence_and_stability():
    hist = {"loss": "bce", "step": list(range(1, 10)), "train_seconds": [float(i) for i in range(1, 10)],
            "d_loss": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 2.0, 0.0], "g_loss": [1.0] * 9,
            "probe": [{"step": s, "train_seconds": float(s), "is": v, "modes": 10, "class_kl": 0.0, "n": 100}
                      for s, v in [(3, 5.0), (6, 8.5), (7, 9.0), (9, 7.0)]]}
    s = S.summarize(hist)
    assert s["time_to_is_target"] == 6.0 and s["final_is"] == 7.0 and s["best_is"] == 9.0
    assert s["is_spread_last_third"] == pytest.approx(np.std([8.5, 9.0, 7.0]))  # probes in the last third (t >= 6)
    # about the least-squares line through (6, 8.5), (7, 9.0), (9, 7.0), whose slope is -4/7
    t, y = np.array([6.0, 7.0, 9.0]), np.array([8.5, 9.0, 7.0])
    slope = ((t - t.mean()) * (y - y.mean())).sum() / ((t - t.mean()) ** 2).sum()
    assert slope == pytest.approx(-4 / 7)
    assert s["is_wobble_last_third"] == pytest.approx(np.std(y - (y.mean() + slope * (t - t.mean()))))
    rising = dict(hist, probe=[{"step": i, "train_seconds": float(i), "is": 1.0 + i, "modes": 10, "class_kl": 0.0, "n": 100}
                               for i in range(1, 10)])
    r = S.summarize(rising)  # a straight climb: a plain spread, but no wobble about the trend
    assert r["is_spread_last_third"] > 0.5 and r["is_wobble_last_third"] == pytest.approx(0.0, abs=1e-9)
    assert s["d_loss_jitter_last_third"] == pytest.approx(2.0)
    assert s["g_loss_std_last_third"] == 0.0


def test_compare_losses_writes_table_and_figures(tmp_path, tiny_mnist_dir):
    out = tmp_path / "cmp"
    res = S.compare_losses(out, preset="tiny", minutes=0.06, data=DATA, runtime=RUNTIME, data_dir=tiny_mnist_dir, probe=fake_probe)
    assert [r["loss"] for r in res["rows"]] == ["bce", "wgan", "wgan-gp"]
    assert all(r["steps"] >= 1 and r["final_is"] is not None for r in res["rows"])
    table = json.loads((out / "compare_losses.json").read_text())
    assert len(table["rows"]) == 3 and "| wgan-gp |" in (out / "compare_losses.md").read_text()
    for name in ("losses.png", "quality_vs_time.png", "samples.png"):
        assert (out / name).stat().st_size > 5000
    before = (out / "bce" / "checkpoint_last.pt").stat().st_mtime_ns
    S.compare_losses(out, preset="tiny", minutes=0.06, data=DATA, runtime=RUNTIME, data_dir=tiny_mnist_dir, probe=fake_probe)
    assert (out / "bce" / "checkpoint_last.pt").stat().st_mtime_ns == before  # finished runs are reused


def test_capacity_sweep_rows_grow_with_width(tmp_path, tiny_mnist_dir):
    res = S.capacity_sweep(tmp_path / "sw", widths=[4, 1], minutes=0.04, data=DATA, runtime=RUNTIME, data_dir=tiny_mnist_dir, probe=fake_probe)
    assert [r["width"] for r in res["rows"]] == [1, 4]
    assert res["rows"][0]["g_params"] < res["rows"][1]["g_params"]
    assert res["rows"][0]["d_params"] == res["rows"][1]["d_params"]  # the discriminator is fixed
    assert (tmp_path / "sw" / "capacity.png").is_file() and (tmp_path / "sw" / "collapse.png").is_file()
    with pytest.raises(MnistgenError):
        S.capacity_sweep(tmp_path / "bad", widths=[0], minutes=1)
