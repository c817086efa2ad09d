"""The study's and the families' sub-studies as commands of their own (``mnistgen modes``, ``mnistgen compare-losses``,
``mnistgen sweep gan-capacity``): some stages of the study, with the stages they need, run with the study's options and
their own report. The commands are built from what the study and the registered families declare."""

from __future__ import annotations

import argparse

from mnistgen import families
from mnistgen.cli.study_args import add_study_args, run
from mnistgen.errors import MnistgenError
from mnistgen.stagekit import SubStudy
from mnistgen.study import OWN_SUBSTUDIES


def register(commands, train_targets) -> None:
    groups: dict[str, argparse._SubParsersAction] = {}
    for sub in (*OWN_SUBSTUDIES, *families.substudies().values()):
        where = commands
        if sub.group is not None:
            if sub.group not in groups:
                parent = commands.add_parser(sub.group, help=f"{sub.group}s of the study ({sub.name}, ...)")
                groups[sub.group] = parent.add_subparsers(
                    dest=sub.group, metavar=sub.group.upper(), parser_class=type(parent)
                )
                parent.set_defaults(func=lambda args, p=parent, g=sub.group: _missing(p, g))
            where = groups[sub.group]
        p = where.add_parser(sub.name, help=sub.help)
        add_study_args(p)
        p.set_defaults(func=lambda args, s=sub: _run(args, s))


def _run(args: argparse.Namespace, sub: SubStudy) -> int:
    if sub.dataset is not None and args.dataset not in (None, sub.dataset):
        raise MnistgenError(f"`mnistgen {sub.name}` runs on {sub.dataset}, not {args.dataset}")
    if sub.dataset is not None:
        args.dataset = sub.dataset
    return run(args, sub.stages or None)


def _missing(parser: argparse.ArgumentParser, group: str) -> int:
    raise MnistgenError(f"name a {group} (see `{parser.prog} --help`)")
