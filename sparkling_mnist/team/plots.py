"""The team's figures as PNG files (matplotlib, Agg): a gallery of digits, the
correctness table as bars (its ROC and precision-recall curves: `evaluate.charts`).
Pure: numpy in, file out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from sparkling_mnist.evaluate.charts import save_figure


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
