"""Integrating the learned ODE dx/dt = v(x, t) from noise (t = 0) to images (t = 1).

Fixed-step solvers take ``nfe`` function evaluations (evaluations of the field) in all: Euler one per step,
midpoint two, RK4 four (so ``nfe`` must be a multiple of that). They run on torchdiffeq's fixed grid. The adaptive
``dopri5`` is the reference (relative and absolute tolerance 10⁻⁴); it counts the evaluations it takes. With
classifier-free guidance an evaluation is v_uncond + w (v_cond - v_uncond): both passes in one batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torchdiffeq import odeint

from mnistgen.errors import MnistgenError

SOLVERS = {"euler": 1, "midpoint": 2, "rk4": 4, "dopri5": 0}  # evaluations per step (0: adaptive)
Field = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # v(x, t) with t a scalar tensor


@dataclass(frozen=True)
class Solver:
    name: str = "midpoint"
    nfe: int = 8  # fixed-step solvers: evaluations of the field in all
    rtol: float = 1e-4  # dopri5 only
    atol: float = 1e-4

    def __post_init__(self) -> None:
        if self.name not in SOLVERS:
            raise MnistgenError(f"unknown solver {self.name!r}; choose one of: {', '.join(SOLVERS)}")
        per = SOLVERS[self.name]
        if per and (self.nfe < per or self.nfe % per):
            raise MnistgenError(
                f"the {self.name} solver takes {per} evaluation(s) a step: --nfe must be a positive "
                f"multiple of {per}, got {self.nfe}"
            )

    @property
    def steps(self) -> int:
        return self.nfe // SOLVERS[self.name] if SOLVERS[self.name] else 0

    def words(self) -> str:
        return f"{self.name}, NFE {self.nfe}" if self.steps else f"{self.name} (adaptive, tolerance {self.rtol:g})"


def solver_for(name: str, nfe: int) -> Solver:
    """``name`` at ``nfe`` evaluations where it can take that many, else Euler (one evaluation a step), which can."""
    per = SOLVERS.get(name, 1)
    return Solver(name if per and nfe >= per and nfe % per == 0 else "euler", nfe)


class Counted:
    """A field that counts its evaluations."""

    def __init__(self, field: Field) -> None:
        self.field, self.calls = field, 0

    def __call__(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.field(x, t)


@torch.no_grad()
def integrate(
    field: Field, x0: torch.Tensor, solver: Solver, keep: tuple[float, ...] = ()
) -> tuple[tuple[torch.Tensor, ...], int]:
    """(the states at the times ``keep`` and then at t = 1, the evaluations of the field it took) of the ODE started
    at ``x0`` at t = 0. States at ``keep`` times between grid points are interpolated linearly."""
    counted = Counted(field)
    if solver.steps:
        grid = torch.linspace(0.0, 1.0, solver.steps + 1)
        times = torch.unique(torch.cat([grid, torch.tensor(keep, dtype=grid.dtype)])).sort().values
        out = odeint(counted, x0, times, method=solver.name, options={"grid_constructor": lambda *a: grid})
    else:
        times = torch.tensor(sorted({0.0, *keep, 1.0}))
        out = odeint(counted, x0, times, method="dopri5", rtol=solver.rtol, atol=solver.atol)
    pick = [int((times - k).abs().argmin()) for k in (*keep, 1.0)]
    return tuple(out[i] for i in pick), counted.calls
