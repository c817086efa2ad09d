"""``mnistgen evaluate TARGET`` (score a run's samples or a file of images) and ``mnistgen evaluator`` (show the
shipped evaluators; export a classifier run as one)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mnistgen import stacked
from mnistgen.config import DATASETS, DEVICES
from mnistgen.data import load_dataset
from mnistgen.datasets import describe
from mnistgen.errors import MnistgenError
from mnistgen.metrics import (
    Evaluator,
    evaluate_images,
    evaluate_real,
    export_evaluator,
    load_evaluator,
    mode_scores,
    shipped,
)
from mnistgen.rundir import read_json, require_run_dir, write_json
from mnistgen.runtime import resolve_device
from mnistgen.sampling import sample_images


def register(commands, train_targets) -> None:
    e = commands.add_parser(
        "evaluate",
        help="score a run's samples or an image file: IS, FID, KID, precision/recall, density/coverage, modes",
    )
    e.add_argument(
        "target",
        metavar="TARGET",
        help="a run directory of a generating family (samples are drawn) or a .npz (key 'images') / .npy file",
    )
    e.add_argument(
        "--n",
        type=int,
        default=None,
        help="number of images to score (default: 10000 drawn from a run, 26000 on stacked-mnist, PacGAN's n; all "
        "images of a file)",
    )
    e.add_argument(
        "--real",
        action="store_true",
        help="also score held-out real training images (the reference row; needs the dataset)",
    )
    e.add_argument(
        "--json",
        metavar="FILE",
        default=None,
        help="where to write the scores (default: RUN_DIR/metrics.json or FILE.metrics.json)",
    )
    e.add_argument("--kid-subset-size", type=int, default=1000, help="KID subset size (default 1000; needs n >= it)")
    e.add_argument(
        "--dataset",
        choices=DATASETS,
        default=None,
        help="whose evaluator scores the images (default: the run's; for a file, stacked-mnist when its images have "
        "3 channels, else mnist)",
    )
    e.add_argument(
        "--evaluator",
        metavar="PATH",
        default=None,
        help="score with another evaluator: an exported NAME.pt or a classifier run directory "
        "(default: the shipped one)",
    )
    e.add_argument(
        "--data-dir", default=None, metavar="DIR", help="directory holding mnist/ and/or fashion-mnist/ (for --real)"
    )
    e.add_argument("--no-download", action="store_true", help="never touch the network for data")
    e.add_argument("--device", choices=DEVICES, default="auto", help="auto (default), cpu, cuda or mps")
    e.add_argument(
        "--seed", type=int, default=0, help="seed of the samples, the IS order and the KID subsets (default 0)"
    )
    e.set_defaults(func=run_evaluate)

    v = commands.add_parser("evaluator", help="show the shipped evaluators, or export a classifier run as an evaluator")
    v.add_argument("action", choices=("show", "export"))
    v.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="export: a classifier run directory")
    v.add_argument("--out", metavar="DIR", help="export: where to write DATASET.pt, .json and -reference.npz")
    v.add_argument("--name", default=None, help="export: the evaluator's name (default mnistgen-DATASET-cnn)")
    v.add_argument("--data-dir", default=None, metavar="DIR", help="export: where the dataset's test split is")
    v.set_defaults(func=run_evaluator)


def load_image_file(path: Path) -> np.ndarray:
    """Images from a .npz (key ``images``) or .npy file."""
    if not path.is_file():
        raise MnistgenError(f"{path} does not exist")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                if "images" not in archive.files:
                    raise MnistgenError(
                        f"{path} has no 'images' array (it holds: {', '.join(archive.files) or 'nothing'})"
                    )
                return archive["images"]
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MnistgenError(f"{path} is not a readable numpy file ({str(exc).splitlines()[0][:100]})") from None
    raise MnistgenError(f"TARGET must be a run directory, a .npz or a .npy file, got {path}")


def format_table(rows: list[tuple[str, dict]]) -> str:
    head = (
        f"{'':<18}{'n':>7}{'IS':>14}{'FID':>9}{'KID x1e3':>16}{'prec':>7}{'recall':>7}{'dens':>7}{'cover':>7}"
        f"{'modes':>6}"
        f"{'cls-KL':>8}{'max-p':>7}"
    )
    lines = [head]
    for name, r in rows:
        is_ = f"{r['is_mean']:.2f}±{r['is_std']:.2f}"
        kid = f"{r['kid_mean'] * 1e3:.2f}±{r['kid_std'] * 1e3:.2f}"
        lines.append(
            f"{name:<18}{r['n']:>7}{is_:>14}{r['fid']:>9.3f}{kid:>16}{r['precision']:>7.3f}{r['recall']:>7.3f}"
            f"{r['density']:>7.3f}{r['coverage']:>7.3f}{r['modes']:>6}{r['class_kl']:>8.4f}{r['max_prob']:>7.3f}"
        )
    return "\n".join(lines)


def _images(
    args: argparse.Namespace, target: Path, device: torch.device
) -> tuple[np.ndarray | torch.Tensor, str, Path, int | None]:
    """(images, dataset, default JSON path, n to score) of a run directory or an image file."""
    if target.is_dir():
        config = read_json(require_run_dir(target) / "config.json").get("config", {})
        dataset = args.dataset or config.get("data", {}).get("dataset", "mnist")
        n = args.n or (stacked.TEST_SIZE if describe(dataset).stacked else 10000)
        return sample_images(target, n, seed=args.seed, device=device), dataset, target / "metrics.json", None
    images = load_image_file(target)
    looks_stacked = images.ndim == 4 and images.shape[1] == stacked.CHANNELS
    dataset = args.dataset or (stacked.NAME if looks_stacked else "mnist")
    return images, dataset, target.with_suffix(".metrics.json"), args.n


def run_evaluate(args: argparse.Namespace) -> int:
    started = time.time()
    target, device = Path(args.target), resolve_device(args.device)
    if args.n is not None and args.n < 1:
        raise MnistgenError(f"--n must be positive, got {args.n}")
    images, dataset, default_json, n_score = _images(args, target, device)
    ev = load_evaluator(dataset, args.evaluator, device, data_dir=args.data_dir, download_missing=not args.no_download)
    if describe(dataset).stacked:
        return _evaluate_modes(args, target, images[:n_score], ev, default_json, started)
    result = evaluate_images(images, ev, n=n_score, seed=args.seed, kid_subset_size=args.kid_subset_size)
    rows = [(target.name or str(target), result)]
    payload = {
        "target": str(target),
        "dataset": dataset,
        "seed": args.seed,
        "kid_subset_size": args.kid_subset_size,
        "evaluator": ev.identity(),
        "samples": result,
    }
    if args.real:
        payload["real"] = evaluate_real(
            ev,
            n=result["n"],
            seed=args.seed,
            kid_subset_size=args.kid_subset_size,
            data_dir=args.data_dir,
            download_missing=not args.no_download,
        )
        rows.append(("real (held-out)", payload["real"]))
    payload["seconds"] = time.time() - started
    out = Path(args.json) if args.json else default_json
    write_json(out, payload)
    print(ev.describe())
    print(format_table(rows))
    print("KID is an unbiased estimate: values slightly below 0 mean no detectable difference from the test split.")
    print(f"scores written to {out} ({payload['seconds']:.1f} s)")
    return 0


def _evaluate_modes(
    args: argparse.Namespace, target: Path, images: Any, ev: Evaluator, default_json: Path, started: float
) -> int:
    """Stacked digits: the modes reached of 1,000, KL from uniform, unsure channels and each channel's fidelity."""
    kid = min(args.kid_subset_size, len(images))
    rows = [(target.name or str(target), mode_scores(images, ev, seed=args.seed, kid_subset_size=kid))]
    if args.real:
        real = load_dataset(stacked.NAME, args.data_dir, not args.no_download).test_images[: len(images)]
        rows.append(("real (held-out)", mode_scores(real, ev, seed=args.seed, kid_subset_size=min(kid, len(real)))))
    payload = {"target": str(target), "dataset": stacked.NAME, "seed": args.seed, "evaluator": ev.identity()}
    payload |= {"samples": rows[0][1]} | ({"real": rows[1][1]} if args.real else {})
    payload["seconds"] = time.time() - started
    out = Path(args.json) if args.json else default_json
    write_json(out, payload)
    print(ev.describe() + ", on each channel")
    print(f"{'':<18}{'n':>7}{'modes':>7}{'KL':>8}{'unsure %':>10}{'ch. IS':>8}{'ch. FID':>9}{'prec':>7}{'recall':>7}")
    for name, r in rows:
        unsure = 100 * sum(r["channel_unsure"]) / len(r["channel_unsure"])
        print(
            f"{name:<18}{r['n']:>7}{r['modes']:>7}{r['kl']:>8.3f}{unsure:>10.1f}{r['is_mean']:>8.2f}{r['fid']:>9.2f}"
            f"{r['precision']:>7.3f}{r['recall']:>7.3f}"
        )
    print(f"modes: digit triples (of {stacked.MODES:,}) with at least one sample; KL: of their histogram from uniform")
    print(f"scores written to {out} ({payload['seconds']:.1f} s)")
    return 0


def run_evaluator(args: argparse.Namespace) -> int:
    if args.action == "show":
        for info in shipped():
            print(
                f"{info['dataset']:<14} {info['name']}  sha256 {info['sha256']}  "
                f"test accuracy {info['test_accuracy']:.2%}  "
                f"reference: {info['reference']['n']:,} test images (sha256 {info['reference_sha256'][:16]})"
            )
        return 0
    if not args.run_dir or not args.out:
        raise MnistgenError("evaluator export needs a classifier RUN_DIR and --out DIR")
    dataset = read_json(require_run_dir(args.run_dir) / "config.json")["config"]["data"]["dataset"]
    pt = export_evaluator(args.run_dir, args.out, args.name or f"mnistgen-{dataset}-cnn", data_dir=args.data_dir)
    print(f"wrote {pt}, {pt.with_suffix('.json').name}, {pt.stem}-reference.npz")
    return 0
