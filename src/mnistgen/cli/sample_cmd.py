"""``mnistgen sample`` and ``mnistgen plot``: work on a run directory of any registered model family."""

from __future__ import annotations

import argparse
from pathlib import Path

from mnistgen import families
from mnistgen.errors import MnistgenError
from mnistgen.plotting import save_grid
from mnistgen.rundir import require_run_dir
from mnistgen.runtime import resolve_device
from mnistgen.sampling import sample_images, write_npz


def register(commands, train_targets) -> None:
    p = commands.add_parser(
        "sample", help="draw N images from a trained run of a generating family into an .npz (and a grid PNG)"
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("-n", type=int, default=100, help="number of images (default 100)")
    p.add_argument(
        "--out", required=True, metavar="FILE.npz", help="writes `images`: uint8 (N, 28, 28), 0 background, 255 stroke"
    )
    p.add_argument("--grid", metavar="FILE.png", help="also save the first 100 images as a 10x10 grid")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0): the same seed gives the same images")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    options = families.sampling_options()
    if options:
        group = p.add_argument_group(
            "sampling options", "how a run draws (default: the run's own); each family its own"
        )
        for flag, (option, takers) in options.items():
            group.add_argument(
                flag,
                dest=_dest(option.key),
                type=option.type,
                choices=option.choices,
                default=None,
                help=f"{option.help} [{', '.join(takers)} runs]",
            )
    p.set_defaults(func=run_sample)

    p = commands.add_parser("plot", help="(re)draw every figure of a run directory from its saved history and weights")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.set_defaults(func=run_plot)


def run_sample(args: argparse.Namespace) -> int:
    run_dir = require_run_dir(args.run_dir)
    if args.n <= 0:
        raise MnistgenError(f"-n must be a positive number of images, got {args.n}")
    if args.grid and not args.grid.endswith(".png"):
        raise MnistgenError(f"--grid must end in .png, got {args.grid}")
    if not args.out.endswith(".npz"):
        raise MnistgenError(f"--out must end in .npz, got {args.out}")
    sampling = {o.key: getattr(args, _dest(o.key)) for o, _ in families.sampling_options().values()}
    given = {k: v for k, v in sampling.items() if v is not None}
    images = sample_images(run_dir, args.n, seed=args.seed, device=resolve_device(args.device), **given)
    write_npz(args.out, images, seed=args.seed, run_dir=str(run_dir), **given)
    print(f"wrote {args.n} images to {args.out}")
    if args.grid:
        save_grid(images[:100], args.grid, f"{min(args.n, 100)} samples from {Path(run_dir).name}")
        print(f"wrote grid to {args.grid}")
    return 0


def _dest(key: str) -> str:
    return "sampling_" + key


def run_plot(args: argparse.Namespace) -> int:
    run_dir = require_run_dir(args.run_dir)
    paths = families.of_run(run_dir).make_figures(Path(run_dir))
    for path in paths:
        print(path)
    return 0
