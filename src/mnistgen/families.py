"""The registry of model families: the one place that knows which families exist.

The CLI (``train``, ``sample``, ``plot``, ``evaluate``) and the study find a family here, by name or by
the ``kind`` a run directory records. A new family is a package exposing an object that satisfies
:class:`mnistgen.family.Family`, registered below (or, e.g. in a test or a plug-in, with :func:`register`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mnistgen import classifier, flow, gan, rundir, vae
from mnistgen.errors import MnistgenError
from mnistgen.family import Family, TrainedRun

_REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add ``family`` (replacing one of the same name); returns it."""
    if not isinstance(family, Family):
        raise TypeError(f"{family!r} does not provide the mnistgen.family.Family interface")
    _REGISTRY[family.name] = family
    return family


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names(generating: bool | None = None) -> list[str]:
    """Registered family names (only those that generate images, or only those that don't, if asked)."""
    return [n for n, f in _REGISTRY.items() if generating is None or f.generates == generating]


def get(name: str) -> Family:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise MnistgenError(f"unknown model family {name!r}; known: {', '.join(_REGISTRY)}") from None


def of_run(run_dir: str | Path) -> Family:
    """The family of the run in ``run_dir`` (the ``kind`` in its config.json)."""
    kind = rundir.run_kind(run_dir)
    if kind not in _REGISTRY:
        raise MnistgenError(
            f"{run_dir} holds a {kind} run; no such model family is installed (known: {', '.join(_REGISTRY)})"
        )
    return _REGISTRY[kind]


def generator_of_run(run_dir: str | Path) -> Family:
    """The family of ``run_dir``, which must generate images."""
    family = of_run(run_dir)
    if not family.generates:
        raise MnistgenError(
            f"{run_dir} holds a {family.name} run, which does not generate images "
            f"(need one of: {', '.join(names(generating=True))})"
        )
    return family


def open_trained(run_dir: str | Path, device: str = "cpu", **sampling: Any) -> TrainedRun:
    """The trained run in ``run_dir``, of whichever family made it; it must generate images. ``sampling``: the
    family's sampling options (a flow run's solver, nfe, label, guidance; None = the run's own)."""
    given = {k: v for k, v in sampling.items() if v is not None}  # a family without such options takes none
    return generator_of_run(run_dir).open(Path(run_dir), device, **given)


for _family in (vae.FAMILY, gan.FAMILY, flow.FAMILY, classifier.FAMILY):
    register(_family)
