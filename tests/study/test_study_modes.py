"""The study's other modes on the quick profile: Fashion-MNIST read as Fashion-MNIST, the paper profile's recipes on
tiny data, and bad options or an unreachable cluster as one-line errors."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from mnistgen.cli import main
from mnistgen.stagekit import Stage
from mnistgen.study import Cluster, Request, profiles, run_study, stages
from mnistgen.study.profiles import PAPER
from mnistgen.study.profiles import QUICK as QUICK_PROFILE

QUICK = ["--quick", "--device", "cpu", "--threads-per-worker", "1"]


def run_quick(out, data_dir, *extra):
    return main(["run", "--out", str(out), "--data-dir", str(data_dir), *QUICK, *extra])


def test_bad_seeds_workers_and_an_unanswered_scheduler_are_one_line_errors(tmp_path, tiny_mnist_dir, capsys):
    for extra, words in (
        (["--seeds", "3-1"], "--seeds '3-1'"),
        (["--seeds", "a,b"], "expected seeds like"),
        (["--seed", "1", "--seeds", "2"], "not both"),
        (["--workers", "0"], "--workers must be"),
    ):
        assert run_quick(tmp_path / "x", tiny_mnist_dir, *extra) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and words in err and err.count("\n") == 1
    started = time.monotonic()
    assert run_quick(tmp_path / "y", tiny_mnist_dir, "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "1") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no Dask scheduler answered at tcp://127.0.0.1:9") and err.count("\n") == 1
    assert time.monotonic() - started < 30


def test_fashion_mnist_reads_as_fashion_mnist(tiny_fashion_dir, tmp_path):
    assert run_quick(tmp_path / "fashion", tiny_fashion_dir, "--dataset", "fashion-mnist") == 0
    md = (tmp_path / "fashion" / "report.md").read_text()
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    assert all(name in md for name in classes)
    for mnist_only in ("digit", "real MNIST", "9.50", "1.72", "7.52"):
        assert mnist_only not in md, mnist_only
    assert "Fashion-MNIST" in md and "mnistgen-fashion-mnist-cnn-v1" in md


# the stages whose recipes the paper profile changes (the VAE's and the GAN's of the original), and the evaluator
PAPER_STAGES = (
    "evaluator",
    "vae-seed",
    "vae-seed-2d",
    "gan-losses-bce",
    "gan-losses-wgan",
    "gan-losses-wgan-gp",
    "gan-losses",
    "gan-seed",
)


def test_paper_profile_runs_on_tiny_data(tiny_mnist_dir, tmp_path):
    """The original recipes (Keras defaults, the seed DCGAN for the losses, the papers' Wasserstein recipes), with the
    quick profile's tiny work on top so that it runs in seconds (a Dask worker thread sees the patched profile)."""
    recipe_only = ("model.prior_components", "train.decoder_epochs", "train.decoder_images", "model.categories")
    tiny = dataclasses.replace(PAPER, data=QUICK_PROFILE.data, n=100, kid_subset=50)
    declared = stages.study_stages

    def paper_on_tiny_work(stage: Stage) -> Stage:
        if "paper" not in stage.recipes:
            return stage
        paper, quick = stage.recipes["paper"], stage.recipes["quick"]
        work = {key: v for key, v in quick.values.items() if key not in recipe_only}
        recipes = dict(stage.recipes) | {"paper": dataclasses.replace(paper, values={**paper.values, **work})}
        return dataclasses.replace(stage, recipes=recipes)

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(profiles.PROFILES, "paper", tiny)
        mp.setattr(stages, "study_stages", lambda dataset=None: [paper_on_tiny_work(s) for s in declared(dataset)])
        state = run_study(
            tmp_path / "paper",
            Request("paper", "mnist", (0,), 1),
            data_dir=str(tiny_mnist_dir),
            device="cpu",
            cluster=Cluster(workers=1, processes=False),
            only=PAPER_STAGES,
        )
    assert {r.stage: r.status for r in state.units.values()} == dict.fromkeys(PAPER_STAGES, "done")
    run = tmp_path / "paper" / "seed-0"
    wgan = json.loads((run / "gan-losses-wgan" / "metadata.json").read_text())["hyper"]
    assert (wgan["optimizer"], wgan["lr_d"], wgan["n_critic"], wgan["clip"]) == ("rmsprop", 5e-5, 5, 0.01)  # Arjovsky
    seed = json.loads((run / "gan-seed" / "config.json").read_text())["config"]
    assert seed["model"]["init"] == "keras" and seed["train"]["adam_eps"] == 1e-7 and seed["train"]["logit_clip"] > 16
    vae = json.loads((run / "vae-seed" / "config.json").read_text())["config"]
    assert vae["train"]["lr"] == 1e-3 and vae["model"]["init"] == "keras" and vae["model"]["prior_components"] == 0
    assert vae["train"]["decoder_epochs"] == 0  # the original trained encoder and decoder together only
