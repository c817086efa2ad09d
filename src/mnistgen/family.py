"""What a model family provides: the :class:`Family` protocol, its command-line options, and drawing samples.

A *family* (``vae``, ``gan``, ``flow``, the evaluator ``classifier``, or a plug-in's) is one package holding its
configs and presets, modules, loss, training loop, sampler, figures and study stages. The package exposes one object
that satisfies :class:`Family`; :mod:`mnistgen.families` registers them, and the CLI, ``sample``, ``plot``,
``evaluate`` and the study find families only there. A run directory records its family's ``name`` as ``kind`` in
``config.json`` (see :mod:`mnistgen.rundir`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import torch

from mnistgen.errors import MnistgenError

# n images in [0, 1], float (n, C, 28, 28) on the CPU, all noise drawn from the given CPU generator
Sampler = Callable[[int, torch.Generator], torch.Tensor]
C = TypeVar("C")  # a family's run config (a frozen dataclass with .data, .runtime, .model, .train)


@dataclass(frozen=True)
class Option:
    """A command-line flag of a family: ``--loss`` (a ``configure`` keyword), ``--epochs`` (a config key) or
    ``--nfe`` (an ``open`` keyword: how its runs draw)."""

    flag: str  # e.g. "--epochs"
    key: str  # configure() / open() keyword ("loss", "nfe") or dotted config key ("train.epochs")
    help: str
    type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Work:
    """What a training run did, in its family's own words: the report and the stage table print ``detail`` and
    ``summary`` without knowing the family; ``counts`` are the numbers behind them (recorded in metrics.json)."""

    summary: str  # short, e.g. "31 epochs, 155,000 images" or "1,000 steps, 32,000 images"
    detail: str  # e.g. "31 of ≤ 60 epochs (best 27), 155,000 images" or "1,000 generator steps, 32,000 images (D: ...)"
    images: int  # images the model was trained on (generated images for a GAN)
    cut_short: bool = False  # an optional wall-clock cap ended it before its fixed work
    counts: Mapping[str, int] = field(default_factory=dict)  # e.g. {"epochs": 31, "best_epoch": 27, ...}


class TrainedRun(Generic[C]):
    """A trained (or interrupted) run: its directory, config, preset, summary and work, its network and a sampler of
    it. The network is the one still in memory after :meth:`Family.train`, or, for a run opened from disk, the
    checkpoint's, read on first use and only once however many images are drawn."""

    def __init__(
        self,
        kind: str,
        run_dir: str | Path,
        config: C,
        preset: str,
        summary: Mapping[str, Any],
        work: Work,
        network: Callable[[], torch.nn.Module] | None = None,
        sampler_of: Callable[[Any], Sampler] | None = None,
    ) -> None:
        self.kind, self.run_dir, self.config, self.preset = kind, Path(run_dir), config, preset
        self.summary, self.work = summary, work
        self._network, self._sampler_of = network, sampler_of
        self._built: torch.nn.Module | None = None
        self._sampler: Sampler | None = None

    def __repr__(self) -> str:
        return f"TrainedRun({self.kind}, {self.run_dir}, preset {self.preset!r}, {self.work.summary})"

    def network(self) -> torch.nn.Module:
        """The trained network that draws the images (a GAN's generator, a VAE), in eval mode."""
        if self._network is None:
            raise MnistgenError(f"{self.run_dir} holds a {self.kind} run, which does not generate images")
        if self._built is None:
            self._built = self._network()
        return self._built

    def sampler(self) -> Sampler:
        if self._sampler is None:
            if self._sampler_of is None:
                raise MnistgenError(f"{self.run_dir} holds a {self.kind} run, which does not generate images")
            self._sampler = self._sampler_of(self.network())
        return self._sampler

    def sample(self, n: int, seed: int = 0, batch: int = 1000) -> torch.Tensor:
        """``n`` images (n, C, 28, 28) in [0, 1], reproducible for a ``seed``."""
        try:
            return draw(self.sampler(), n, seed, batch)
        except MnistgenError as exc:
            raise MnistgenError(f"{self.run_dir}: {exc}") from None


@runtime_checkable
class Family(Protocol[C]):
    """The interface every model family provides (a module-level object in its package). Its members are read, never
    set, so a family may declare them as class attributes, properties or functions of its own signature."""

    @property
    def name(self) -> str: ...  # recorded as "kind" in config.json and in checkpoints

    @property
    def title(self) -> str: ...  # e.g. "variational autoencoder"

    @property
    def generates(self) -> bool: ...  # do its runs draw images?

    @property
    def presets(self) -> Mapping[str, C]: ...  # preset name -> frozen run config (.data, .runtime, .model, .train)

    @property
    def default_preset(self) -> str: ...

    @property
    def options(self) -> Sequence[Option]: ...  # configure() keywords offered as `train` flags (the GAN's --loss)

    @property
    def budgets(self) -> Sequence[Option]: ...  # budget keys (epochs / steps / minutes): what a resume may change

    @property
    def sampling(self) -> Sequence[Option]: ...  # open() keywords offered as `sample` flags (a flow run's --nfe)

    @property
    def stages(self) -> Sequence[object]: ...  # its study stages (mnistgen.stagekit.Stage), which the study collects

    @property
    def substudies(self) -> Sequence[object]: ...  # its stages run alone (mnistgen.stagekit.SubStudy), as commands

    @property
    def configure(self) -> Callable[..., C]:
        """``configure(preset, **options)``: the run config of ``preset`` with the family's ``options`` applied."""
        ...

    @property
    def train(self) -> Callable[..., TrainedRun[C]]:
        """``train(cfg, out, *, resume, overwrite, data_dir, download_missing, preset_name)``: train a new run into
        ``out`` or continue ``resume`` exactly; returns the trained run."""
        ...

    @property
    def open(self) -> Callable[..., TrainedRun[C]]:
        """``open(run_dir, device, **sampling)``: a run of this family from disk (its sampler, on ``device``, loads
        the checkpoint on first use), drawing with the given ``sampling`` options -- only those the family declares
        reach it (the registry refuses others)."""
        ...

    def load_config(self, run_dir: Path) -> tuple[C, str]:
        """(run config, preset name) saved in a run directory of this family."""
        ...

    def make_figures(self, run_dir: Path) -> list[Path]:
        """(Re)draw every figure of a run into ``RUN_DIR/figures/``; returns the files written."""
        ...


def budget_keys(family: Family[Any]) -> tuple[str, ...]:
    return tuple(o.key for o in family.budgets)


@torch.no_grad()
def draw(sampler: Sampler, n: int, seed: int = 0, batch: int = 1000) -> torch.Tensor:
    """``n`` images (n, C, 28, 28) in [0, 1] from ``sampler``, in batches, reproducible for a ``seed``."""
    if n <= 0:
        raise MnistgenError(f"number of samples must be positive, got {n}")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    images = torch.cat([sampler(min(batch, n - i), gen) for i in range(0, n, batch)])
    if not torch.isfinite(images).all():
        raise MnistgenError("the model produced NaN images")
    return images
