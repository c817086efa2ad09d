"""``mnistgen train vae``: train (or resume) a VAE preset; figures land in RUN_DIR/figures/."""

from __future__ import annotations

import argparse
import dataclasses

from mnistgen.cli.common import add_train_args, apply_cli_overrides, resolve_config


def register(commands, train_targets) -> None:
    from mnistgen.train.vae import PRESETS

    p = train_targets.add_parser("vae", help="train a variational autoencoder (presets: seed, seed-2d, conv)",
                                 description="Train a VAE; --resume RUN_DIR continues a run exactly where it stopped.")
    add_train_args(p, PRESETS, "conv")
    p.add_argument("--epochs", type=int, default=None, help="maximum number of epochs (default: the preset's)")
    p.add_argument("--minutes", type=float, default=None, help="wall-clock budget in minutes; stops between epochs (0 = none)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mnistgen.train import vae

    if args.resume:
        cfg, preset = vae.load_run_config(args.resume)
        cfg = apply_cli_overrides(cfg, args)
    else:
        cfg, preset = resolve_config(vae.PRESETS, args, "VAE"), args.preset
    changes = {k: v for k, v in (("epochs", args.epochs), ("max_minutes", args.minutes)) if v is not None}
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **changes))
    summary = vae.train(cfg, args.out, resume=args.resume, overwrite=args.overwrite, data_dir=args.data_dir,
                        download_missing=not args.no_download, preset_name=preset)
    print(f"{summary['run_dir']}: {summary['epochs_completed']} epochs (stopped: {summary['stopped']}), "
          f"best epoch {summary['best_epoch']} (validation loss {summary['best_val_loss']:.2f}), "
          f"{summary['train_seconds_this_call']:.0f} s")
    for path in summary["figures"]:
        print(f"  figure: {path}")
    return 0
