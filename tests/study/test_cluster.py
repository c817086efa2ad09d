"""The study on a Dask cluster started as docs/study.md says: `dask scheduler`, then `mnistgen worker SCHEDULER` (the
worker holds the study's CPU kernels -- a plain `dask worker` on an AVX-512 CPU would not), a relative --out; the
numbers are this machine's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from mnistgen.study import Cluster, Request, run_study

QUICK = ["--quick", "--device", "cpu", "--threads-per-worker", "1"]
LOSS_RUNS = ("gan-losses-bce", "gan-losses-wgan", "gan-losses-wgan-gp", "gan-losses")


def per_seed(out: Path, seed: int) -> dict:
    metrics = json.loads((out / "metrics.json").read_text())
    return {name: m["per_seed"][str(seed)] for name, m in metrics["models"].items() if str(seed) in m["per_seed"]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_cluster_started_as_documented_runs_the_study_as_this_machine_does(tiny_mnist_dir, tmp_path):
    """`dask scheduler`, then `mnistgen worker SCHEDULER` started in another folder (the worker holds the study's
    kernels, which a plain `dask worker` on an AVX-512 CPU does not), then a sub-study with a relative --out."""
    here = tmp_path / "here"  # the same sub-study on this machine, in this process
    run_study(
        here,
        Request("quick", "mnist", (0,), 1),
        data_dir=str(tiny_mnist_dir),
        device="cpu",
        cluster=Cluster(workers=1, processes=False),
        only=LOSS_RUNS,
    )
    address, bin_dir = f"tcp://127.0.0.1:{_free_port()}", Path(sys.executable).parent
    scheduler = subprocess.Popen(
        [
            str(bin_dir / "dask"),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            address.rsplit(":", 1)[1],
            "--dashboard-address",
            ":0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (tmp_path / "elsewhere").mkdir()
    worker = subprocess.Popen(
        [str(bin_dir / "mnistgen"), "worker", address],
        cwd=tmp_path / "elsewhere",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ | {"MNISTGEN_NO_PROGRESS": "1"},
    )
    try:
        args = ["compare-losses", "--out", "rel/study", "--data-dir", str(tiny_mnist_dir), *QUICK]
        run = subprocess.run(
            [str(bin_dir / "mnistgen"), *args, "--scheduler", address, "--connect-timeout", "60"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-2000:]
    finally:
        worker.terminate(), scheduler.terminate()
        worker.wait(30), scheduler.wait(30)
    losses = per_seed(tmp_path / "rel" / "study", 0)
    assert set(losses) == {"gan-losses-bce", "gan-losses-wgan", "gan-losses-wgan-gp"}
    assert losses == per_seed(here, 0)
