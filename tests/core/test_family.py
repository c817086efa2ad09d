"""The Family interface and registry: a family registered from outside the package trains, samples and plots
through the ordinary commands; every built-in family provides the interface."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mnistgen import families, rundir
from mnistgen.cli import main
from mnistgen.errors import MnistgenError
from mnistgen.family import Family, Option, TrainedRun, Work
from mnistgen.plotting import save_grid


class BlobPainter(torch.nn.Module):
    """The 'network' of the dummy family: seeded Gaussian blobs of a given radius."""

    def __init__(self, radius: float) -> None:
        super().__init__()
        self.radius = radius
        yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
        self.register_buffer("yy", yy)
        self.register_buffer("xx", xx)

    def forward(self, n: int, gen: torch.Generator) -> torch.Tensor:
        centre = torch.rand(n, 2, generator=gen) * 16 + 6  # (n, 2)
        d2 = (self.yy - centre[:, :1, None]) ** 2 + (self.xx - centre[:, 1:, None]) ** 2  # (n, 28, 28)
        return torch.exp(-d2 / (2 * self.radius**2)).unsqueeze(1)  # (n, 1, 28, 28)


class Blobs:
    """A dummy family: 'trains' by writing its config; samples are seeded Gaussian blobs."""

    name, title, generates = "blobs", "blob painter", True
    presets, default_preset, options = {"small": {"radius": 3.0}}, "small", ()
    budgets = (Option("--steps", "steps", "ignored", int),)
    sampling, stages, substudies = (), (), ()

    def configure(self, preset, **options):
        return self.presets[preset]

    def load_config(self, run_dir):
        payload = rundir.read_json(Path(run_dir) / rundir.CONFIG)
        return payload["config"], payload["preset"]

    def train(self, cfg, out=None, *, resume=None, overwrite=False, preset_name="custom", **extra):
        run_dir = rundir.prepare_run_dir(out, overwrite=overwrite)
        rundir.write_json(run_dir / rundir.CONFIG, {"kind": self.name, "preset": preset_name, "config": cfg})
        return self.open(run_dir)

    def open(self, run_dir, device="cpu"):
        cfg, preset = self.load_config(run_dir)
        work = Work("nothing trained", "nothing trained", 0)
        return TrainedRun(
            self.name, run_dir, cfg, preset, {}, work, lambda: BlobPainter(cfg["radius"]), lambda painter: painter
        )

    def make_figures(self, run_dir):
        images = self.open(run_dir).sample(16, seed=0)
        return [save_grid(images, Path(run_dir) / rundir.FIGURES / "blobs.png", "blobs", nrow=4)]


@pytest.fixture
def blobs():
    family = families.register(Blobs())
    yield family
    families.unregister(family.name)


def test_a_family_registered_from_outside_trains_samples_and_plots(blobs, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "blobs", "--out", str(run)]) == 0
    assert main(["sample", str(run), "-n", "7", "--out", str(tmp_path / "s.npz"), "--seed", "3"]) == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (7, 28, 28) and images.dtype == np.uint8 and images.max() > 200
    assert main(["plot", str(run)]) == 0
    assert (run / "figures" / "blobs.png").stat().st_size > 500
    assert "blobs.png" in capsys.readouterr().out


def test_every_builtin_family_provides_the_interface():
    for name in families.names():
        family = families.get(name)
        assert isinstance(family, Family) and family.name == name
        assert family.default_preset in family.presets
        for preset in family.presets:
            assert family.configure(preset) == family.presets[preset]  # a preset with no options is itself
    assert set(families.names(generating=True)) == {"vae", "gan", "flow"}


def test_unknown_kinds_and_non_generators_are_one_line_errors(tmp_path, capsys):
    rundir.write_json(tmp_path / "config.json", {"kind": "diffusion", "config": {}})
    with pytest.raises(MnistgenError, match="holds a diffusion run; no such model family is installed"):
        families.of_run(tmp_path)
    with pytest.raises(MnistgenError, match="unknown model family 'diffusion'"):
        families.get("diffusion")
    rundir.write_json(tmp_path / "config.json", {"kind": "classifier", "config": {}})
    assert main(["sample", str(tmp_path), "--out", str(tmp_path / "x.npz")]) == 2
    assert "does not generate images (need one of: vae, gan, flow)" in capsys.readouterr().err
