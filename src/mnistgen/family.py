"""What a model family provides: the :class:`Family` protocol, its CLI options, and drawing samples.

A *family* (``vae``, ``gan``, the evaluator ``classifier``) is one sub-package holding its configs and
presets, modules, loss, training loop, sampler and figures. The package exposes one object that
satisfies :class:`Family`; ``mnistgen.families`` registers them, and the CLI, ``sample``, ``plot``,
``evaluate`` and the study find families only there. A run directory records its family's ``name``
as ``kind`` in ``config.json`` (see :mod:`mnistgen.rundir`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

import torch

from mnistgen.errors import MnistgenError

# n images in [0, 1], float (n, 1, 28, 28) on the CPU, all noise drawn from the given CPU generator
Sampler = Callable[[int, torch.Generator], torch.Tensor]

# Runtime fields that say how and where a run computes, not what it computes: a resume may change them.
RUNTIME_KEYS = ("runtime.device", "runtime.threads", "runtime.tensorboard")


@dataclass(frozen=True)
class Option:
    """A command-line flag of a family: ``--loss`` (a ``configure`` keyword) or ``--epochs`` (a config key)."""

    flag: str  # e.g. "--epochs"
    key: str  # configure() keyword ("loss") or dotted config key ("train.epochs")
    help: str
    type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None


@runtime_checkable
class Family(Protocol):
    """The interface every model family provides (a module-level object in its package)."""

    name: str  # recorded as "kind" in config.json and in checkpoints
    title: str  # e.g. "variational autoencoder"
    generates: bool  # does load_sampler() draw images?
    presets: Mapping[str, Any]  # preset name -> frozen run config (.data, .runtime, .model, .train)
    default_preset: str
    options: Sequence[Option]  # configure() keywords offered as flags (e.g. the GAN's --loss)
    budgets: Sequence[Option]  # budget keys (epochs / steps / minutes): the only config a resume may change

    def configure(self, preset: str, **options: Any) -> Any:
        """The run config of ``preset`` with the family's ``options`` applied."""

    def load_config(self, run_dir: Path) -> tuple[Any, str]:
        """(run config, preset name) saved in a run directory of this family."""

    def train(self, cfg: Any, out: str | Path | None = None, *, resume: str | Path | None = None,
              overwrite: bool = False, data_dir: str | Path | None = None, download_missing: bool = True,
              preset_name: str = "custom", **extra: Any) -> dict[str, Any]:
        """Train a new run into ``out`` or continue ``resume`` exactly; returns a JSON-ready summary."""

    def load_sampler(self, run_dir: Path, device: torch.device) -> Sampler:
        """A function drawing images from the trained run (only when ``generates``)."""

    def make_figures(self, run_dir: Path) -> list[Path]:
        """(Re)draw every figure of a run into ``RUN_DIR/figures/``; returns the files written."""


def budget_keys(family: Family) -> tuple[str, ...]:
    return tuple(o.key for o in family.budgets)


@torch.no_grad()
def draw(sampler: Sampler, n: int, seed: int = 0, batch: int = 1000) -> torch.Tensor:
    """``n`` images (n, 1, 28, 28) in [0, 1] from ``sampler``, in batches, reproducible for a ``seed``."""
    if n <= 0:
        raise MnistgenError(f"number of samples must be positive, got {n}")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    images = torch.cat([sampler(min(batch, n - i), gen) for i in range(0, n, batch)])
    if not torch.isfinite(images).all():
        raise MnistgenError("the model produced NaN images")
    return images
