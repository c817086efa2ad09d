"""Benchmark of the evaluation: the shipped evaluator, the real-data reference rows, scoring speed, IS vs n and order.

Run (full data, under the shared CPU lock)::

    .venv/bin/python bench/bench_eval.py [--dataset fashion-mnist] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mnistgen.cli.eval_cmd import format_table
from mnistgen.data import load_dataset
from mnistgen.metrics import evaluate_images, evaluate_real, held_out, load_evaluator, prob_scores
from mnistgen.runtime import cpu_description


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    cpu, flags = cpu_description()
    print(f"{cpu} ({' '.join(flags)}), torch {torch.__version__}, {torch.get_num_threads()} threads, fp32")
    t = time.time()
    ev = load_evaluator(args.dataset, device=args.device)
    print(f"load_evaluator: {time.time() - t:.2f} s -> {ev.describe()}")
    ds = load_dataset(args.dataset)

    t = time.time()
    real = evaluate_real(ev, n=10000)
    real_s = time.time() - t
    t = time.time()
    seen = evaluate_images(ds.train_images, ev, n=10000, seed=1)
    score_s = time.time() - t
    print("\nreference rows (against the test split):")
    print(format_table([("held-out train", real), ("train (seen)", seen)]))
    print(
        "time to score 10,000 images (IS, FID, KID, precision/recall, density/coverage, modes): "
        f"{real_s:.1f} s (held-out), "
        f"{score_s:.1f} s (uint8 train)"
    )

    print(
        "\nInception Score of real images vs n (mean ± std over 10 splits); original study: 9.50 ± 0.01 at n = 60,000"
    )
    held = held_out(ev)
    g = torch.Generator().manual_seed(0)
    for n in (500, 2000, 10000):
        s = prob_scores(ev.probs(held[torch.randperm(len(held), generator=g)[:n]]))
        print(f"  held-out train, n = {n:>6}: IS {s['is']:.2f} ± {s['is_std']:.2f}")
    s = prob_scores(ev.probs(ds.train_images))
    print(f"  all training images, n = {len(ds.train_images)}: IS {s['is']:.2f} ± {s['is_std']:.2f}")
    probs = ev.probs(ds.test_images)
    order = np.argsort(ds.test_labels, kind="stable")
    a, b = prob_scores(probs), prob_scores(probs[order])
    print(
        f"  test split, n = {len(ds.test_images)}: IS {a['is']:.2f} ± {a['is_std']:.2f}; "
        f"sorted by label: {b['is']:.2f} ± "
        f"{b['is_std']:.2f} (the order no longer matters)"
    )


if __name__ == "__main__":
    main()
