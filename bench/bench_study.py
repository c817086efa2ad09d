"""The default study's work and time per stage, with the machine it ran on and an estimate for the reference CPU.

    flock /tmp/mnistgen-cpu.lock .venv/bin/python bench/bench_study.py --out /tmp/bench-study   # runs `mnistgen run`
    .venv/bin/python bench/bench_study.py --out /tmp/bench-study --no-run                      # reads a finished study

The reference CPU for the project's time targets is a plain 2-core one (AVX2, no AVX-512, no bf16). To estimate
the study's time there, the script times two of its workloads on this machine — 200 steps of the fast GAN
(batch 32, fp32) and one epoch of the convolutional VAE — and scales by their measured speed on the reference:
7.7 steps/s and ~50 s per epoch (as measured by the issue that set the target).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mnistgen import gan, vae
from mnistgen.config import apply_overrides
from mnistgen.runtime import cpu_description
from mnistgen.study import work_words
from mnistgen.study.content import stage_seconds

REFERENCE = {"gan_steps_per_s": 7.7, "vae_epoch_s": 50.0}


def calibrate(data_dir: str | None) -> dict[str, float]:
    """This machine's speed on the two reference workloads (fp32)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = apply_overrides(gan.configure("fast"), ["runtime.device=cpu", "train.steps=200", "train.probe_every=0",
                                                      "train.grid_every=0", "train.checkpoint_every=1000"])
        s = gan.train(cfg, Path(tmp) / "gan", data_dir=data_dir, probe=None)
        v = vae.train(apply_overrides(vae.configure("conv"), ["runtime.device=cpu", "train.epochs=1", "model.prior_components=0",
                                                                 "train.decoder_epochs=0"]),
                      Path(tmp) / "vae", data_dir=data_dir)
    return {"gan_steps_per_s": s["steps_per_second"], "vae_epoch_s": v["train_seconds_this_call"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--no-run", action="store_true", help="only read a finished study in --out")
    p.add_argument("--no-calibrate", action="store_true")
    p.add_argument("--data-dir", default=os.environ.get("MNISTGEN_DATA_DIR"))
    args = p.parse_args()
    if not args.no_run:
        started = time.monotonic()
        cmd = [sys.executable, "-m", "mnistgen", "run", "--out", args.out, "--overwrite", "--device", "cpu"]
        subprocess.run(cmd + (["--data-dir", args.data_dir] if args.data_dir else []), check=True)
        print(f"`mnistgen run` took {time.monotonic() - started:.0f} s (process wall time, start-up included)")
    state = json.loads((Path(args.out) / "study.json").read_text())
    cpu, flags = cpu_description()
    env = state["environment"]
    print(f"machine: {cpu}; flags: {' '.join(flags)}; torch threads {env['torch_threads']}; device {env['device']}; precision fp32")
    print(f"{'stage':<20} {'work':<52} {'wall s':>8}")
    for name, s in state["stages"].items():
        print(f"{name:<20} {work_words(s.get('result') or {}):<52} {s.get('seconds', 0):>8.1f}")
    total = stage_seconds(state)  # summed over the stages: right also for a study that was interrupted and resumed
    print(f"{'total':<20} {'':<52} {total:>8.1f}  ({total / 60:.1f} min of stage wall time)")
    if not args.no_calibrate:
        here = calibrate(args.data_dir)
        speedups = {"fast GAN": here["gan_steps_per_s"] / REFERENCE["gan_steps_per_s"],
                    "conv VAE": REFERENCE["vae_epoch_s"] / here["vae_epoch_s"]}
        print(f"calibration: fast GAN {here['gan_steps_per_s']:.1f} steps/s here (reference {REFERENCE['gan_steps_per_s']}), "
              f"conv VAE epoch {here['vae_epoch_s']:.0f} s here (reference ~{REFERENCE['vae_epoch_s']:.0f}): this machine is "
              + ", ".join(f"{v:.2f}x ({k})" for k, v in speedups.items()) + " the reference's speed")
        lo, hi = sorted(speedups.values())
        print(f"estimate for the reference CPU: {total * lo / 60:.1f}-{total * hi / 60:.1f} min")

if __name__ == "__main__":
    main()
