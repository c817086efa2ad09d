"""``mnistgen run``: the whole study (STUDY.md) in one command, with its report."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from mnistgen.cli.common import add_data_args
from mnistgen.config import DEVICES
from mnistgen.errors import MnistgenError

DEFAULT_MINUTES = 16.5


def register(commands, train_targets) -> None:
    p = commands.add_parser("run", help="run the whole study (evaluator, VAEs, GANs, sweeps, scores) and write its report")
    p.add_argument("--out", required=True, metavar="DIR", help="study directory: report.html, report.md, metrics.json, one folder per model")
    p.add_argument("--minutes", type=float, default=None,
                   help=f"training budget divided between the models (default {DEFAULT_MINUTES:g}; evaluation comes on top)")
    p.add_argument("--quick", action="store_true", help="a tiny end-to-end profile (well under a minute): smoke test, not results")
    p.add_argument("--resume", action="store_true", help="continue an interrupted study in --out, skipping finished stages")
    p.add_argument("--overwrite", action="store_true", help="replace a study already in --out")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--seed", type=int, default=0)
    add_data_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mnistgen.data import load_dataset
    from mnistgen.report import write_report
    from mnistgen.rundir import write_json
    from mnistgen.runtime import environment, resolve_device
    from mnistgen.study import FULL, QUICK, STATE, Study, execute, load_state
    from mnistgen.study_stages import STAGES

    out = Path(args.out)
    minutes = args.minutes if args.minutes is not None else (0.0 if args.quick else DEFAULT_MINUTES)
    if minutes < 0:
        raise MnistgenError(f"--minutes must be >= 0, got {minutes:g}")
    if out.exists() and not out.is_dir():
        raise MnistgenError(f"{out} exists and is not a directory")
    state = load_state(out) if (out / STATE).exists() else {}
    if state and not args.resume:
        if not args.overwrite:
            raise MnistgenError(f"{out} already holds a study; pass --resume to continue it or --overwrite to replace it")
        shutil.rmtree(out)
        state = {}
    if args.resume and not state:
        raise MnistgenError(f"--resume: {out} holds no study to continue")
    profile = QUICK if (state.get("profile") == "quick" if state else args.quick) else FULL
    dataset = state.get("dataset") or args.dataset or "mnist"
    device = resolve_device(args.device)
    ds = load_dataset(dataset, args.data_dir, download_missing=not args.no_download)  # fail (or fall back) early
    (out / "figures").mkdir(parents=True, exist_ok=True)
    state.setdefault("profile", profile.name)
    state.setdefault("dataset", dataset)
    state.setdefault("seed", args.seed)
    state.update(n=profile.n, minutes=minutes, data_info=ds.info(), environment=environment(device))
    study = Study(out, profile, args.data_dir, str(device.type), state["seed"], not args.no_download, state)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log(f"mnistgen study -> {out} ({profile.name} profile, {dataset} from {ds.source}, {minutes:g} min training budget, "
        f"device {device})")
    started = time.monotonic()
    execute(study, STAGES, minutes, log)
    state["wall_seconds"] = state.get("wall_seconds", 0.0) + time.monotonic() - started  # summed over resumes
    write_json(out / STATE, state)
    paths = write_report(out, state)
    print(stage_table(state))
    print(f"report: {paths['html']}  ({paths['markdown'].name}, {paths['metrics'].name})")
    failed = [n for n, s in state.get("stages", {}).items() if s.get("status") == "failed"]
    if failed:
        print(f"error: {len(failed)} stage(s) failed: {', '.join(failed)} (see the report)", file=sys.stderr)
        return 1
    return 0


def stage_table(state: dict) -> str:
    rows = [f"{'stage':<18} {'status':<8} {'budget':>7} {'wall':>8}"]
    for name, s in state.get("stages", {}).items():
        budget = f"{s.get('budget_minutes', 0) or 0:.1f}m"
        rows.append(f"{name:<18} {s.get('status', '?'):<8} {budget:>7} {s.get('seconds', 0) or 0:>7.1f}s")
    rows.append(f"{'total':<18} {'':<8} {'':>7} {state.get('wall_seconds', 0):>7.1f}s")
    return "\n".join(rows)
