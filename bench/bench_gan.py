"""Benchmark: train the `fast` and `seed` GAN presets for the same wall time, one after the other.

    MNISTGEN_DATA_DIR=... flock /tmp/mnistgen-cpu.lock python bench/bench_gan.py --minutes 4 [--out DIR]

Prints per preset: generator steps, steps/s, time to probe IS >= 9 (n = 2,000 probe samples, training
seconds) and the final metrics on n = 10,000 samples (IS, FID, precision, recall, modes, class-KL).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

from mnistgen.metrics import evaluate_images
from mnistgen.rundir import read_json
from mnistgen.sampling import sample_images
from mnistgen import gan as T


def bench(preset: str, minutes: float, out: Path, data_dir: str | None, n: int) -> dict:
    cfg = T.configure(preset, "bce")
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=0, max_minutes=minutes, probe_seconds=20.0,
                                                             probe_every=0, grid_every=0))
    s = T.train(cfg, out / preset, overwrite=True, data_dir=data_dir, preset_name=preset)
    hist = read_json(out / preset / "history.json")
    t0 = time.perf_counter()
    m = evaluate_images(sample_images(out / preset, n, seed=0), "mnist", data_dir=data_dir)
    return {
        "preset": preset, "steps": s["steps"], "train_s": s["train_seconds"], "steps_per_s": s["steps_per_second"],
        "t_is9": next((p["train_seconds"] for p in hist["probe"] if p["is"] >= 9.0), None),
        "probe": [(round(p["train_seconds"]), round(p["is"], 2)) for p in hist["probe"]],
        "eval_s": time.perf_counter() - t0, "n": n,
    } | {k: m[k] for k in ("is_mean", "is_std", "fid", "kid_mean", "precision", "recall", "modes", "class_kl")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=4.0, help="training minutes per preset (default 4)")
    ap.add_argument("--presets", default="fast,seed")
    ap.add_argument("--n", type=int, default=10000, help="samples for the final metrics (default 10,000)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=None, help="keep the runs here (default: a temporary directory)")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_gan_"))
    rows = [bench(p, args.minutes, out, args.data_dir, args.n) for p in args.presets.split(",")]
    print(f"\nGAN benchmark: {args.minutes:g} min of training per preset, final metrics at n = {args.n:,}")
    print(f"{'preset':8} {'steps':>6} {'steps/s':>8} {'s to IS9':>9} {'IS':>12} {'FID':>7} {'prec':>5} {'recall':>6} {'modes':>5} {'cls-KL':>7}")
    for r in rows:
        t9 = f"{r['t_is9']:.0f}" if r["t_is9"] is not None else "never"
        print(f"{r['preset']:8} {r['steps']:6d} {r['steps_per_s']:8.2f} {t9:>9} {r['is_mean']:6.2f}±{r['is_std']:.2f} "
              f"{r['fid']:7.2f} {r['precision']:5.3f} {r['recall']:6.3f} {r['modes']:5d} {r['class_kl']:7.4f}")
    for r in rows:
        print(f"probe IS (train s, IS@2000) {r['preset']}: {r['probe']}")
    (out / "bench_gan.json").write_text(json.dumps(rows, indent=2))
    print(f"runs and bench_gan.json in {out}")


if __name__ == "__main__":
    main()
