"""The CPU-kernel setting reaches torch: chosen before torch loads, in a fresh process, torch reports the kernels asked
for; asked for once torch is loaded with others, it is a one-line error."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mnistgen import kernels
from mnistgen.errors import MnistgenError
from mnistgen.runtime import cpu_description

HELD = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", kernels.ENV)


def capability_after_hold(setting: str) -> str:
    """Hold ``setting`` in a fresh Python without the variables set, then import torch: what torch computes with."""
    env = {k: v for k, v in os.environ.items() if k not in HELD}
    code = (
        f"from mnistgen import kernels; held = kernels.hold({setting!r}); import torch; "
        "print(held, torch.backends.cpu.get_cpu_capability())"
    )
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(not kernels.cpu_has_avx2(), reason="AVX2 kernels can only be held on an x86-64 CPU with AVX2")
def test_avx2_reaches_torch_on_any_avx2_cpu():
    assert capability_after_hold("avx2").split() == ["avx2", "AVX2"]


@pytest.mark.skipif("avx512f" not in cpu_description()[1], reason="needs a CPU with AVX-512 to tell the settings apart")
def test_native_lets_torch_use_avx512_where_the_cpu_has_it():
    held, capability = capability_after_hold("native").split()
    assert held == "native" and capability.startswith("AVX512")


def test_other_kernels_once_torch_is_loaded_are_refused(monkeypatch):
    import torch  # noqa: F401 - loaded, as in any test process

    monkeypatch.setattr(kernels, "cpu_has_avx2", lambda: True)
    for name in HELD[:3]:
        monkeypatch.setenv(name, "something else")
    with pytest.raises(MnistgenError, match="must be chosen before torch is imported"):
        kernels.hold("avx2")
    with pytest.raises(MnistgenError, match="unknown kernels 'avx9'"):
        kernels.check("avx9")
