"""Early stopping on the validation loss, and the learning rate as a pure function of the step (resume-safe)."""

from __future__ import annotations

import math
from typing import Any

from mnistgen.vae.config import VAETrainConfig


class EarlyStopping:
    """Stop after ``patience`` epochs without the monitored value beating the best by > ``min_delta``."""

    def __init__(self, patience: int = 4, min_delta: float = 0.0) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.bad_epochs = math.inf, 0, 0

    def update(self, value: float, epoch: int) -> bool:
        """Record one epoch's value; True if it is the new best."""
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.bad_epochs = (
            float(state["best"]),
            int(state["best_epoch"]),
            int(state["bad_epochs"]),
        )


def lr_at(step: int, total: int, cfg: VAETrainConfig) -> float:
    """Learning rate of optimiser step ``step`` out of ``total`` (a pure function: resume-safe)."""
    t = min(step / max(total, 1), 1.0)
    if cfg.schedule == "constant":
        return cfg.lr
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * t))
    if t < 0.1:  # onecycle: lr/25 -> lr linearly, then cosine down to ~0
        return cfg.lr * (0.04 + 0.96 * t / 0.1)
    return cfg.lr * (0.001 + 0.999 * 0.5 * (1 + math.cos(math.pi * (t - 0.1) / 0.9)))
