"""Benchmark: train presets of any family at their fixed work (epochs / steps), then score n = 10,000 samples.

    flock /tmp/mnistgen-cpu.lock .venv/bin/python bench/bench_train.py gan:fast gan:seed-fast vae:conv \
        [--set train.steps=1200] [--data-dir DIR] [--out DIR]

One run after the other (never two at once on a 2-core machine). Prints the machine line, then per run: the work
done, the training seconds, its speed, and the shipped evaluator's scores (IS, FID, precision, recall, coverage,
classes covered). ``--set`` overrides apply to every run (use it for A/B comparisons of one preset).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from mnistgen import families
from mnistgen.config import apply_overrides
from mnistgen.errors import MnistgenError
from mnistgen.metrics import evaluate_images, load_evaluator
from mnistgen.runtime import cpu_description
from mnistgen.sampling import sample_images

KEYS = ("is_mean", "fid", "precision", "recall", "coverage", "modes")


def configure(spec: str, overrides: list[str]) -> tuple[str, object, object]:
    """(preset, family, config) of FAMILY:PRESET with the overrides applied (checked before anything trains)."""
    family_name, _, preset = spec.partition(":")
    family = families.get(family_name)
    preset = preset or family.default_preset
    return preset, family, apply_overrides(family.configure(preset), ["runtime.device=cpu", *overrides])


def bench(spec: str, job: tuple, out: Path, data_dir: str | None, n: int) -> dict:
    preset, family, cfg = job
    run_dir = out / spec.replace(":", "-")
    t0 = time.perf_counter()
    summary = family.train(cfg, run_dir, overwrite=True, data_dir=data_dir, preset_name=preset)
    wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = evaluate_images(sample_images(run_dir, n, seed=0), load_evaluator(cfg.data.dataset))
    work = {k: summary[k] for k in ("steps", "epochs_completed", "best_epoch", "stopped") if k in summary}
    return {"run": spec, "wall_s": wall, "score_s": time.perf_counter() - t0, "work": work} | {
        k: scores[k] for k in KEYS
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="FAMILY:PRESET, e.g. gan:fast vae:conv")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--data-dir", default=os.environ.get("MNISTGEN_DATA_DIR"))
    ap.add_argument("--out", default=None, help="keep the runs here (default: a temporary directory)")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_train_"))
    cpu, flags = cpu_description()
    print(
        f"machine: {cpu} ({' '.join(flags)}), {torch.get_num_threads()} threads, fp32, cpu; "
        f"overrides: {args.overrides or 'none'}"
    )
    jobs = {spec: configure(spec, args.overrides) for spec in args.runs}
    rows = [bench(spec, job, out, args.data_dir, args.n) for spec, job in jobs.items()]
    print(
        f"\n{'run':<16} {'train s':>8} {'score s':>8} {'IS':>6} {'FID':>7} {'prec':>5} {'recall':>6} {'cover':>6} "
        f"{'modes':>5}  work"
    )
    for r in rows:
        print(
            f"{r['run']:<16} {r['wall_s']:8.1f} {r['score_s']:8.1f} {r['is_mean']:6.2f} {r['fid']:7.2f} "
            f"{r['precision']:5.3f} "
            f"{r['recall']:6.3f} {r['coverage']:6.3f} {r['modes']:5d}  {r['work']}"
        )
    (out / "bench_train.json").write_text(json.dumps(rows, indent=2))
    print(f"runs and bench_train.json in {out}")


if __name__ == "__main__":
    try:
        main()
    except MnistgenError as err:
        raise SystemExit(f"error: {err}") from None
