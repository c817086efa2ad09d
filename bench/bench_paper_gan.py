"""The original study's GAN recipe measured epoch by epoch: the seed DCGAN trained exactly as the ``paper`` profile
trains it (the ``seed`` preset: Adam 2e-4, beta1 0.5, eps 1e-7, batch 256, Keras-style initialisation and logit
clipping, 234 batches an epoch, 100 epochs), scored after every epoch.

    .venv/bin/python bench/bench_paper_gan.py --out runs/paper-gan --until 10      # train (or continue) to epoch 10
    .venv/bin/python bench/bench_paper_gan.py --out runs/paper-gan --report        # the table and the figure only

After every epoch it records the images seen, the training and wall seconds, and the Inception Score of 2,000
samples; every ``--full-every`` epochs (default 5) all the scores of 10,000 samples and the IS of 500 of them (the
original's n). It continues from the run's last checkpoint on the next call (the run resumes exactly, also after a
kill mid-epoch), so the 100 epochs can be spread over many calls. The trajectory is ``OUT/trajectory.json``;
``--report`` also draws ``OUT/trajectory.png`` (IS against images seen, beside a ``seed-fast`` run's probe curve when
``--fast-run`` names one).
"""

from __future__ import annotations

from mnistgen import kernels

kernels.hold(kernels.default())  # before torch loads: the AVX2 kernels the `mnistgen` command computes with

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from mnistgen import gan, rundir  # noqa: E402
from mnistgen.config import replace_values  # noqa: E402
from mnistgen.errors import MnistgenError  # noqa: E402
from mnistgen.metrics import evaluate_images, inception_score_of, load_evaluator, quick_scores  # noqa: E402
from mnistgen.plotting import plt, save_figure  # noqa: E402
from mnistgen.runtime import cpu_description  # noqa: E402
from mnistgen.sampling import sample_images  # noqa: E402

PRESET = "seed"
FULL_KEYS = ("is_mean", "fid", "precision", "recall", "density", "coverage", "modes")


def config(threads: int, seed: int) -> gan.GANRunConfig:
    """The paper profile's seed DCGAN: the preset exactly, on the CPU, without probes (this script scores it)."""
    return replace_values(
        gan.configure(PRESET),
        {
            "runtime.threads": threads,
            "runtime.seed": seed,
            "runtime.device": "cpu",
            "train.probe_every": 0,
            "train.grid_every": 0,
        },
    )


