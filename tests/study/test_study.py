"""The whole study on the quick profile, end to end on tiny data: everything written, each checkpoint read at most once
per stage, a resume that would change the study refused, two seeds on two Dask worker processes equal to two
single-seed studies, an interrupted study resuming to the uninterrupted one, Fashion-MNIST read as Fashion-MNIST, the
paper profile, and the report opening in Chromium."""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mnistgen import families
from mnistgen.cli import main
from mnistgen.datasets import describe
from mnistgen.metrics import evaluate_images, load_evaluator
from mnistgen.study import Cluster, Request, run_study, stages

GENERATORS = stages.generators(stages.study_stages(describe("mnist")))

QUICK = ["--quick", "--device", "cpu", "--threads-per-worker", "1"]


def run_quick(out, data_dir, *extra):
    return main(["run", "--out", str(out), "--data-dir", str(data_dir), *QUICK, *extra])


def per_seed(out: Path, seed: int) -> dict:
    metrics = json.loads((out / "metrics.json").read_text())
    return {name: m["per_seed"][str(seed)] for name, m in metrics["models"].items() if str(seed) in m["per_seed"]}


@pytest.fixture(scope="module")
def single(tmp_path_factory, tiny_mnist_dir):
    """Seed 0 in this process (one thread-worker), counting the checkpoints each stage reads."""
    out, reads, real_load = tmp_path_factory.mktemp("study") / "run", collections.Counter(), torch.load
    current = {"stage": None}

    def counting_load(f, *args, **kwargs):
        if str(f).endswith(".pt") and str(out) in str(f):
            reads[(current["stage"], os.path.relpath(f, out))] += 1
        return real_load(f, *args, **kwargs)

    def watched(stage):
        def run(ctx, deps):
            current["stage"] = stage.name
            return stage.run(ctx, deps)

        return dataclasses.replace(stage, run=run)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MNISTGEN_NO_PROGRESS", "1")
        mp.setenv("MNISTGEN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        mp.setattr(torch, "load", counting_load)
        declared = stages.study_stages
        mp.setattr(stages, "study_stages", lambda dataset=None: [watched(s) for s in declared(dataset)])
        state = run_study(
            out,
            Request("quick", "mnist", (0,), 1),
            data_dir=str(tiny_mnist_dir),
            device="cpu",
            cluster=Cluster(workers=1, processes=False),
        )
    return state, out, reads


def test_quick_study_writes_everything(single):
    state, out, _ = single
    assert {k: r.error for k, r in state.units.items() if r.status != "done"} == {}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["version"] == 2 and metrics["seeds"] == [0] and metrics["threads"] == 1
    assert {"real", *GENERATORS} <= set(metrics["models"])
    assert metrics["evaluator"]["name"] == "mnistgen-mnist-cnn-v1" and len(metrics["evaluator"]["sha256"]) == 64
    for name in GENERATORS:
        m = metrics["models"][name]["per_seed"]["0"]
        assert m["n"] == 100 and 0 <= m["modes"] <= 10 and m["cut_short"] is False
        assert (out / m["run_dir"] / "config.json").is_file() and set(m["work"]) >= {"images"}
        assert metrics["models"][name]["ci95"]["fid"] is None  # one seed: no interval
    models = metrics["models"]
    assert models["gan-losses-wgan"]["per_seed"]["0"]["work"]["steps"] == 4  # equal work for every loss
    assert models["gan-losses-bce"]["per_seed"]["0"]["work"]["steps"] == 4
    assert set(metrics["phenomena"]) >= {
        "early_stop",
        "collapse",
        "ladder",
        "bce_first_low",
        "latent_map_encoder",
        "latent_map_overlap",
        "bce_steadiest_curves",
    }
    md = (out / "report.md").read_text()
    assert "9.50 ± 0.01" in md and "1.72 ± 0.25" in md and "7.52 ± 0.58" in md  # the original's numbers beside ours
    for rel in re.findall(r"\]\(([^)]+\.png)\)", md):
        assert (out / rel).is_file(), rel
    for figure in ("seed-0/figures/comparison.png", "latent_map.png", "gan-capacity/collapse.png", "quality.png"):
        assert figure in md
    assert "Phenomena across seeds" in md and "mnistgen-mnist-cnn-v1" in md and "docs/original-study.md" in md
    assert re.search(r"a row of VAE \(conv\) samples, a row of GAN \([^)]+\) samples, a row of Flow matching", md)


def test_every_reported_score_is_what_the_run_gives_again(single):
    """Each model's row is its run's samples scored again with the study's seed and sizes, to the last digit."""
    _, out, _ = single
    metrics, ev = json.loads((out / "metrics.json").read_text()), load_evaluator("mnist")
    for name in GENERATORS:
        m = metrics["models"][name]["per_seed"]["0"]
        images = families.open_trained(out / m["run_dir"]).sample(100, seed=0)
        again = evaluate_images(images, ev, seed=0, kid_subset_size=50)
        assert (again["is_mean"], again["fid"], again["recall"]) == (m["is_mean"], m["fid"], m["recall"]), name


def test_each_stage_reads_a_checkpoint_at_most_once(single):
    _, _, reads = single
    assert reads and max(reads.values()) == 1, reads
    assert reads[("gan-capacity", "seed-0/gan-losses-bce/checkpoint_last.pt")] == 1  # the ladder's top rung


def _snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--seed", "1", "seeds 0, not 1"),
        ("--profile", "full", "--profile quick, not full"),
        ("--dataset", "fashion-mnist", "--dataset mnist, not fashion-mnist"),
        ("--threads-per-worker", "2", "--threads-per-worker 1, not 2"),
        ("--kernels", "native", "--kernels"),
    ],
)
def test_a_resume_that_would_change_the_study_is_refused(single, tiny_mnist_dir, capsys, flag, value, words):
    _, out, _ = single
    before = _snapshot(out)
    assert run_quick(out, tiny_mnist_dir, "--resume", flag, value) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume:") and words in err and "new study" in err and err.count("\n") == 1
    assert _snapshot(out) == before  # nothing in the folder changed


