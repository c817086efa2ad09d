"""How big the study is: ``full`` (the default) or ``quick`` (an end-to-end smoke run for the tests)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Profile:
    """How big the study is: full (default) or --quick (an end-to-end smoke run for the tests)."""

    name: str
    n: int  # samples scored per model
    kid_subset: int
    data_overrides: tuple[str, ...] = ()  # applied to every trained model's config
    stage_overrides: dict[str, tuple[str, ...]] = field(default_factory=dict)
    evaluator_preset: str = "default"
    sweep_widths: tuple[int, ...] = (1, 8, 64)


FULL = Profile("full", n=10000, kid_subset=1000)
QUICK = Profile(
    "quick",
    n=300,
    kid_subset=100,
    data_overrides=("data.limit=1200", "data.val_size=200"),
    stage_overrides={
        "vae": ("train.epochs=2", "train.batch_size=128"),
        "gan": ("train.steps=12", "train.batch_size=32", "train.probe_every=6", "train.probe_n=200",
                "train.probe_seconds=0", "train.probe_dense_seconds=0", "train.grid_every=0", "train.checkpoint_every=6"),
    },
    evaluator_preset="tiny",
    sweep_widths=(1, 32),
)
