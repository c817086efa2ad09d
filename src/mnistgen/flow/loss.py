"""Conditional flow matching on the straight path from noise to data (rectified flow).

A training pair is noise x0 ~ N(0, I) and an image x1 (in [-1, 1]); at a time t the point on their straight path is
x_t = (1 - t) x0 + t x1 and its velocity is u = x1 - x0. The network learns v(x_t, t) ~ u by least squares; the field
that minimises it moves the noise distribution onto the data along the ODE dx/dt = v(x, t) from t = 0 to 1.

Options: the times drawn uniformly or from a logit-normal (more of them mid-way, where the field is hardest to
learn), and minibatch optimal-transport pairing (each noise sample paired with the image it is cheapest to move onto,
within the batch: straighter paths, fewer steps to sample).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from mnistgen.errors import MnistgenError

TIME_SAMPLERS = ("uniform", "logit-normal")


def check_time_sampler(name: str) -> str:
    if name not in TIME_SAMPLERS:
        raise MnistgenError(f"unknown train.time_sampler {name!r}; choose one of: {', '.join(TIME_SAMPLERS)}")
    return name


def sample_times(n: int, how: str, gen: torch.Generator | None, scale: float = 1.0) -> torch.Tensor:
    """``n`` times in [0, 1): uniform, or sigmoid of N(0, scale^2) (logit-normal)."""
    if check_time_sampler(how) == "uniform":
        return torch.rand(n, generator=gen)
    return torch.sigmoid(scale * torch.randn(n, generator=gen))


def ot_pairing(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """The permutation of ``x0`` (B, ...) that minimises the total squared distance to ``x1`` (an exact assignment on
    the batch's distance matrix); ``x0[perm]`` pairs with ``x1``."""
    cost = torch.cdist(x0.flatten(1).double(), x1.flatten(1).double()) ** 2  # (B, B)
    rows, cols = linear_sum_assignment(cost.numpy())
    perm = np.empty(len(cols), dtype=np.int64)
    perm[cols] = rows
    return torch.from_numpy(perm)


def path_point(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, u): the point at time t (B,) on each straight path from x0 to x1, and its velocity."""
    tt = t.view(-1, *([1] * (x1.dim() - 1)))
    return (1.0 - tt) * x0 + tt * x1, x1 - x0


def flow_matching_loss(v: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Mean squared error between predicted and target velocities, averaged over pixels and the batch."""
    return ((v.float() - u.float()) ** 2).mean()
