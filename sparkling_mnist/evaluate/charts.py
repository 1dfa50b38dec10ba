"""Charts written as PNG files (matplotlib, Agg backend). Pure: data in, file out."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sparkling_mnist.rundir import committed


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
    with committed(path) as tmp:
        figure.savefig(tmp)
    plt.close(figure)
    return path


def confusion_matrix_chart(matrix: np.ndarray, title: str, path: Path) -> Path:
    """A (true x predicted) count matrix as a heat map with the counts written in."""
    figure, axes = plt.subplots(figsize=(6, 5.2), dpi=100)
    shown = axes.imshow(matrix, cmap="Blues")
    classes = matrix.shape[0]
    axes.set_xticks(range(classes))
    axes.set_yticks(range(classes))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        color = "white" if count > threshold else "black"
        axes.text(column, row, str(count), ha="center", va="center", fontsize=7, color=color)
    figure.colorbar(shown, ax=axes, fraction=0.046)
    figure.tight_layout()
    with committed(path) as tmp:
        figure.savefig(tmp)
    plt.close(figure)
    return path
