"""``mnistgen compare-losses`` and ``mnistgen sweep gan-capacity``: the study's GAN sub-studies on their own."""

from __future__ import annotations

import argparse
import dataclasses

from mnistgen.cli.common import add_data_args, add_runtime_args, apply_cli_overrides
from mnistgen.config import DataConfig, RuntimeConfig
from mnistgen.errors import MnistgenError
from mnistgen.study.gan_studies import capacity_sweep, compare_losses


def register(commands, train_targets) -> None:
    c = commands.add_parser("compare-losses", help="train one GAN preset with bce, wgan and wgan-gp under the same budget")
    c.add_argument("--out", required=True, metavar="DIR")
    c.add_argument("--preset", default="fast", help="GAN preset (default fast)")
    c.add_argument("--minutes", type=float, default=6.0, help="total training minutes, split over the three losses (default 6)")
    c.add_argument("--overwrite", action="store_true", help="replace runs already in DIR")
    add_data_args(c)
    add_runtime_args(c)
    c.set_defaults(func=run_compare)

    s = commands.add_parser("sweep", help="parameter sweeps (gan-capacity)")
    targets = s.add_subparsers(dest="sweep", metavar="SWEEP", parser_class=type(c))
    s.set_defaults(func=lambda args: _missing(s))
    w = targets.add_parser("gan-capacity", help="generators of increasing width against one fixed discriminator")
    w.add_argument("--out", required=True, metavar="DIR")
    w.add_argument("--minutes", type=float, default=4.0, help="total training minutes, split over the widths (default 4)")
    w.add_argument("--widths", default=None, help="comma-separated generator widths (default 1,4,16,64)")
    w.add_argument("--overwrite", action="store_true", help="replace runs already in DIR")
    add_data_args(w)
    add_runtime_args(w)
    w.set_defaults(func=run_sweep)


def _missing(parser) -> int:
    raise MnistgenError(f"name a sweep (see `{parser.prog} --help`)")


@dataclasses.dataclass(frozen=True)
class _Base:
    data: DataConfig
    runtime: RuntimeConfig


def _runtime_data(args) -> _Base:
    """The data and runtime sections of a sub-study, from the command-line flags."""
    return apply_cli_overrides(_Base(DataConfig(val_size=0), RuntimeConfig()), args)


def run_compare(args: argparse.Namespace) -> int:
    base = _runtime_data(args)
    result = compare_losses(args.out, preset=args.preset, minutes=args.minutes, data=base.data, runtime=base.runtime,
                            data_dir=args.data_dir, download_missing=not args.no_download, overwrite=args.overwrite)
    print(result["markdown"])
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    widths = None
    if args.widths:
        try:
            widths = [int(w) for w in args.widths.split(",") if w.strip()]
        except ValueError:
            raise MnistgenError(f"--widths expects comma-separated integers, got {args.widths!r}") from None
    base = _runtime_data(args)
    result = capacity_sweep(args.out, widths=widths, minutes=args.minutes, data=base.data, runtime=base.runtime,
                            data_dir=args.data_dir, download_missing=not args.no_download, overwrite=args.overwrite)
    print(result["markdown"])
    return 0
