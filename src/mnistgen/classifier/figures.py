"""Evaluator-classifier figures: loss and accuracy per epoch."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from mnistgen import rundir
from mnistgen.plotting import save_figure


def plot_accuracy(history: dict, path: Path) -> Path:
    """Training loss (left) and train / validation accuracy (right) per epoch, the test accuracy as a line."""
    epochs = [e["epoch"] for e in history["epochs"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.plot(epochs, [e["train_loss"] for e in history["epochs"]], "o-", label="train")
    ax1.set(title="cross-entropy per epoch", xlabel="epoch", ylabel="loss")
    ax2.plot(epochs, [100 * e["train_acc"] for e in history["epochs"]], "o-", label="train (augmented)")
    ax2.plot(epochs, [100 * e["val_acc"] for e in history["epochs"]], "s--", label="validation")
    if history.get("test_accuracy") is not None:
        ax2.axhline(
            100 * history["test_accuracy"], color="gray", ls=":", label=f"test {100 * history['test_accuracy']:.2f} %"
        )
    ax2.set(title="accuracy per epoch", xlabel="epoch", ylabel="accuracy [%]")
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Evaluator classifier training")
    fig.tight_layout()
    return save_figure(fig, path)


def make_figures(run_dir: str | Path) -> list[Path]:
    """(Re)draw the classifier's figures from history.json."""
    run_dir = Path(run_dir)
    history = rundir.read_json(run_dir / rundir.HISTORY) if (run_dir / rundir.HISTORY).exists() else {}
    if not history.get("epochs"):
        return []
    return [plot_accuracy(history, run_dir / rundir.FIGURES / "accuracy.png")]
