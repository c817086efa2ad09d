"""Benchmark of the evaluation: evaluator accuracy/cost, the real-data reference rows, scoring speed.

Run (full MNIST, under the shared CPU lock)::

    MNISTGEN_DATA_DIR=/work/shared/data flock /tmp/mnistgen-cpu.lock .venv/bin/python bench/bench_eval.py
"""

from __future__ import annotations

import argparse
import time

import torch

from mnistgen.cli.eval_cmd import format_table
from mnistgen.images import to_unit
from mnistgen.metrics import get_evaluator, prob_scores
from mnistgen.metrics.distances import evaluate_images, evaluate_real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    t = time.time()
    ev = get_evaluator(args.dataset, device=args.device)
    print(f"get_evaluator (cached): {time.time() - t:.2f} s -> {ev.directory}")
    print(f"evaluator test accuracy: {ev.accuracy:.2%}; training time: {ev.info['train_seconds']:.0f} s "
          f"(held-out real training images: {len(ev.held_out_images())})")

    ds = ev.dataset
    t = time.time()
    ev.test_features()
    print(f"test-split features (computed once, then cached): {time.time() - t:.2f} s")

    t = time.time()
    real = evaluate_real(args.dataset, n=10000, evaluator=ev)
    real_s = time.time() - t
    t = time.time()
    train_rows = evaluate_images(ds.train_images, n=10000, seed=1, evaluator=ev)
    score_s = time.time() - t
    print("\nreference rows (against the test split):")
    print(format_table([("held-out train", real), ("train (seen)", train_rows)]))
    print(f"class histogram of held-out train: {[round(h, 4) for h in real['class_histogram']]}")
    print(f"time to score 10,000 images (IS+FID+KID+P/R+modes): {real_s:.1f} s (held-out), {score_s:.1f} s (uint8 train)")

    print("\nInception Score of real images vs n (mean ± std over 10 splits); original study: 9.50 ± 0.01 at n = 60,000")
    held = to_unit(ev.held_out_images())
    g = torch.Generator().manual_seed(0)
    for n in (500, 2000, 10000):
        s = prob_scores(ev.probs(held[torch.randperm(len(held), generator=g)[:n]]))
        print(f"  held-out train, n = {n:>6}: IS {s['is']:.2f} ± {s['is_std']:.2f}")
    t = time.time()
    s = prob_scores(ev.probs(ds.train_images))
    print(f"  all training images, n = {len(ds.train_images)}: IS {s['is']:.2f} ± {s['is_std']:.2f} ({time.time() - t:.1f} s)")
    s = prob_scores(ev.probs(ds.test_images))
    print(f"  test split, n = {len(ds.test_images)}: IS {s['is']:.2f} ± {s['is_std']:.2f}")


if __name__ == "__main__":
    main()
