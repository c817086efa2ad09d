"""Which CPU kernels PyTorch computes with: its own best for this CPU (``native``) or held to the AVX2 paths
(``avx2``) on any x86-64 CPU that has them, so that a machine with AVX-512 computes as a plain AVX2 one does.

PyTorch reads its kernel choice once, when it loads: ATen's vectorised kernels (``ATEN_CPU_CAPABILITY``), oneDNN's
convolutions and matrix products (``ONEDNN_MAX_CPU_ISA``) and MKL's, the BLAS behind PyTorch's dense layers
(``MKL_ENABLE_INSTRUCTIONS``, and ``MKL_CBWR``: MKL's conditional numerical reproducibility mode, which pins the code
path MKL takes to its AVX2 one whatever the processor's vendor and model -- without it MKL may pick other AVX2 code on
another CPU). All four are set on every x86-64 CPU with AVX2, so every such CPU computes alike (docs/reproducibility.md
says what was measured). This module sets them before torch is imported -- the ``mnistgen`` command does so from
``--kernels`` or ``$MNISTGEN_KERNELS``, a Dask worker from ``mnistgen.workerpreload`` -- and never imports torch itself.
"""

from __future__ import annotations

import os
import platform
import sys

from mnistgen.errors import MnistgenError

KERNELS = ("avx2", "native")
ENV = "MNISTGEN_KERNELS"
_AVX2 = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "MKL_CBWR": "AVX2",
}


def check(kernels: str) -> str:
    if kernels not in KERNELS:
        raise MnistgenError(f"unknown kernels {kernels!r}; choose one of: {', '.join(KERNELS)}")
    return kernels


def cpu_has_avx2() -> bool:
    """Is this an x86-64 CPU with AVX2 and FMA (the reference class's kernels)?"""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((line.split(":", 1)[1].split() for line in fh if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx2" in flags and "fma" in flags


def environment_for(kernels: str) -> dict[str, str]:
    """The variables that hold PyTorch to ``kernels`` (none for native, or on a CPU without AVX2)."""
    return dict(_AVX2) if check(kernels) == "avx2" and cpu_has_avx2() else {}


def hold(kernels: str) -> str:
    """Set the variables for ``kernels`` before torch loads; returns the setting in force ('native' where AVX2 cannot
    be held). Refuses once torch is loaded with other kernels."""
    env = environment_for(kernels)
    if "torch" in sys.modules and any(os.environ.get(k) != v for k, v in env.items()):
        raise MnistgenError(
            f"kernels {kernels!r} must be chosen before torch is imported (set {ENV}={kernels} "
            "in the environment, or call mnistgen.kernels.hold() first)"
        )
    os.environ.update(env)
    os.environ[ENV] = kernels if env or kernels == "native" else "native"
    return os.environ[ENV]


def in_force() -> str:
    """The setting this process was started with (by the ``mnistgen`` command or :func:`hold`), else the default."""
    return os.environ.get(ENV) or default()


def default() -> str:
    """avx2 on an x86-64 CPU that has it (the reference CPU's kernels), else native."""
    return "avx2" if cpu_has_avx2() else "native"


def requested(argv: list[str], default: str) -> str:
    """``--kernels K`` (or ``--kernels=K``) from the command line, else $MNISTGEN_KERNELS, else ``default``."""
    for i, arg in enumerate(argv):
        if arg == "--kernels" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--kernels="):
            return arg.split("=", 1)[1]
    return os.environ.get(ENV) or default
