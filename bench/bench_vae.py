"""Benchmark the VAE presets on full MNIST: training wall time, best epoch, quality at n = 10,000.

Usage (each invocation stays a few minutes, so run it under the shared CPU lock)::

    export MNISTGEN_DATA_DIR=/work/shared/data
    flock /tmp/mnistgen-cpu.lock .venv/bin/python bench/bench_vae.py --preset conv --out /tmp/bench-vae
    flock /tmp/mnistgen-cpu.lock .venv/bin/python bench/bench_vae.py --preset seed --out /tmp/bench-vae
    # the seed decoder's best over learning rate, beta and epochs (one training per line):
    flock ... bench/bench_vae.py --preset seed --out /tmp/bench-vae --name lr1e-2 --set train.lr=1e-2
    .venv/bin/python bench/bench_vae.py --summary /tmp/bench-vae      # table of every run so far

Quality: samples are the decoder's means for 10,000 z ~ N(0, I) (``mnistgen.sampling.sample_images``),
scored by ``mnistgen.metrics.evaluate_images`` (IS mean +- std over 10 splits, FID and KID against
the MNIST test set in the evaluator's feature space, k-NN precision/recall, modes >= 1 %, class-KL).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from mnistgen.config import apply_overrides, pick_preset
from mnistgen.errors import MnistgenError
from mnistgen.rundir import read_json, write_json

COLUMNS = ("name", "train_s", "epochs", "best", "is_mean", "is_std", "fid", "kid_mean", "precision", "recall", "modes", "class_kl")


def evaluate_run(run_dir: Path, n: int, data_dir: str | None) -> dict:
    from mnistgen.metrics import evaluate_images
    from mnistgen.sampling import sample_images

    start = time.monotonic()
    images = sample_images(run_dir, n, seed=0)
    scores = evaluate_images(images, "mnist", data_dir=data_dir)
    scores.pop("class_histogram", None)
    return scores | {"eval_s": time.monotonic() - start}


def bench_one(preset: str, name: str, overrides: list[str], out: Path, n: int, data_dir: str | None, epochs: int | None) -> dict:
    from mnistgen import vae

    cfg = apply_overrides(pick_preset(vae.PRESETS, preset, "VAE"), overrides)
    if epochs is not None:
        cfg = apply_overrides(cfg, [f"train.epochs={epochs}"])
    run_dir = out / name
    start = time.monotonic()
    summary = vae.train(cfg, run_dir, overwrite=True, data_dir=data_dir, preset_name=preset)
    wall = time.monotonic() - start
    result = {
        "name": name, "preset": preset, "overrides": overrides,
        "train_s": summary["train_seconds_this_call"], "wall_s_with_figures": wall,
        "epochs": summary["epochs_completed"], "best": summary["best_epoch"], "stopped": summary["stopped"],
        "best_val_loss": summary["best_val_loss"], "samples_per_s": summary["samples_per_second"],
        "torch_threads": torch.get_num_threads(),
    }
    result |= evaluate_run(run_dir, n, data_dir)
    write_json(run_dir / "bench.json", result)
    return result


def fmt(row: dict) -> str:
    def cell(key: str) -> str:
        v = row.get(key)
        if isinstance(v, float):
            return f"{v:.4f}" if key in ("kid_mean", "class_kl") else f"{v:.2f}"
        return str(v)

    return " | ".join(cell(k) for k in COLUMNS)


def summary(out: Path) -> None:
    rows = [read_json(p) for p in sorted(out.glob("*/bench.json"))]
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in sorted(rows, key=lambda r: (r["preset"], r["name"])):
        print(f"| {fmt(row)} |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", choices=("conv", "seed", "seed-2d"))
    p.add_argument("--name", help="run name under --out (default: the preset)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--out", type=Path, default=Path("bench-vae"))
    p.add_argument("-n", type=int, default=10_000, help="samples scored (default 10,000)")
    p.add_argument("--data-dir", default=os.environ.get("MNISTGEN_DATA_DIR"))
    p.add_argument("--eval-only", type=Path, metavar="RUN_DIR", help="only score an existing run")
    p.add_argument("--summary", type=Path, metavar="OUT", help="print the table of every bench.json under OUT")
    args = p.parse_args()
    try:
        if args.summary:
            summary(args.summary)
            return 0
        if args.eval_only:
            print(json.dumps(evaluate_run(args.eval_only, args.n, args.data_dir), indent=1))
            return 0
        if not args.preset:
            p.error("--preset is required")
        row = bench_one(args.preset, args.name or args.preset, args.overrides, args.out, args.n, args.data_dir, args.epochs)
    except MnistgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(row, indent=1))
    print("| " + " | ".join(COLUMNS) + " |")
    print(f"| {fmt(row)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
