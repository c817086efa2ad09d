"""How much the study trains: ``full`` (the default), ``quick`` (an end-to-end smoke run for the tests) and
``paper`` (the original study's recipes, for a GPU or a night on a CPU).

A profile fixes what the whole study scores (samples per model) and the config values set on every trained model;
what each stage trains on it is the stage's own recipe (declared with the stage, in its family's folder), so the same
profile and seed give the same study on any machine.
"""

from __future__ import annotations

from mnistgen.stagekit import Profile

FULL = Profile(
    "full",
    "the default: every phenomenon of the study, fixed work sized for minutes on a 2-core CPU",
    n=10000,
    kid_subset=1000,
)
QUICK = Profile(
    "quick",
    "a seconds-long smoke run of every stage on tiny data (for the tests): not results",
    n=100,
    kid_subset=50,
    data={"data.limit": 600},
)
PAPER = Profile(
    "paper",
    "the original study's recipes (100 GAN epochs at batch 256: hours on a CPU, minutes on a GPU)",
    n=10000,
    kid_subset=1000,
)
PROFILES = {p.name: p for p in (FULL, QUICK, PAPER)}
