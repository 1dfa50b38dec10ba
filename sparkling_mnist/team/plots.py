"""The team's figures as PNG files (matplotlib, Agg): ROC and precision-recall curves
with their chance lines, a gallery of digits, the correctness table as bars. Pure:
numpy in, file out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from sparkling_mnist.evaluate.binary import average_precision, precision_recall_curve, roc_auc, roc_curve
from sparkling_mnist.evaluate.charts import save_figure

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


def plot_gallery(
    images: np.ndarray,
    labels: np.ndarray,
    guesses: np.ndarray,
    path: Path,
    *,
    title: str,
    columns: int = 10,
    max_images: int = 100,
) -> Path:
    """A grid of 28x28 digits, each titled `label->guess`; an empty set says so."""
    shown = min(len(images), max_images)
    rows = max(1, -(-shown // columns))
    figure, axes_grid = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.05 + 0.5), dpi=100, squeeze=False)
    for index, axes in enumerate(axes_grid.flat):
        axes.axis("off")
        if index < shown:
            axes.imshow(images[index], cmap="gray_r", vmin=0, vmax=255)
            axes.set_title(f"{int(labels[index])}\u2192{int(guesses[index])}", fontsize=8)
    if shown == 0:
        axes_grid.flat[0].text(0, 0.5, "none", fontsize=14)
    figure.suptitle(title if shown == len(images) else f"{title} (first {shown})", fontsize=9)
    return save_figure(figure, path)


def plot_correctness_table(table: Mapping[int, int], path: Path) -> Path:
    """Bars: how many samples exactly k members get right, for each k."""
    figure, axes = plt.subplots(figsize=(6, 3.6), dpi=100)
    keys = [str(k) for k in table]
    bars = axes.bar(keys, list(table.values()), color="#4c72b0")
    axes.bar_label(bars, fontsize=8)
    axes.set(xlabel="members right", ylabel="samples", title="how many members get each sample right")
    axes.set_yscale("symlog")
    return save_figure(figure, path)
