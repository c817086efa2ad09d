"""Drawing images from a velocity network: the guided field, the ODE from noise, and loading a run's network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from mnistgen import rundir
from mnistgen.checkpoint import load_checkpoint, load_module_state
from mnistgen.errors import MnistgenError
from mnistgen.family import Sampler
from mnistgen.flow.config import KIND, FlowRunConfig, FlowSampleConfig
from mnistgen.flow.model import VelocityNet
from mnistgen.flow.solve import Field, Solver, integrate
from mnistgen.images import pm1_to_unit
from mnistgen.runs import load_run_config
from mnistgen.runtime import memory_format, placed

CHUNK = 256  # images integrated together: a 2-core CPU draws fastest at 128-256 (bench/RESULTS.md)


@dataclass(frozen=True)
class Draw:
    """What to draw: the solver and its evaluations, a label (None: unconditional, or for a class-conditional run a
    uniformly drawn label per image) and the guidance weight."""

    solver: Solver
    label: int | None = None
    guidance: float = 1.0

    @classmethod
    def of(
        cls,
        cfg: FlowRunConfig,
        solver: str | None = None,
        nfe: int | None = None,
        label: int | None = None,
        guidance: float | None = None,
    ) -> Draw:
        """The run's sampling config with the given changes, checked against the model (one-line errors)."""
        s: FlowSampleConfig = cfg.sample
        classes = cfg.model.classes
        if label is not None and (not classes or cfg.model.code != "labels"):
            what = "conditioned on k-means clusters, not on labels" if classes else "not class-conditional"
            raise MnistgenError(f"this flow run is {what}: it takes no --label (train one with --conditional on)")
        if label is not None and not 0 <= label < classes:
            raise MnistgenError(f"--label must lie in 0..{classes - 1}, got {label}")
        if guidance is not None and (guidance < 0 or not classes):
            raise MnistgenError("--guidance needs a class-conditional run and a weight >= 0")
        how = Solver(s.solver if solver is None else solver, s.nfe if nfe is None else nfe)
        return cls(how, label, s.guidance if guidance is None else guidance)


def field_of(net: VelocityNet, labels: torch.Tensor | None, guidance: float) -> Field:
    """v(x, t) of ``net``: unconditional, conditional on ``labels``, or guided: v_u + w (v_c - v_u) in one batch."""
    null = net.cfg.classes

    def field(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        tb = t.to(x.device).expand(len(x))
        if labels is None or guidance == 1.0:
            return net(x, tb, labels)
        both = net(torch.cat([x, x]), torch.cat([tb, tb]), torch.cat([labels, torch.full_like(labels, null)]))
        cond, uncond = both.chunk(2)  # (B, C, 28, 28) each
        return uncond + guidance * (cond - uncond)

    return field


@torch.no_grad()
def generate(
    net: VelocityNet, n: int, gen: torch.Generator, draw: Draw, keep: tuple[float, ...] = ()
) -> tuple[torch.Tensor, ...]:
    """``n`` images in [0, 1] (CPU) from noise drawn with ``gen``, and the states at the ``keep`` times before them."""
    return _generate(net, n, gen, draw, keep)[0]


@torch.no_grad()
def draw_counted(
    net: VelocityNet, n: int, seed: int, solver: Solver, guidance: float = 1.0, batch: int = 1000
) -> tuple[torch.Tensor, int]:
    """``n`` images drawn with ``solver`` and ``guidance`` (codes drawn as when sampling), and the evaluations of the
    field a batch took (the mean over the batches, for the adaptive solver)."""
    gen, out, calls = torch.Generator().manual_seed(seed), [], []
    for i in range(0, n, batch):
        states, nfe = _generate(net, min(batch, n - i), gen, Draw(solver, None, guidance))
        out.append(states[0])
        calls.append(nfe)
    return torch.cat(out), round(sum(calls) / len(calls))


def _generate(
    net: VelocityNet, n: int, gen: torch.Generator, draw: Draw, keep: tuple[float, ...] = ()
) -> tuple[tuple[torch.Tensor, ...], int]:
    device = next(net.parameters()).device
    first_conv = next(p for p in net.parameters() if p.dim() == 4)
    fmt = (
        torch.channels_last if first_conv.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    )
    x0 = torch.randn(n, net.cfg.image_channels, 28, 28, generator=gen)  # (n, C, 28, 28) noise at t = 0
    labels = None
    if net.cfg.classes and draw.label is not None:
        labels = torch.full((n,), draw.label, device=device)
    elif net.cfg.classes:  # labels balanced; clusters as often as in the training images
        labels = torch.multinomial(net.code_freq.cpu(), n, replacement=True, generator=gen).to(device)
    was, parts, calls = net.training, [], []
    net.eval()
    for i in range(0, n, CHUNK):  # each ODE is solved on its own: the chunks change the speed, not the result
        y = labels[i : i + CHUNK] if labels is not None else None
        states, nfe = integrate(
            field_of(net, y, draw.guidance), x0[i : i + CHUNK].to(device, memory_format=fmt), draw.solver, keep
        )
        parts.append([pm1_to_unit(st.clamp(-1.0, 1.0)).float().cpu() for st in states])
        calls.append(nfe)
    net.train(was)
    return tuple(torch.cat(col) for col in zip(*parts)), round(sum(calls) / len(calls))


def sampler_of(net: VelocityNet, draw: Draw) -> Sampler:
    """The images of ``draw`` (the run's sampling config, or what ``mnistgen sample`` asks for)."""
    return lambda n, gen: generate(net, n, gen, draw)[0]


def load_config(run_dir: str | Path) -> tuple[FlowRunConfig, str]:
    """The resolved config and preset name saved in a flow run directory."""
    return load_run_config(run_dir, KIND, FlowRunConfig)


def load_net(run_dir: str | Path, device: torch.device | str = "cpu") -> tuple[VelocityNet, FlowRunConfig]:
    """The trained velocity network (the EMA copy if the run kept one), in eval mode and the memory format it
    trained in."""
    cfg, _ = load_config(run_dir)
    saved = load_checkpoint(Path(run_dir) / rundir.LAST, KIND, map_location=device)
    net = VelocityNet(cfg.model)
    load_module_state(net, saved["extra"].get("ema") or saved["models"]["velocity_net"], "velocity network")
    return placed(net, device, memory_format(cfg.train)).eval(), cfg