def test_rerun_refuses_then_resumes_without_redoing(single, tiny_mnist_dir, capsys):
    _, out, _ = single
    before = (out / "metrics.json").read_bytes()
    assert run_quick(out, tiny_mnist_dir) == 2
    assert "already holds a study; pass --resume" in capsys.readouterr().err
    assert run_quick(out, tiny_mnist_dir, "--resume", "--workers", "1") == 0
    assert "0 units to run" in capsys.readouterr().err
    assert (out / "metrics.json").read_bytes() == before


def test_two_seeds_on_two_workers_equal_two_single_seed_studies(single, tiny_mnist_dir, tmp_path, capsys):
    _, out, _ = single
    assert run_quick(tmp_path / "two", tiny_mnist_dir, "--seeds", "0,1", "--workers", "2") == 0
    one = ["compare-losses", "--out", str(tmp_path / "one"), "--data-dir", str(tiny_mnist_dir), *QUICK, "--seed", "1"]
    assert main(one) == 0  # seed 1 alone (its loss comparison: the stages that train most)
    two = tmp_path / "two"
    assert per_seed(two, 0) == per_seed(out, 0)  # two worker processes vs one worker thread, two seeds vs one
    alone = per_seed(tmp_path / "one", 1)
    assert len(alone) == 3 and alone == {k: v for k, v in per_seed(two, 1).items() if k in alone}
    assert per_seed(two, 1) != per_seed(two, 0)
    metrics = json.loads((two / "metrics.json").read_text())
    fid = metrics["models"]["vae-conv"]
    assert fid["ci95"]["fid"] > 0 and fid["mean"]["fid"] == pytest.approx(
        (fid["per_seed"]["0"]["fid"] + fid["per_seed"]["1"]["fid"]) / 2
    )
    assert all(p["of"] == 2 for p in metrics["phenomena"].values())
    md = (two / "report.md").read_text()
    assert "2 training seeds (0, 1)" in md and "Appendix: scores per seed" in md and "Seed 0: " in md
    assert run_quick(two, tiny_mnist_dir, "--resume", "--seeds", "1") == 2  # dropping a seed is refused
    assert "seeds 0, 1, not 1" in capsys.readouterr().err


def test_an_interrupted_study_resumes_to_the_uninterrupted_one(single, tiny_mnist_dir, tmp_path):
    _, out, _ = single
    cut = tmp_path / "cut"  # the loss comparison's sub-study: the same units, interrupted and resumed
    cmd = [
        sys.executable,
        "-m",
        "mnistgen",
        "compare-losses",
        "--out",
        str(cut),
        "--data-dir",
        str(tiny_mnist_dir),
        *QUICK,
        "--workers",
        "1",
    ]
    # Ctrl-C reaches the study only where SIGINT is not ignored; a test runner's worker may ignore it and its children
    # inherit that, so the child starts with the default disposition, as from a terminal.
    default_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint
    )
    mark, deadline = cut / "seed-0" / "gan-losses-bce" / "checkpoint_last.pt", time.monotonic() + 240
    while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert any(line.startswith("error: interrupted") for line in err.splitlines()), err[-2000:]
    state = json.loads((cut / "study.json").read_text())
    finished = {k for k, u in state["units"].items() if u["status"] == "done"}
    assert "0/evaluator" in finished and len(finished) < 5
    resumed = ["compare-losses", "--out", str(cut), "--data-dir", str(tiny_mnist_dir), *QUICK, "--resume"]
    assert main([*resumed, "--workers", "1"]) == 0
    losses = per_seed(cut, 0)
    assert set(losses) == {"gan-losses-bce", "gan-losses-wgan", "gan-losses-wgan-gp"}
    assert losses == {name: m for name, m in per_seed(out, 0).items() if name in losses}


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


CHECK = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);
  const out = document.createElement('pre'); out.id = 'mnistgen-check';
  const tables = document.querySelectorAll('table').length;
  out.textContent = JSON.stringify({images: imgs.length, broken: broken, tables: tables});
  document.body.appendChild(out);
});
</script></body>"""


def test_report_opens_in_headless_chromium(single, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium not installed (Debian: apt-get install chromium chromium-driver); report not opened")
    _, out, _ = single
    page = tmp_path / "report.html"
    page.write_text((out / "report.html").read_text().replace("</body>", CHECK))
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="mnistgen-check">(.*?)</pre>', proc.stdout)
    assert found, proc.stderr[-2000:]
    check = json.loads(found.group(1).replace("&quot;", '"'))
    assert check["broken"] == [] and check["images"] >= 10 and check["tables"] >= 3