def steps_per_epoch(cfg: gan.GANRunConfig, n_train: int) -> int:
    return max(1, n_train // cfg.train.batch_size)


def load_trajectory(out: Path) -> list[dict]:
    path = out / "trajectory.json"
    return json.loads(path.read_text())["epochs"] if path.exists() else []


def save_trajectory(out: Path, rows: list[dict], machine: str) -> None:
    rundir.write_json(out / "trajectory.json", {"preset": PRESET, "machine": machine, "epochs": rows})


def score(run: Path, epoch: int, full: bool, ev) -> dict:
    t0 = time.perf_counter()
    images = sample_images(run, 10_000 if full else 2_000, seed=0)
    row = {"is_2000": quick_scores(images[:2000], ev)["is"]}
    if full:
        row |= {k: evaluate_images(images, ev)[k] for k in FULL_KEYS}
        row["is_500"] = inception_score_of(images, ev, n=500, seed=0)[0]  # the original's n
    return row | {"score_seconds": time.perf_counter() - t0}


def train_epochs(args: argparse.Namespace, machine: str) -> None:
    out, run = Path(args.out), Path(args.out) / "run"
    rows = load_trajectory(out)
    ev = load_evaluator("mnist")
    cfg = config(args.threads, args.seed)
    per_epoch = steps_per_epoch(cfg, 60_000)
    while (rows[-1]["epoch"] if rows else 0) < args.until:
        epoch = (rows[-1]["epoch"] if rows else 0) + 1
        t0 = time.perf_counter()
        step_cfg = replace_values(cfg, {"train.steps": epoch * per_epoch})
        if (run / rundir.LAST).exists():
            trained = gan.train(step_cfg, resume=run, data_dir=args.data_dir, probe=None)
        else:
            trained = gan.train(step_cfg, run, data_dir=args.data_dir, probe=None, preset_name=PRESET)
        summary = trained.summary
        row = {
            "epoch": epoch,
            "steps": summary["steps"],
            "images": summary["steps"] * cfg.train.batch_size,
            "train_seconds": summary["train_seconds"],
            "call_wall_seconds": time.perf_counter() - t0,
            "threads": torch.get_num_threads(),
            "machine": machine,
        }
        row |= score(run, epoch, epoch % args.full_every == 0, ev)
        rows.append(row)
        save_trajectory(out, rows, machine)
        print(
            f"epoch {epoch:3d}: {row['images']:>10,} images, IS(2,000) {row['is_2000']:.2f}"
            + (f", IS(10,000) {row['is_mean']:.2f}, FID {row['fid']:.2f}" if "fid" in row else "")
            + f" ({row['call_wall_seconds']:.0f} s)",
            flush=True,
        )


def report(out: Path, fast_run: Path | None) -> None:
    rows = load_trajectory(out)
    if not rows:
        raise MnistgenError(f"{out} holds no trajectory yet")
    print(
        f"{'epoch':>5} {'images':>11} {'train s':>8} {'IS 2k':>6} {'IS 10k':>6} {'FID':>6} {'prec':>5} {'recall':>6} "
        f"{'cover':>6} {'modes':>5}"
    )
    for r in rows:
        full = (
            f"{r['is_mean']:6.2f} {r['fid']:6.2f} {r['precision']:5.3f} {r['recall']:6.3f} {r['coverage']:6.3f} "
            f"{r['modes']:5d}"
            if "fid" in r
            else ""
        )
        print(f"{r['epoch']:5d} {r['images']:11,} {r['train_seconds']:8.0f} {r['is_2000']:6.2f} {full}")
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.plot(
        [r["images"] for r in rows], [r["is_2000"] for r in rows], "o-", label="original recipe (batch 256, Adam 2e-4)"
    )
    if fast_run is not None:
        probes = rundir.read_json(fast_run / rundir.HISTORY)["probe"]
        batch = gan.load_config(fast_run)[0].train.batch_size
        ax.plot(
            [p["step"] * batch for p in probes],
            [p["is"] for p in probes],
            "s--",
            label=f"seed-fast (batch {batch}, Adam 1e-3, EMA)",
        )
    ax.axhline(7.52, color="gray", ls=":", label="the original's IS 7.52 (n = 500, 100 epochs)")
    ax.set(
        xscale="log",
        xlabel="images generated (generator steps × batch)",
        ylabel="Inception Score (n = 2,000)",
        title="The seed DCGAN: the original recipe against seed-fast",
        ylim=(0, 10),
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left", framealpha=0.9)
    print(f"figure: {save_figure(fig, out / 'trajectory.png')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/paper-gan")
    ap.add_argument(
        "--until", type=int, default=10, help="train until this epoch (of 100); continues from the last one"
    )
    ap.add_argument("--threads", type=int, default=2, help="torch threads (recorded per epoch)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--full-every", type=int, default=5, help="all the scores at n = 10,000 every this many epochs")
    ap.add_argument("--data-dir", default=os.environ.get("MNISTGEN_DATA_DIR"))
    ap.add_argument("--report", action="store_true", help="only print the trajectory and draw its figure")
    ap.add_argument("--fast-run", type=Path, default=None, help="a seed-fast GAN run whose probe curve goes beside it")
    args = ap.parse_args()
    if not 1 <= args.until <= 100 or args.full_every < 1:
        raise MnistgenError("--until must lie in 1..100 and --full-every be >= 1")
    cpu, flags = cpu_description()
    machine = f"{cpu} ({' '.join(flags)}), torch CPU capability {torch.backends.cpu.get_cpu_capability()}"
    if not args.report:
        torch.set_num_threads(args.threads)
        train_epochs(args, machine)
    report(Path(args.out), args.fast_run)


if __name__ == "__main__":
    try:
        main()
    except MnistgenError as err:
        raise SystemExit(f"error: {err}") from None
