"""The ``mnistgen`` command line. Every failure is one ``error: ...`` line on stderr, exit != 0.

Each command module in ``COMMANDS`` has ``register(commands, train_targets)``: it adds its
sub-parsers (``train_targets`` is the sub-parser group of ``mnistgen train``, one per registered
model family) and sets ``func=handler`` on them; a handler takes the parsed args and returns an exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

import mnistgen
from mnistgen.cli import data_cmd, eval_cmd, run_cmd, sample_cmd, study_cmd, train_cmd, worker_cmd
from mnistgen.errors import MnistgenError

COMMANDS = [data_cmd, train_cmd, sample_cmd, eval_cmd, study_cmd, run_cmd, worker_cmd]


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one ``error:`` line (exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise MnistgenError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mnistgen", description="Train, sample, score and compare generative models of MNIST-family images."
    )
    parser.add_argument("--version", action="version", version=f"mnistgen {mnistgen.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    train = commands.add_parser("train", help="train a model (one sub-command per model family)")
    train_targets = train.add_subparsers(dest="target", metavar="MODEL", parser_class=_Parser)
    train.set_defaults(func=lambda args: _missing(train, "a model to train"))
    for module in COMMANDS:
        module.register(commands, train_targets)
    return parser


def _missing(parser: argparse.ArgumentParser, what: str) -> int:
    raise MnistgenError(f"name {what} (see `{parser.prog} --help`)")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except MnistgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; finished checkpoints are kept (resume with --resume RUN_DIR)", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("MNISTGEN_DEBUG"):
            traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"error: internal error: {type(exc).__name__}: {first} (set MNISTGEN_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
