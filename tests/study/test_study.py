"""The whole study, `mnistgen run --quick`, end to end on tiny data; its report opened in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mnistgen.cli import main
from mnistgen.study import Stage, plan

GENERATORS = ("vae-conv", "vae-seed", "vae-seed-2d", "gan-fast-bce", "gan-fast-wgan", "gan-fast-wgan-gp", "gan-seed-bce")


@pytest.fixture(scope="module")
def quick_study(tmp_path_factory, tiny_mnist_dir):
    cache = tmp_path_factory.mktemp("study-cache")
    out = tmp_path_factory.mktemp("study") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MNISTGEN_CACHE_DIR", str(cache))
        mp.setenv("MNISTGEN_NO_PROGRESS", "1")
        code = main(["run", "--quick", "--out", str(out), "--data-dir", str(tiny_mnist_dir), "--device", "cpu"])
    return code, out, cache


def test_quick_study_writes_everything(quick_study):
    code, out, _ = quick_study
    state = json.loads((out / "study.json").read_text())
    failed = {k: v.get("error") for k, v in state["stages"].items() if v["status"] != "done"}
    assert failed == {} and code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"real", *GENERATORS} <= set(metrics)
    for name in GENERATORS:
        m = metrics[name]
        assert m["n"] == 300 and 1.0 <= m["is_mean"] <= 10.0 and 0 <= m["modes"] <= 10
        assert (out / m["run_dir"] / "config.json").is_file()
    md = (out / "report.md").read_text()
    assert "9.50 ± 0.01" in md and "1.72 ± 0.25" in md and "7.52 ± 0.58" in md  # the original's numbers beside ours
    for rel in re.findall(r"\]\(([^)]+\.png)\)", md):
        assert (out / rel).is_file(), rel
    assert "figures/comparison.png" in md and "latent_map.png" in md


def test_rerun_refuses_then_resumes_without_redoing(quick_study, tiny_mnist_dir, capsys):
    code, out, cache = quick_study
    before = (out / "metrics.json").read_bytes()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MNISTGEN_CACHE_DIR", str(cache))
        assert main(["run", "--quick", "--out", str(out), "--data-dir", str(tiny_mnist_dir)]) == 2
        assert "already holds a study; pass --resume" in capsys.readouterr().err
        assert main(["run", "--out", str(out), "--resume", "--data-dir", str(tiny_mnist_dir), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert err.count("skipped on resume") == len(json.loads((out / "study.json").read_text())["stages"])
    assert json.loads((out / "metrics.json").read_bytes()) == json.loads(before)


def test_budget_plan_drops_the_least_important_first():
    noop = lambda study, minutes: {}  # noqa: E731
    stages = [Stage("a", "", "x", 3.0, 2.0, noop), Stage("c", "", "x", 0, 0, noop), Stage("b", "", "x", 1.0, 0.5, noop),
              Stage("d", "", "x", 1.0, 1.0, noop)]
    budget, skipped = plan(stages, 10.0)
    assert budget == {"a": 6.0, "b": 2.0, "d": 2.0} and skipped == []
    budget, skipped = plan(stages, 4.0)  # d's share (0.8) is under its minimum: the last stage goes first
    assert skipped == ["d"] and budget == {"a": 3.0, "b": 1.0}
    assert plan(stages, 1.0) == ({}, ["d", "b", "a"])


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


CHECK = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);
  const out = document.createElement('pre'); out.id = 'mnistgen-check';
  out.textContent = JSON.stringify({images: imgs.length, broken: broken, tables: document.querySelectorAll('table').length});
  document.body.appendChild(out);
});
</script></body>"""


def test_report_opens_in_headless_chromium(quick_study, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium not installed (Debian: apt-get install chromium chromium-driver); report not opened")
    _, out, _ = quick_study
    page = tmp_path / "report.html"
    page.write_text((out / "report.html").read_text().replace("</body>", CHECK))
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    found = re.search(r'<pre id="mnistgen-check">(.*?)</pre>', proc.stdout)
    assert found, proc.stderr[-2000:]
    check = json.loads(found.group(1).replace("&quot;", '"'))
    assert check["broken"] == [] and check["images"] >= 10 and check["tables"] >= 3
