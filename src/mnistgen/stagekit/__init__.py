"""The kit a family declares its part of the study with: stages and their recipes, report sections, claims, the
typed results a unit returns, the context it is given, and the caption words every family shares. It sits below
the families and above the metrics, so a family (or a plug-in's) imports it and the study engine reads what they
declare.

A family lists its :class:`Stage` objects in its ``stages`` attribute; see DEVELOPING.md, "Adding a model family".
"""

from __future__ import annotations

from mnistgen.stagekit.context import Context, Profile, Setup
from mnistgen.stagekit.results import (
    Block,
    EvaluatorInfo,
    Figure,
    Heading,
    ModelResult,
    ModeScores,
    Phenomenon,
    Scores,
    StageResult,
    Table,
    Text,
    decode,
    encode,
    phenomena_of,
    result_type,
)
from mnistgen.stagekit.stage import EVALUATOR, REQUIRED_PROFILES, Claim, Recipe, Section, Stage, StageFn, SubStudy
from mnistgen.stagekit.words import coverage_words, histogram_words, pct, samples_caption

__all__ = [
    "EVALUATOR",
    "REQUIRED_PROFILES",
    "Block",
    "Claim",
    "Context",
    "EvaluatorInfo",
    "Figure",
    "Heading",
    "ModeScores",
    "ModelResult",
    "Phenomenon",
    "Profile",
    "Recipe",
    "Scores",
    "Section",
    "Setup",
    "Stage",
    "StageFn",
    "StageResult",
    "SubStudy",
    "Table",
    "Text",
    "coverage_words",
    "decode",
    "encode",
    "histogram_words",
    "pct",
    "phenomena_of",
    "result_type",
    "samples_caption",
]
