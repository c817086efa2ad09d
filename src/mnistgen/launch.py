"""The ``mnistgen`` command's entry point: it chooses PyTorch's CPU kernels (``--kernels``, ``$MNISTGEN_KERNELS``,
else :func:`mnistgen.kernels.default`) before anything imports torch, then runs the command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from mnistgen import kernels
    from mnistgen.errors import MnistgenError

    args = sys.argv[1:] if argv is None else list(argv)
    try:
        kernels.hold(kernels.check(kernels.requested(args, kernels.default())))
    except MnistgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from mnistgen.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
