"""A family installed from outside mnistgen, through the ``mnistgen.families`` entry point group, with a study stage
of its own: it appears in ``train``, ``sample``, ``evaluate`` and the quick study's report and metrics.json without
any file of mnistgen changing; a broken plug-in is one warning line."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mnistgen import families
from mnistgen.cli import main
from mnistgen.study import Cluster, Request, run_study

PLUGIN = '''
"""An outside family: 'trains' by writing its config; its samples are seeded Gaussian blobs."""
from pathlib import Path

import torch

from mnistgen import rundir
from mnistgen.family import Option, TrainedRun, Work
from mnistgen.stagekit import EVALUATOR, ModelResult, Recipe, Section, Stage, StageResult, Text


class Painter(torch.nn.Module):
    def __init__(self, radius):
        super().__init__()
        self.radius = radius

    def forward(self, n, gen):
        yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
        centre = torch.rand(n, 2, generator=gen) * 16 + 6  # (n, 2)
        d2 = (yy - centre[:, :1, None]) ** 2 + (xx - centre[:, 1:, None]) ** 2  # (n, 28, 28)
        return torch.exp(-d2 / (2 * self.radius**2)).unsqueeze(1)  # (n, 1, 28, 28)


def train(cfg, out=None, *, resume=None, overwrite=False, preset_name="custom", **extra):
    run_dir = rundir.prepare_run_dir(out, overwrite=overwrite)
    rundir.write_json(run_dir / rundir.CONFIG, {"kind": "blobs", "preset": preset_name, "config": cfg})
    return FAMILY.open(run_dir)


def blob_stage(ctx, deps):
    run = ctx.train(train, dict(ctx.recipe.values), "blobs", ctx.recipe.preset)
    scores = ctx.score(run)
    model = ModelResult("blobs", "Blobs (plug-in)", None, scores, ctx.rel(run.run_dir), ctx.recipe.preset, run.work)
    return StageResult((Text(f"The blob painter drew {scores.n} blobs."),), model)


SECTION = Section("blobs", "Blob painting (a plug-in family)", 40)


class Blobs:
    name, title, generates = "blobs", "blob painter", True
    presets, default_preset, options = {"small": {"radius": 3.0}}, "small", ()
    budgets = (Option("--steps", "steps", "ignored", int),)
    sampling = (Option("--radius", "radius", "the blobs' radius in pixels", float),)
    stages = (
        Stage(
            "blobs",
            "a plug-in family's stage",
            SECTION,
            blob_stage,
            kind="blobs",
            needs=(EVALUATOR,),
            recipes={"full": Recipe("small", {"radius": 3.0}), "quick": Recipe("small", {"radius": 2.0})},
        ),
    )
    substudies = ()

    def configure(self, preset, **options):
        return self.presets[preset]

    def load_config(self, run_dir):
        payload = rundir.read_json(Path(run_dir) / rundir.CONFIG)
        return payload["config"], payload["preset"]

    def train(self, cfg, out=None, **kwargs):
        return train(cfg, out, **kwargs)

    def open(self, run_dir, device="cpu", radius=None):
        cfg, preset = self.load_config(run_dir)
        work = Work("nothing trained", "nothing trained", 0)
        painter = lambda: Painter(radius or cfg["radius"])
        return TrainedRun("blobs", run_dir, cfg, preset, {}, work, painter, lambda p: p)

    def make_figures(self, run_dir):
        return []


FAMILY = Blobs()
'''


def _install(root: Path, name: str, value: str, code: str | None) -> None:
    """A package ``name`` (if ``code``) and its dist-info declaring ``value`` in the mnistgen.families group."""
    if code is not None:
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(textwrap.dedent(code))
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[mnistgen.families]\n{name} = {value}\n")


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    root = tmp_path / "site"
    _install(root, "blobfamily", "blobfamily:FAMILY", PLUGIN)
    monkeypatch.syspath_prepend(str(root))
    assert families.load_plugins() == ["blobs"]
    yield
    families.unregister("blobs")
    sys.modules.pop("blobfamily", None)


def test_a_plugin_family_trains_samples_and_is_scored_through_the_commands(plugin, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "blobs", "--out", str(run)]) == 0
    assert main(["sample", str(run), "-n", "7", "--out", str(tmp_path / "s.npz"), "--radius", "5"]) == 0
    wide = np.load(tmp_path / "s.npz")["images"]
    assert main(["sample", str(run), "-n", "7", "--out", str(tmp_path / "t.npz")]) == 0
    narrow = np.load(tmp_path / "t.npz")["images"]
    assert wide.shape == (7, 28, 28) and (wide > 128).sum() > (narrow > 128).sum()  # its own sampling option
    capsys.readouterr()
    assert main(["evaluate", str(run), "--n", "1000"]) == 0
    assert "IS" in capsys.readouterr().out
    assert main(["sample", str(run), "--out", str(tmp_path / "x.npz"), "--nfe", "4"]) == 2
    err = capsys.readouterr().err
    assert err == "error: a blobs run does not take --nfe (it takes --radius)\n"


def test_a_plugin_familys_stage_runs_in_the_quick_study(plugin, tmp_path, tiny_mnist_dir):
    out = tmp_path / "study"
    state = run_study(
        out,
        Request("quick", "mnist", (0,), 1),
        data_dir=str(tiny_mnist_dir),
        device="cpu",
        cluster=Cluster(workers=1, processes=False),
        only=("blobs",),
    )
    assert state.get("blobs", 0).status == "done"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["models"]["blobs"]["label"] == "Blobs (plug-in)" and metrics["models"]["blobs"]["kind"] == "blobs"
    md = (out / "report.md").read_text()
    assert "## Blob painting (a plug-in family)" in md and "The blob painter drew 100 blobs." in md


def test_a_broken_plugin_is_one_warning_line_and_the_cli_still_runs(tmp_path, monkeypatch, capsys):
    root = tmp_path / "site"
    _install(root, "brokenfamily", "brokenfamily:FAMILY", "raise ImportError('needs a library that is missing')\n")
    _install(root, "ghostfamily", "ghostfamily_absent:FAMILY", None)
    monkeypatch.syspath_prepend(str(root))
    assert families.load_plugins() == []
    err = sorted(capsys.readouterr().err.splitlines())
    assert len(err) == 2 and all(line.startswith("warning: mnistgen plug-in family") for line in err)
    assert "'brokenfamily'" in err[0] and "ImportError: needs a library that is missing" in err[0]
    assert "'ghostfamily'" in err[1] and "ModuleNotFoundError" in err[1]
    assert main(["evaluator", "show"]) == 0  # the command line still runs
    assert {"vae", "gan", "flow", "classifier"} <= set(families.names())
