"""The default study's work and time per unit, with the machine and the kernels it ran on.

    .venv/bin/python bench/bench_study.py --out /tmp/bench-study                        # `mnistgen run`, then the table
    .venv/bin/python bench/bench_study.py --out /tmp/bench-study --kernels native       # this CPU's own kernels
    .venv/bin/python bench/bench_study.py --out /tmp/bench-3 --seeds 0-2                # a 3-seed study
    .venv/bin/python bench/bench_study.py --out /tmp/bench-study --no-run               # read a finished study

The project's time targets are for a plain 2-core AVX2 CPU (no AVX-512, no bf16). The machine line says which class
this CPU is in. PyTorch is held to its AVX2 kernels by default (`--kernels avx2`, what `mnistgen run` does on any
x86-64 CPU with AVX2), so on an AVX-512 machine the study computes with the reference CPU's kernels and times closer
to it (still faster than a real AVX2 CPU); `--kernels native` times this CPU's own kernels. Times are measured,
never estimated from other machines.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mnistgen.datasets import describe
from mnistgen.runtime import cpu_description
from mnistgen.study.stages import study_stages


def machine_class(flags: list[str]) -> str:
    if "avx512f" in flags:
        return (
            "AVX-512"
            + (" + bf16" if "avx512_bf16" in flags or "amx_bf16" in flags else "")
            + " (faster than the reference class)"
        )
    if "avx2" in flags:
        return "AVX2, no AVX-512 (the reference class)"
    return "no AVX2 (slower than the reference class)"


def run(args: argparse.Namespace) -> float:
    cmd = [
        sys.executable,
        "-m",
        "mnistgen",
        args.command,
        "--out",
        args.out,
        "--overwrite",
        "--device",
        "cpu",
        "--kernels",
        args.kernels,
        "--seeds",
        args.seeds,
    ]
    cmd += ["--workers", str(args.workers)] if args.workers else []
    cmd += ["--threads-per-worker", str(args.threads)] if args.threads else []
    cmd += ["--data-dir", args.data_dir] if args.data_dir else []
    started = time.monotonic()
    subprocess.run(cmd, check=True)
    return time.monotonic() - started


def report(out: Path, wall: float | None) -> None:
    state = json.loads((out / "study.json").read_text())
    cpu, flags = cpu_description()
    env = state["environment"]
    print(f"machine: {cpu}; flags: {' '.join(flags)}; class: {machine_class(flags)}")
    print(
        f"study: {state['profile']} profile, seeds {state['seeds']}, {state['threads']} threads per unit, "
        f"{state['kernels']} kernels (torch computed with {env.get('kernels', '?')}), device {env['device']}, fp32"
    )
    order = [s.name for s in study_stages(describe(state["dataset"]))]  # the study's own order of its stages
    units = sorted(
        state["units"].values(), key=lambda u: (u["seed"], order.index(u["stage"]) if u["stage"] in order else 99)
    )
    print(f"{'stage':<20} {'seed':>4} {'status':<8} {'wall s':>8}")
    for u in units:
        print(f"{u['stage']:<20} {u['seed']:>4} {u['status']:<8} {u['seconds']:>8.1f}")
    total = sum(u["seconds"] for u in units)
    print(f"{'units, summed':<20} {'':>4} {'':<8} {total:>8.1f}  ({total / 60:.1f} min)")
    driver = state["wall_seconds"]
    print(f"study wall time (driver, summed over calls): {driver:.1f} s = {driver / 60:.1f} min")
    if wall is not None:
        print(f"`mnistgen run` process wall time, start-up included: {wall:.1f} s = {wall / 60:.1f} min")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--no-run", action="store_true", help="only read a finished study in --out")
    p.add_argument("--kernels", choices=("avx2", "native"), default="avx2")
    p.add_argument("--seeds", default="0")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--threads", type=int, default=None, help="threads per unit (default: the study's, 2)")
    p.add_argument("--data-dir", default=os.environ.get("MNISTGEN_DATA_DIR"))
    p.add_argument("--command", default="run", help="the study command: run (default), modes, compare-losses, ...")
    args = p.parse_args()
    wall = None if args.no_run else run(args)
    report(Path(args.out), wall)


if __name__ == "__main__":
    main()
