"""Flow matching measured: train a preset at its fixed steps, then score its samples at several solvers and numbers
of function evaluations (NFE), with the time each takes; optionally the class-conditional accuracy.

    .venv/bin/python bench/bench_flow.py --preset fast                                   # the preset as it is
    .venv/bin/python bench/bench_flow.py --preset fast --set train.steps=600 --nfe 2,4,8 --n 2000
    .venv/bin/python bench/bench_flow.py --preset fast --conditional --guidance 1,2,3    # label accuracy vs guidance
    .venv/bin/python bench/bench_flow.py --run runs/flow --nfe 1,2,4,8,16,32 --reference # score a trained run

Prints the machine line, the training work and time, then one row per (solver, NFE): IS, FID, precision, recall,
density, coverage, classes covered, and the seconds to draw the images.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from mnistgen import flow
from mnistgen.config import apply_overrides
from mnistgen.errors import MnistgenError
from mnistgen.metrics import evaluate_images, load_evaluator
from mnistgen.runtime import cpu_description, kernel_capability

KEYS = ("is_mean", "fid", "precision", "recall", "density", "coverage", "modes")


def score(run: Path, ev, n: int, solver: str, nfe: int | None, label: int | None = None, guidance: float | None = None):
    t0 = time.perf_counter()
    images = flow.open_trained(run, solver=solver, nfe=nfe, label=label, guidance=guidance).sample(n, seed=0)
    seconds = time.perf_counter() - t0
    return evaluate_images(images, ev, kid_subset_size=min(1000, n)), seconds, images


def nfe_rows(run: Path, ev, args) -> list[dict]:
    rows = []
    for nfe in [int(x) for x in args.nfe.split(",")]:
        how = flow.solver_for(args.solver, nfe)
        s, sec, _ = score(run, ev, args.n, how.name, nfe)
        rows.append({"solver": how.name, "nfe": nfe, "seconds": sec} | {k: s[k] for k in KEYS})
    if args.reference:
        s, sec, _ = score(run, ev, args.n, "dopri5", None)
        rows.append({"solver": "dopri5", "nfe": "adaptive", "seconds": sec} | {k: s[k] for k in KEYS})
    return rows


def conditional_rows(run: Path, ev, args) -> list[dict]:
    rows = []
    for w in [float(x) for x in args.guidance.split(",")]:
        per = max(10, args.n // 10)
        hits, images = 0, []
        for label in range(10):
            x = flow.open_trained(run, label=label, guidance=w).sample(per, seed=label)
            hits += int((ev.probs(x).argmax(1) == label).sum())
            images.append(x)
        s = evaluate_images(torch.cat(images), ev, kid_subset_size=min(1000, 10 * per))
        rows.append({"guidance": w, "label_accuracy": hits / (10 * per)} | {k: s[k] for k in KEYS})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--run", type=Path, default=None, help="score this trained run instead of training one")
    ap.add_argument("--conditional", action="store_true", help="train the class-conditional variant")
    ap.add_argument("--nfe", default="8", help="comma-separated NFE values (Euler where --solver cannot take so many)")
    ap.add_argument("--solver", default="midpoint")
    ap.add_argument("--reference", action="store_true", help="also the adaptive dopri5 solver")
    ap.add_argument("--guidance", default=None, help="conditional runs: comma-separated guidance weights")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--data-dir", default=os.environ.get("MNISTGEN_DATA_DIR"))
    ap.add_argument("--out", default=None, help="keep the run here (default: a temporary directory)")
    args = ap.parse_args()
    cpu, flags = cpu_description()
    print(
        f"machine: {cpu} ({' '.join(flags)}), torch kernels {kernel_capability()}, {torch.get_num_threads()} "
        f"threads, fp32; overrides: {args.overrides or 'none'}",
        flush=True,
    )
    run = args.run
    if run is None:
        run = Path(args.out or tempfile.mkdtemp(prefix="bench_flow_")) / "run"
        cfg = flow.configure(args.preset, "on" if args.conditional else None)
        cfg = apply_overrides(cfg, ["runtime.device=cpu", *args.overrides])
        t0 = time.perf_counter()
        trained = flow.train(cfg, run, overwrite=True, data_dir=args.data_dir, preset_name=args.preset, probe=None)
        wall = time.perf_counter() - t0
        print(
            f"trained: {trained.work.detail}; {trained.summary['train_seconds']:.1f} s of steps, {wall:.1f} s in all "
            f"({trained.summary['params']['velocity_net']:,} parameters)",
            flush=True,
        )
    ev = load_evaluator(flow.load_config(run)[0].data.dataset)
    rows = nfe_rows(run, ev, args)
    print(
        f"\n{'solver':<9} {'NFE':>8} {'draw s':>7} {'IS':>6} {'FID':>7} {'prec':>6} {'recall':>6} {'dens':>6} "
        f"{'cover':>6} {'modes':>5}   (n = {args.n:,})"
    )
    for r in rows:
        print(
            f"{r['solver']:<9} {r['nfe']!s:>8} {r['seconds']:7.1f} {r['is_mean']:6.2f} {r['fid']:7.2f} "
            f"{r['precision']:6.3f} {r['recall']:6.3f} {r['density']:6.3f} {r['coverage']:6.3f} {r['modes']:5d}"
        )
    if args.guidance:
        for r in conditional_rows(run, ev, args):
            print(
                f"guidance {r['guidance']:g}: label accuracy {r['label_accuracy']:.3f}; label-balanced IS "
                f"{r['is_mean']:.2f}, FID {r['fid']:.2f}, precision {r['precision']:.3f}, recall {r['recall']:.3f}"
            )
    (run.parent / "bench_flow.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    try:
        main()
    except MnistgenError as err:
        raise SystemExit(f"error: {err}") from None
