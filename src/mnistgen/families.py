"""The registry of model families: the one place that knows which families exist.

The CLI (``train``, ``sample``, ``plot``, ``evaluate``) and the study find a family here, by name or by the ``kind`` a
run directory records, together with what it declares: its sampling options, its study stages, its sub-studies. The
built-in families are registered below; an installed package adds one through the ``mnistgen.families`` entry point
group (the entry point names an object satisfying :class:`mnistgen.family.Family`, or a module holding one as
``FAMILY``), and a test or a script with :func:`register`. A plug-in that fails to load is one warning line on
stderr, never a crash.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from mnistgen import classifier, flow, gan, rundir, vae
from mnistgen.errors import MnistgenError
from mnistgen.family import Family, Option, TrainedRun
from mnistgen.stagekit import Stage, SubStudy

ENTRY_POINTS = "mnistgen.families"
_REGISTRY: dict[str, Family[Any]] = {}


def register(family: Family[Any]) -> Family[Any]:
    """Add ``family`` (replacing one of the same name); returns it. Its declarations are checked here."""
    if not isinstance(family, Family):
        raise MnistgenError(f"{family!r} does not provide the mnistgen.family.Family interface")
    if family.default_preset not in family.presets:
        raise MnistgenError(f"family {family.name!r}: its default preset {family.default_preset!r} is not a preset")
    wrong = [s for s in family.stages if not isinstance(s, Stage)] + [
        s for s in family.substudies if not isinstance(s, SubStudy)
    ]
    if wrong:
        raise MnistgenError(f"family {family.name!r} declares {wrong[0]!r}, not a mnistgen.stagekit Stage or SubStudy")
    _REGISTRY[family.name] = family
    return family


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def load_plugins() -> list[str]:
    """Register every family the installed packages declare in the ``mnistgen.families`` entry point group; returns
    their names. One that fails to load or to register is a warning line on stderr and is left out."""
    loaded = []
    for entry in metadata.entry_points(group=ENTRY_POINTS):
        try:
            found = entry.load()
            family = found.FAMILY if isinstance(found, ModuleType) else found
            loaded.append(register(family).name)
        except Exception as exc:  # a broken plug-in must not stop the command line
            first = str(exc).splitlines()[0] if str(exc) else ""
            print(
                f"warning: mnistgen plug-in family {entry.name!r} ({entry.value}) not loaded: "
                f"{type(exc).__name__}: {first}",
                file=sys.stderr,
            )
    return loaded


def names(generating: bool | None = None) -> list[str]:
    """Registered family names (only those that generate images, or only those that don't, if asked)."""
    return [n for n, f in _REGISTRY.items() if generating is None or f.generates == generating]


def get(name: str) -> Family[Any]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise MnistgenError(f"unknown model family {name!r}; known: {', '.join(_REGISTRY)}") from None


def of_run(run_dir: str | Path) -> Family[Any]:
    """The family of the run in ``run_dir`` (the ``kind`` in its config.json)."""
    kind = rundir.run_kind(run_dir)
    if kind not in _REGISTRY:
        raise MnistgenError(
            f"{run_dir} holds a {kind} run; no such model family is installed (known: {', '.join(_REGISTRY)})"
        )
    return _REGISTRY[kind]


def generator_of_run(run_dir: str | Path) -> Family[Any]:
    """The family of ``run_dir``, which must generate images."""
    family = of_run(run_dir)
    if not family.generates:
        raise MnistgenError(
            f"{run_dir} holds a {family.name} run, which does not generate images "
            f"(need one of: {', '.join(names(generating=True))})"
        )
    return family


def sampling_options() -> dict[str, tuple[Option, list[str]]]:
    """Every sampling option some generating family declares, by flag: the option and the families that take it."""
    out: dict[str, tuple[Option, list[str]]] = {}
    for name in names(generating=True):
        for option in _REGISTRY[name].sampling:
            out.setdefault(option.flag, (option, []))[1].append(name)
    return out


def open_trained(run_dir: str | Path, device: str = "cpu", **sampling: Any) -> TrainedRun[Any]:
    """The trained run in ``run_dir``, of whichever family made it; it must generate images. ``sampling``: options of
    ``mnistgen sample`` (None = not given); one the run's family does not declare is a one-line error."""
    family = generator_of_run(run_dir)
    given = {k: v for k, v in sampling.items() if v is not None}
    declared = {o.key: o.flag for o in family.sampling}
    refused = [k for k in given if k not in declared]
    if refused:
        flags = ", ".join(_flag(k) for k in refused)
        takes = ", ".join(o.flag for o in family.sampling) or "no sampling options"
        raise MnistgenError(f"a {family.name} run does not take {flags} (it takes {takes})")
    return family.open(Path(run_dir), device, **given)


def _flag(key: str) -> str:
    return next((o.flag for o, _ in sampling_options().values() if o.key == key), f"--{key.replace('_', '-')}")


def stages() -> list[Stage]:
    """Every registered family's study stages, family by family in registration order."""
    return [s for f in _REGISTRY.values() for s in f.stages if isinstance(s, Stage)]


def substudies() -> Mapping[str, SubStudy]:
    """Every registered family's sub-studies, by command name."""
    return {s.name: s for f in _REGISTRY.values() for s in f.substudies if isinstance(s, SubStudy)}


register(vae.FAMILY)
register(gan.FAMILY)
register(flow.FAMILY)
register(classifier.FAMILY)
load_plugins()
