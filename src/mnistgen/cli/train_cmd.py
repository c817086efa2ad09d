"""``mnistgen train FAMILY``: one sub-command per registered model family, built from its Family interface."""

from __future__ import annotations

import argparse
from pathlib import Path

from mnistgen import families
from mnistgen.cli.common import add_data_args, add_runtime_args, apply_cli_overrides
from mnistgen.config import apply_overrides
from mnistgen.family import Family


def register(commands, train_targets) -> None:
    for name in families.names():
        family = families.get(name)
        p = train_targets.add_parser(
            name,
            help=f"train a {family.title} (presets: {', '.join(family.presets)})",
            description=f"Train a {family.title}; --resume RUN_DIR continues a run exactly where "
            "it stopped (only the budget flags may change on resume).",
        )
        p.add_argument(
            "--preset",
            default=family.default_preset,
            help=f"one of: {', '.join(family.presets)} (default {family.default_preset})",
        )
        where = p.add_mutually_exclusive_group(required=True)
        where.add_argument("--out", metavar="RUN_DIR", help="new run directory")
        where.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR exactly where it stopped")
        p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
        p.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a config field, e.g. --set train.lr=1e-3 (repeatable)",
        )
        for opt in (*family.options, *family.budgets):
            p.add_argument(
                opt.flag,
                dest=_dest(opt.flag),
                type=opt.type,
                choices=opt.choices,
                default=None,
                help=opt.help,
                metavar=None if opt.choices else opt.flag.lstrip("-").upper(),
            )
        add_data_args(p)
        add_runtime_args(p)
        p.set_defaults(func=run, family=name)


def _dest(flag: str) -> str:
    return "opt_" + flag.lstrip("-").replace("-", "_")


def resolve(family: Family, args: argparse.Namespace):
    """The run config this command asks for: the preset (or, on --resume, the run's own config), the family options,
    the typed flags, --set, then the budget flags."""
    options = {o.key: v for o in family.options if (v := getattr(args, _dest(o.flag))) is not None}
    if args.resume:
        cfg, preset = family.load_config(Path(args.resume))
        if options:
            cfg = family.configure(preset, **options)  # refused below unless it changes nothing
    else:
        cfg, preset = family.configure(args.preset, **options), args.preset
    cfg = apply_cli_overrides(cfg, args)
    budgets = [f"{o.key}={v}" for o in family.budgets if (v := getattr(args, _dest(o.flag))) is not None]
    return apply_overrides(cfg, budgets), preset


def run(args: argparse.Namespace) -> int:
    family = families.get(args.family)
    cfg, preset = resolve(family, args)
    run = family.train(
        cfg,
        args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        data_dir=args.data_dir,
        download_missing=not args.no_download,
        preset_name=preset,
    )
    summary = run.summary
    timing = ", ".join(f"{k.replace('_', ' ')} {_fmt(v)}" for k, v in summary.items() if k in REPORTED)
    print(f"{run.run_dir}: {run.work.summary}" + (f"; {timing}" if timing else ""))
    for path in summary.get("figures", []):
        print(f"  figure: {path}")
    return 0


REPORTED = ("stopped", "best_epoch", "test_accuracy", "train_seconds", "train_seconds_this_call")


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
