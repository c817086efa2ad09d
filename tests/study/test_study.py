"""The whole study, `mnistgen run --quick`, end to end on tiny data: everything written, the same seed gives the same
metrics.json, an interrupted study resumes to the same metrics.json, Fashion-MNIST reads as Fashion-MNIST, and the
report opens in Chromium."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess

import pytest

from mnistgen.cli import main
from mnistgen.gan import state as gan_state
from mnistgen.study import STAGES, Stage, caps, work_words
from mnistgen.study.core import Study, execute
from mnistgen.study.gan_studies import LADDER, ladder_config, rung_cap_shares
from mnistgen.study.profiles import PROFILES

GENERATORS = ("vae-conv", "vae-seed", "vae-seed-2d", "gan-losses-bce", "gan-losses-wgan", "gan-losses-wgan-gp", "gan-seed")


def run_quick(out, data_dir, *extra):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MNISTGEN_NO_PROGRESS", "1")
        return main(["run", "--quick", "--out", str(out), "--data-dir", str(data_dir), "--device", "cpu", *extra])


@pytest.fixture(scope="module")
def quick_study(tmp_path_factory, tiny_mnist_dir):
    out = tmp_path_factory.mktemp("study") / "run"
    return run_quick(out, tiny_mnist_dir), out


def test_quick_study_writes_everything(quick_study):
    code, out = quick_study
    state = json.loads((out / "study.json").read_text())
    failed = {k: v.get("error") for k, v in state["stages"].items() if v["status"] != "done"}
    assert failed == {} and code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"evaluator", "real", *GENERATORS} <= set(metrics)
    assert metrics["evaluator"]["name"] == "mnistgen-mnist-cnn-v1" and len(metrics["evaluator"]["sha256"]) == 64
    for name in GENERATORS:
        m = metrics[name]
        assert m["n"] == 300 and 1.0 <= m["is_mean"] <= 10.0 and 0 <= m["modes"] <= 10 and m["cut_short"] is False
        assert (out / m["run_dir"] / "config.json").is_file() and set(m["work"]) >= {"images"}
    assert metrics["gan-losses-wgan"]["work"]["steps"] == metrics["gan-losses-bce"]["work"]["steps"] == 12  # equal work
    md = (out / "report.md").read_text()
    assert "9.50 ± 0.01" in md and "1.72 ± 0.25" in md and "7.52 ± 0.58" in md  # the original's numbers beside ours
    for rel in re.findall(r"\]\(([^)]+\.png)\)", md):
        assert (out / rel).is_file(), rel
    for figure in ("figures/comparison.png", "latent_map.png", "gan-capacity/collapse.png", "gan-losses/quality.png"):
        assert figure in md
    assert "mnistgen-mnist-cnn-v1" in md and "docs/original-study.md" in md


def test_rerun_refuses_then_resumes_without_redoing(quick_study, tiny_mnist_dir, capsys):
    code, out = quick_study
    before = (out / "metrics.json").read_bytes()
    assert run_quick(out, tiny_mnist_dir) == 2
    assert "already holds a study; pass --resume" in capsys.readouterr().err
    assert run_quick(out, tiny_mnist_dir, "--resume") == 0
    err = capsys.readouterr().err
    assert err.count("skipped on resume") == len(json.loads((out / "study.json").read_text())["stages"])
    assert (out / "metrics.json").read_bytes() == before


def test_same_seed_same_metrics_and_an_interrupted_study_resumes_to_them(quick_study, tiny_mnist_dir, tmp_path, monkeypatch):
    _, out = quick_study
    assert run_quick(tmp_path / "again", tiny_mnist_dir) == 0
    assert (tmp_path / "again" / "metrics.json").read_bytes() == (out / "metrics.json").read_bytes()

    real, calls = gan_state.save_checkpoint, {"n": 0}

    def interrupt_in_the_second_loss_run(*args, **kwargs):
        real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 4:  # the first run writes 3 (steps 6, 12, final); the 4th is the second run half way
            raise KeyboardInterrupt

    monkeypatch.setattr(gan_state, "save_checkpoint", interrupt_in_the_second_loss_run)
    assert run_quick(tmp_path / "cut", tiny_mnist_dir) == 130
    state = json.loads((tmp_path / "cut" / "study.json").read_text())
    assert state["stages"]["gan-losses-wgan"]["status"] == "running"
    monkeypatch.setattr(gan_state, "save_checkpoint", real)
    assert run_quick(tmp_path / "cut", tiny_mnist_dir, "--resume") == 0
    assert (tmp_path / "cut" / "metrics.json").read_bytes() == (out / "metrics.json").read_bytes()


def test_a_study_resumed_at_a_gan_stage_trains_it_as_an_uninterrupted_one(quick_study, tiny_mnist_dir, tmp_path, monkeypatch):
    # Resumed, the study loads its evaluator only when the first GAN probe asks for it, in the middle of that run's
    # training: loading must not draw from the global RNG, or the rest of the run trains on other noise.
    _, out = quick_study
    real_train = Study.train

    def interrupt_before_the_first_gan(self, family, cfg, name, preset, **extra):
        if name == "gan-losses-bce":
            raise KeyboardInterrupt
        return real_train(self, family, cfg, name, preset, **extra)

    monkeypatch.setattr(Study, "train", interrupt_before_the_first_gan)
    assert run_quick(tmp_path / "cut", tiny_mnist_dir) == 130
    monkeypatch.setattr(Study, "train", real_train)
    assert run_quick(tmp_path / "cut", tiny_mnist_dir, "--resume") == 0
    assert (tmp_path / "cut" / "metrics.json").read_bytes() == (out / "metrics.json").read_bytes()


def test_fashion_mnist_reads_as_fashion_mnist(tiny_fashion_dir, tmp_path):
    assert run_quick(tmp_path / "fashion", tiny_fashion_dir, "--dataset", "fashion-mnist") == 0
    md = (tmp_path / "fashion" / "report.md").read_text()
    for name in ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"):
        assert name in md, name
    for mnist_only in ("digit", "real MNIST", "9.50", "1.72", "7.52"):
        assert mnist_only not in md, mnist_only
    assert "Fashion-MNIST" in md and "mnistgen-fashion-mnist-cnn-v1" in md


def test_a_minutes_cap_is_shared_by_the_training_stages():
    noop = lambda study: {}  # noqa: E731
    stages = [Stage("a", "", "x", noop, share=3.0), Stage("b", "", "x", noop), Stage("c", "", "x", noop, share=1.0)]
    assert caps(stages, 8.0) == {"a": 6.0, "c": 2.0} and caps(stages, 0) == {}
    assert sum(caps(STAGES, 10.0).values()) == pytest.approx(10.0)


def test_a_resumed_study_lists_its_stages_in_the_study_order(tmp_path):
    ran = []
    stages = [Stage(n, n, "x", lambda study, n=n: ran.append(n) or {}) for n in ("a", "b", "c")]
    done = {"status": "done", "section": "x", "seconds": 1.0, "result": {}}
    study = Study(tmp_path, PROFILES["quick"], None, "cpu", 0, state={"stages": {"c": done, "a": done, "old": done}})
    state = execute(study, stages, 0.0, lambda line: None)
    assert ran == ["b"] and list(state["stages"]) == ["a", "b", "c", "old"]
    assert list(json.loads((tmp_path / "study.json").read_text())["stages"]) == ["a", "b", "c", "old"]


def test_the_capacity_rungs_split_their_stage_cap_by_cost(tmp_path):
    shares = rung_cap_shares()
    assert list(shares) == list(LADDER) and sum(shares.values()) == pytest.approx(1.0)
    assert shares["MLP 128 vs seed D"] == pytest.approx(6 * shares["z 1, 16-8-4"])  # 1,500 x 64 vs 500 x 32 images
    study = Study(tmp_path, PROFILES["full"], None, "cpu", 0, caps={"gan-capacity": 6.0})
    minutes = [study.configure(ladder_config(r), "gan-capacity", cap_share=shares[r]).train.max_minutes for r in LADDER]
    assert sum(minutes) == pytest.approx(6.0, abs=1e-3) and minutes[0] == pytest.approx(4.0, abs=1e-3)
    assert study.configure(ladder_config("z 1, 16-8-4"), "gan-seed").train.max_minutes == 0.0  # no cap for that stage


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
    _, out = quick_study
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


def test_paper_profile_runs_on_tiny_data(tiny_mnist_dir, tmp_path, monkeypatch):
    """The original recipes (Keras defaults, the seed DCGAN for the losses, the papers' Wasserstein recipes), with the
    quick profile's tiny work on top so that it runs in seconds."""
    from mnistgen import study
    from mnistgen.study.profiles import PAPER, QUICK

    recipes = {k: (*PAPER.recipes.get(k, ()), *QUICK.recipes.get(k, ())) for k in {*PAPER.recipes, *QUICK.recipes}}
    monkeypatch.setitem(study.PROFILES, "paper", dataclasses.replace(PAPER, data=QUICK.data, recipes=recipes, n=300, kid_subset=100))
    out = tmp_path / "paper"
    assert run_quick(out, tiny_mnist_dir, "--profile", "paper") == 0
    state = json.loads((out / "study.json").read_text())
    assert {k: v["status"] for k, v in state["stages"].items()} == {s.name: "done" for s in STAGES}
    wgan = json.loads((out / "gan-losses-wgan" / "metadata.json").read_text())["hyper"]
    assert (wgan["optimizer"], wgan["lr_d"], wgan["n_critic"], wgan["clip"]) == ("rmsprop", 5e-5, 5, 0.01)  # Arjovsky et al.
    seed = json.loads((out / "gan-seed" / "config.json").read_text())["config"]
    assert seed["model"]["init"] == "keras" and seed["train"]["adam_eps"] == 1e-7 and seed["train"]["logit_clip"] > 16
    vae = json.loads((out / "vae-seed" / "config.json").read_text())["config"]
    assert vae["train"]["lr"] == 1e-3 and vae["model"]["init"] == "keras" and vae["model"]["prior_components"] == 0
    assert vae["train"]["decoder_epochs"] == 0  # the original trained encoder and decoder together only


def test_work_words_count_the_decoder_only_images_apart():
    refined = {"work": {"epochs": 31, "images": 155000, "decoder_images": 200000}}
    assert work_words(refined) == "31 epochs, 155,000 images + 200,000 decoder-only"
    assert work_words({"work": {"epochs": 3, "images": 900, "decoder_images": 0}, "cut_short": True}) == "3 epochs, 900 images (cut)"
