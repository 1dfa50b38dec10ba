"""Charts written as PNG files (matplotlib, Agg backend). Pure: data in, file out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sparkling_mnist.evaluate.binary import average_precision, precision_recall_curve, roc_auc, roc_curve
from sparkling_mnist.rundir import committed


def save_figure(figure: Figure, path: Path) -> Path:
    """Lay out, write (whole or not at all: `committed`) and close a figure; returns `path`."""
    figure.tight_layout()
    with committed(path) as tmp:
        figure.savefig(tmp)
    plt.close(figure)
    return path


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
    return save_figure(figure, path)


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
    return save_figure(figure, path)


def classifier_history_chart(history: pd.DataFrame, title: str, path: Path) -> Path:
    """A classifier's training and validation error and logloss per epoch (or tree), from
    `training_insight.history_table`: where it stopped and whether it still improved."""
    figure, panels = plt.subplots(1, 2, figsize=(9, 3.6), dpi=100)
    for axes, metric, label in zip(panels, ("classification_error", "logloss"), ("error", "logloss"), strict=True):
        for part, marker in (("training", "o"), ("validation", "s")):
            column = f"{part}_{metric}"
            if column in history and history[column].notna().any():
                axes.plot(history["step"], history[column], marker=marker, markersize=3, label=part)
        axes.set_xlabel(str(history.attrs.get("x", "step")).replace("_", " "))
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend()
    figure.suptitle(title)
    return save_figure(figure, path)


def importance_map_chart(grid: np.ndarray, title: str, path: Path) -> Path:
    """Pixel importances (scaled to the largest, 28 x 28) as a heat map: where the
    model looks. The colours span the used pixels' range (Gedeon's importances of a
    network are often all within 0.7..1); pixels the model dropped are grey."""
    figure, axes = plt.subplots(figsize=(4.2, 3.8), dpi=100)
    used = grid[grid > 0]
    low = float(used.min()) if used.size else 0.0
    cmap = plt.get_cmap("inferno").copy()
    cmap.set_bad("#d0d0d0")
    shown = axes.imshow(np.ma.masked_equal(grid, 0.0), cmap=cmap, vmin=low, vmax=max(float(grid.max()), low + 1e-12))
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(title, fontsize=9)
    figure.colorbar(shown, ax=axes, fraction=0.046, label="scaled importance")
    return save_figure(figure, path)


Curve = tuple[np.ndarray, np.ndarray]  # (scores, positives)


def plot_roc_pr(curves: Mapping[str, Curve], path: Path, *, title: str) -> Path:
    """ROC (chance: the diagonal, AUC 0.5) and precision-recall (chance: the positive
    rate) side by side, one line per labelled (scores, positives) pair."""
    figure, (roc_axes, pr_axes) = plt.subplots(1, 2, figsize=(11, 4.8), dpi=100)
    rates = []
    for label, (scores, positives) in curves.items():
        fpr, tpr, _ = roc_curve(scores, positives)
        roc_axes.plot(fpr, tpr, lw=1.2, label=f"{label} (AUC {roc_auc(scores, positives):.3f})")
        precision, recall, _ = precision_recall_curve(scores, positives)
        pr_axes.step(
            recall, precision, where="post", lw=1.2, label=f"{label} (AP {average_precision(scores, positives):.3f})"
        )
        rates.append(float(np.mean(positives)))
    roc_axes.plot([0, 1], [0, 1], "k--", lw=0.8, label="chance (0.5)")
    for rate in sorted(set(np.round(rates, 4))):
        pr_axes.axhline(rate, color="k", ls="--", lw=0.8, label=f"chance (positive rate {rate:.3f})")
    roc_axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC", xlim=(0, 1), ylim=(0, 1.01))
    pr_axes.set(xlabel="recall", ylabel="precision", title="precision-recall", xlim=(0, 1), ylim=(0, 1.01))
    for axes in (roc_axes, pr_axes):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=6.5, loc="lower right" if axes is roc_axes else "lower left")
    figure.suptitle(title)
    return save_figure(figure, path)
