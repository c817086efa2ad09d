"""The flow-matching family: a small U-Net velocity field trained by conditional flow matching on straight paths
from noise to images (rectified flow), sampled by integrating its ODE; optionally class-conditional with
classifier-free guidance.

Modules: ``config`` (dataclass configs, presets), ``model`` (the U-Net; shape comments), ``loss`` (the path, the
times, optimal-transport pairing), ``solve`` (ODE solvers and the evaluation count), ``state`` and ``training`` (the
loop), ``sampler`` (the guided field, drawing, loading a run), ``run`` (a run as a TrainedRun), ``figures``,
``study`` and ``sweep`` (its stage of the study: quality against the number of evaluations).
"""

from __future__ import annotations

from mnistgen.family import Option
from mnistgen.flow.config import BUDGET_KEYS, KIND, PRESETS, FlowRunConfig, FlowSampleConfig, FlowTrainConfig, configure
from mnistgen.flow.figures import make_figures
from mnistgen.flow.loss import flow_matching_loss, ot_pairing, path_point, sample_times
from mnistgen.flow.model import FlowModelConfig, VelocityNet, count_params
from mnistgen.flow.run import flow_work, open_trained, trained_run
from mnistgen.flow.sampler import Draw, draw_counted, field_of, generate, load_config, load_net, sampler_of
from mnistgen.flow.solve import SOLVERS, Solver, integrate, solver_for
from mnistgen.flow.study import STAGES
from mnistgen.flow.training import train


class FlowFamily:
    """Flow matching as the registry sees it (see :class:`mnistgen.family.Family`)."""

    name = KIND
    title = "flow-matching model"
    generates = True
    presets = PRESETS
    default_preset = "fast"
    options = (
        Option(
            "--conditional",
            "conditional",
            "on: conditional on the dataset's labels (label embedding and dropout; sample with --label and "
            "--guidance); off (the default): the preset's own code",
            choices=("on", "off"),
        ),
    )
    sampling = (
        Option("--solver", "solver", "the ODE solver (default: the run's own)", choices=tuple(SOLVERS)),
        Option("--nfe", "nfe", "evaluations of the field, for the fixed-step solvers (default: the run's own)", int),
        Option("--label", "label", "class-conditional runs: the class to draw (0-9)", int),
        Option("--guidance", "guidance", "class-conditional runs: classifier-free guidance weight (1 = none)", float),
    )
    stages = STAGES
    substudies = ()
    budgets = (
        Option("--steps", BUDGET_KEYS[0], "total optimiser steps (default: the preset's)", int),
        Option("--minutes", BUDGET_KEYS[1], "optional wall-clock cap of this call in minutes (0 = none)", float),
    )
    configure = staticmethod(configure)
    train = staticmethod(train)
    load_config = staticmethod(load_config)
    open = staticmethod(open_trained)
    make_figures = staticmethod(make_figures)


FAMILY = FlowFamily()

__all__ = [
    "FAMILY",
    "KIND",
    "PRESETS",
    "SOLVERS",
    "Draw",
    "FlowModelConfig",
    "FlowRunConfig",
    "FlowSampleConfig",
    "FlowTrainConfig",
    "Solver",
    "VelocityNet",
    "configure",
    "count_params",
    "draw_counted",
    "field_of",
    "flow_matching_loss",
    "flow_work",
    "generate",
    "integrate",
    "load_config",
    "load_net",
    "make_figures",
    "open_trained",
    "ot_pairing",
    "path_point",
    "sample_times",
    "sampler_of",
    "solver_for",
    "train",
    "trained_run",
]
