"""The package's dropout: nn.Dropout's function, with CPU masks that do not depend on the CPU's vendor."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from mnistgen.errors import MnistgenError
from mnistgen.layers import Dropout


def _intel() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.is_file() and "GenuineIntel" in cpuinfo.read_text()


def test_masks_are_fixed_by_the_seed_alone():
    # uniform doubles from the global Mersenne Twister, kept below 1 - p: the same on every CPU
    torch.manual_seed(0)
    out = Dropout(0.5)(torch.ones(12))
    assert out.tolist() == [0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 2.0, 2.0, 0.0, 2.0, 2.0, 2.0]


def test_inverted_dropout_keeps_the_expected_share_and_scales_survivors():
    torch.manual_seed(1)
    x = torch.full((200_000,), 3.0)
    out = Dropout(0.4)(x)
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.6) < 0.005
    assert torch.allclose(out[kept], torch.full_like(out[kept], 3.0 / 0.6))


def test_gradient_flows_through_the_kept_units_only():
    torch.manual_seed(2)
    x = torch.randn(4, 8, 5, 5, requires_grad=True)
    out = Dropout(0.3)(x)
    out.sum().backward()
    expected = (out != 0).float() / 0.7
    assert torch.allclose(x.grad, expected)


def test_eval_mode_and_zero_rate_are_the_identity():
    x = torch.randn(3, 7)
    assert Dropout(0.4).eval()(x) is x
    assert Dropout(0.0)(x) is x


def test_memory_layout_is_kept():
    x = torch.randn(2, 6, 4, 4).contiguous(memory_format=torch.channels_last)
    assert Dropout(0.4)(x).is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_rate_outside_zero_one_is_refused(p):
    with pytest.raises(MnistgenError, match="dropout probability"):
        Dropout(p)


@pytest.mark.skipif(_intel(), reason="on Intel CPUs PyTorch's own dropout draws from MKL's generator instead")
def test_same_masks_outputs_and_generator_state_as_pytorch_off_intel():
    x = torch.randn(8, 16, 7, 7).contiguous(memory_format=torch.channels_last)
    torch.manual_seed(5)
    ours, after_ours = Dropout(0.4)(x), torch.rand(3)
    torch.manual_seed(5)
    theirs, after_theirs = nn.Dropout(0.4)(x), torch.rand(3)
    assert torch.equal(ours, theirs) and torch.equal(after_ours, after_theirs)
