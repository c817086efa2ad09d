"""``mnistgen train gan``, ``mnistgen compare-losses`` and ``mnistgen sweep gan-capacity``."""

from __future__ import annotations

import argparse
import dataclasses

from mnistgen.cli.common import add_data_args, add_runtime_args, add_train_args, apply_cli_overrides
from mnistgen.errors import MnistgenError
from mnistgen.losses.gan import LOSSES


def register(commands, train_targets) -> None:
    from mnistgen.train.gan import PRESETS

    p = train_targets.add_parser("gan", help="train a GAN (presets seed, tiny, fast; losses bce, wgan, wgan-gp)")
    add_train_args(p, PRESETS, "fast")
    p.add_argument("--loss", choices=LOSSES, default=None, help="bce (default), wgan (weight clipping) or wgan-gp")
    _budget_args(p)
    p.set_defaults(func=run_train)

    c = commands.add_parser("compare-losses", help="train one GAN preset with bce, wgan and wgan-gp under the same time budget")
    c.add_argument("--out", required=True, metavar="DIR")
    c.add_argument("--preset", default="fast", help="GAN preset (default fast)")
    c.add_argument("--minutes", type=float, default=6.0, help="total training minutes, split over the three losses (default 6)")
    c.add_argument("--overwrite", action="store_true", help="replace runs already in DIR")
    add_data_args(c)
    add_runtime_args(c)
    c.set_defaults(func=run_compare)

    s = commands.add_parser("sweep", help="parameter sweeps (gan-capacity)")
    targets = s.add_subparsers(dest="sweep", metavar="SWEEP", parser_class=type(p))
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


def _budget_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, default=None, help="total generator steps (default: the preset's)")
    p.add_argument("--minutes", type=float, default=None, help="wall-clock budget of this call in minutes")


def _with_budget(cfg, args):
    changes = {}
    if args.steps is not None:
        changes["steps"] = args.steps
    if args.minutes is not None:
        changes["max_minutes"] = args.minutes
        if args.steps is None:
            changes["steps"] = 0  # --minutes alone: train until the time is up
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **changes))


def run_train(args: argparse.Namespace) -> int:
    from mnistgen.train import gan

    if args.resume:
        if args.overrides or args.loss:
            raise MnistgenError("--resume continues a run with its own config; only --steps/--minutes may change")
        cfg = _with_budget(gan.load_run_config(args.resume), args)
        summary = gan.train(cfg, resume=args.resume, data_dir=args.data_dir, download_missing=not args.no_download)
    else:
        cfg = _with_budget(apply_cli_overrides(gan.configure(args.preset, args.loss), args), args)
        summary = gan.train(cfg, args.out, overwrite=args.overwrite, data_dir=args.data_dir,
                            download_missing=not args.no_download, preset_name=args.preset)
    gan.make_figures(summary["run_dir"])
    probe = summary["last_probe"]
    quality = f", probe IS {probe['is']:.2f} (n={probe['n']}), {probe['modes']} modes" if probe else ""
    print(f"{summary['run_dir']}: {summary['steps']} steps ({summary['stopped']}), {summary['train_seconds']:.0f} s training, "
          f"{summary['steps_per_second']:.2f} steps/s{quality}")
    return 0


def _runtime_data(args):
    """The data and runtime sections of a study, from the command-line flags."""
    from mnistgen.config import DataConfig, RuntimeConfig

    @dataclasses.dataclass(frozen=True)
    class Base:
        data: DataConfig
        runtime: RuntimeConfig

    return apply_cli_overrides(Base(DataConfig(val_size=0), RuntimeConfig()), args)


def run_compare(args: argparse.Namespace) -> int:
    from mnistgen.train.gan_studies import compare_losses

    base = _runtime_data(args)
    result = compare_losses(args.out, preset=args.preset, minutes=args.minutes, data=base.data, runtime=base.runtime,
                            data_dir=args.data_dir, download_missing=not args.no_download, overwrite=args.overwrite)
    print(result["markdown"])
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from mnistgen.train.gan_studies import capacity_sweep

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
