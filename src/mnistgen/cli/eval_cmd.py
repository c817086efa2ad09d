"""``mnistgen evaluate TARGET``: score a run's samples or a file of images."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mnistgen.config import DEVICES
from mnistgen.errors import MnistgenError
from mnistgen.metrics import evaluate_images, evaluate_real, get_evaluator
from mnistgen.rundir import read_json, require_run_dir, write_json
from mnistgen.runtime import resolve_device
from mnistgen.sampling import sample_images


def register(commands, train_targets) -> None:
    e = commands.add_parser("evaluate", help="score a run's samples or an image file: IS, FID, KID, precision/recall, modes")
    e.add_argument("target", metavar="TARGET", help="a VAE/GAN run directory (samples are drawn) or a .npz (key 'images') / .npy file")
    e.add_argument("--n", type=int, default=None,
                   help="number of images to score (default: 10000 drawn from a run; all images of a file)")
    e.add_argument("--real", action="store_true", help="also score held-out real training images (the reference row)")
    e.add_argument("--json", metavar="FILE", default=None,
                   help="where to write the scores (default: RUN_DIR/metrics.json or FILE.metrics.json)")
    e.add_argument("--kid-subset-size", type=int, default=1000, help="KID subset size (default 1000; needs n >= it)")
    e.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default=None,
                   help="dataset to compare against (default: the run's, else mnist)")
    e.add_argument("--data-dir", default=None, metavar="DIR", help="directory holding mnist/ and/or fashion-mnist/")
    e.add_argument("--no-download", action="store_true", help="never touch the network for data")
    e.add_argument("--device", choices=DEVICES, default="auto", help="auto (default), cpu, cuda or mps")
    e.add_argument("--seed", type=int, default=0, help="seed of the samples and of the KID subsets (default 0)")
    e.set_defaults(func=run_evaluate)


def load_image_file(path: Path) -> np.ndarray:
    """Images from a .npz (key ``images``) or .npy file."""
    if not path.is_file():
        raise MnistgenError(f"{path} does not exist")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                if "images" not in archive.files:
                    raise MnistgenError(f"{path} has no 'images' array (it holds: {', '.join(archive.files) or 'nothing'})")
                return archive["images"]
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MnistgenError(f"{path} is not a readable numpy file ({str(exc).splitlines()[0][:100]})") from None
    raise MnistgenError(f"TARGET must be a run directory, a .npz or a .npy file, got {path}")


def format_table(rows: list[tuple[str, dict]]) -> str:
    head = f"{'':<18}{'n':>7}{'IS':>14}{'FID':>9}{'KID x1e3':>16}{'prec':>7}{'recall':>7}{'modes':>6}{'cls-KL':>8}{'max-p':>7}"
    lines = [head]
    for name, r in rows:
        is_ = f"{r['is_mean']:.2f}±{r['is_std']:.2f}"
        kid = f"{r['kid_mean'] * 1e3:.2f}±{r['kid_std'] * 1e3:.2f}"
        lines.append(
            f"{name:<18}{r['n']:>7}{is_:>14}{r['fid']:>9.3f}{kid:>16}{r['precision']:>7.3f}{r['recall']:>7.3f}"
            f"{r['modes']:>6}{r['class_kl']:>8.4f}{r['max_prob']:>7.3f}"
        )
    return "\n".join(lines)


def run_evaluate(args: argparse.Namespace) -> int:
    started = time.time()
    target = Path(args.target)
    device = resolve_device(args.device)
    if args.n is not None and args.n < 1:
        raise MnistgenError(f"--n must be positive, got {args.n}")
    if target.is_dir():
        config = read_json(require_run_dir(target) / "config.json").get("config", {})
        dataset = args.dataset or config.get("data", {}).get("dataset", "mnist")
        n = args.n or 10000
        images = sample_images(target, n, seed=args.seed, device=device)
        default_json = target / "metrics.json"
        n_score = None
    else:
        dataset = args.dataset or "mnist"
        images = load_image_file(target)
        default_json = target.with_suffix(".metrics.json")
        n_score = args.n
    ev = get_evaluator(dataset, data_dir=args.data_dir, device=device, download_missing=not args.no_download)
    result = evaluate_images(images, n=n_score, seed=args.seed, kid_subset_size=args.kid_subset_size, evaluator=ev)
    rows = [(target.name or str(target), result)]
    payload = {"target": str(target), "dataset": dataset, "seed": args.seed, "kid_subset_size": args.kid_subset_size,
               "evaluator": {"test_accuracy": ev.accuracy, "directory": str(ev.directory)}, "samples": result}
    if args.real:
        real = evaluate_real(dataset, n=result["n"], seed=args.seed, kid_subset_size=args.kid_subset_size, evaluator=ev)
        payload["real"] = real
        rows.append(("real (held-out)", real))
    payload["seconds"] = time.time() - started
    out = Path(args.json) if args.json else default_json
    write_json(out, payload)
    print(f"evaluator: {dataset} classifier, test accuracy {ev.accuracy:.2%}; reference: the {dataset} test split")
    print(format_table(rows))
    print(f"scores written to {out} ({payload['seconds']:.1f} s)")
    return 0
