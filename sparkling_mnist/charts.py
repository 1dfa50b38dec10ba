"""Charts written as PNG files (matplotlib, Agg backend). Pure: data in, file out."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd


def score_history_chart(history: pd.DataFrame, title: str, path: Path) -> Path:
    """Training (and validation) MSE against epochs, so a user sees whether training converged."""
    figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
    axes.plot(history["epochs"], history["training_mse"], marker="o", label="training")
    if history["validation_mse"].notna().any():
        axes.plot(history["epochs"], history["validation_mse"], marker="s", label="validation")
    axes.set_xlabel("epochs")
    axes.set_ylabel("reconstruction MSE")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
