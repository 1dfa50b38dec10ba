"""Pictures of the augmentation: a grid of originals beside each effect, and the pixel
histograms before and after the sharpen step.

Pure: numpy arrays in, matplotlib figures out (the Agg canvas, never pyplot, so no
global state and no display), plus :func:`save_png`. The Spark job gathers the arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import UInt8Batch, to_uint8, validate_batch
from sparkling_mnist.augment.geometry import draw_rotate_angle, rotate_sample_into
from sparkling_mnist.augment.params import RotateParams
from sparkling_mnist.augment.seeding import row_streams
from sparkling_mnist.augment.sharpen import SharpenMode, draw_sharpen_mode, sharpen_batch
from sparkling_mnist.rundir import committed
from sparkling_mnist.schema import SIDE

_CELL_INCHES = 0.9
_GAP_PIXELS = 3
_GAP_GREY = 96  # between images: visibly not ink (255) nor background (0)


@dataclass(frozen=True)
class SharpenStages:
    """Rotated rows before and after sharpening (only rows the rotation moved).

    Attributes:
        originals: ``(M, 28, 28)`` the source images.
        interpolated: ``(M, 28, 28)`` rotated with bilinear interpolation, rounded, not sharpened.
        sharpened: ``(M, 28, 28)`` after the sharpen step: the `rotate` effect's output.
        modes: ``(M,)`` the :class:`SharpenMode` each row drew.
    """

    originals: UInt8Batch
    interpolated: UInt8Batch
    sharpened: UInt8Batch
    modes: NDArray[np.int8]


def rotation_sharpen_stages(
    images: UInt8Batch,
    source_ids: NDArray[np.int64],
    run_seed: int,
    params: RotateParams | None = None,
    copy_index: int = 0,
) -> SharpenStages:
    """Replay the `rotate` effect row by row and keep the image before sharpening too.

    Draws exactly what ``apply_effect("rotate", images, source_ids, copy_index, run_seed)``
    draws, so `sharpened` equals that output on the rows kept.

    Raises:
        ValueError: a malformed batch or ids (as :func:`apply_effect`).
    """
    params = params or RotateParams()
    images = validate_batch(images)
    rngs = row_streams(run_seed, source_ids, copy_index, "rotate")
    angles = np.empty(len(rngs), dtype=np.float64)
    modes = np.empty(len(rngs), dtype=np.int8)
    for i, rng in enumerate(rngs):  # the order rotate_batch draws in: angle, then mode
        angles[i] = draw_rotate_angle(rng, params)
        modes[i] = draw_sharpen_mode(rng, params.sharpen)
    moved = np.flatnonzero(np.abs(angles) >= params.min_degrees)
    sources = images[moved]
    values = np.empty(sources.shape, dtype=np.float64)
    for i, angle in enumerate(angles[moved].tolist()):  # the samples the rotate kernel sharpens
        rotate_sample_into(sources[i], angle, values[i])
    return SharpenStages(
        originals=sources,
        interpolated=to_uint8(values),
        sharpened=sharpen_batch(values, sources, modes[moved], params.sharpen),
        modes=modes[moved],
    )


def grid_mosaic(columns: Sequence[UInt8Batch], gap: int = _GAP_PIXELS) -> UInt8Batch:
    """Tile equally long image batches into one picture: batch `j` in column `j`, row `i` of
    each batch in row `i`, separated by `gap` grey pixels.

    Returns:
        A ``(rows * (28 + gap) - gap, columns * (28 + gap) - gap)`` ``uint8`` image.
    """
    n_rows, n_cols = columns[0].shape[0], len(columns)
    step = SIDE + gap
    mosaic = np.full((n_rows * step - gap, n_cols * step - gap), _GAP_GREY, dtype=np.uint8)
    for col, batch in enumerate(columns):
        for row in range(n_rows):
            mosaic[row * step : row * step + SIDE, col * step : col * step + SIDE] = batch[row]
    return mosaic


def effect_grid_figure(
    originals: UInt8Batch, labels: NDArray[np.integer], augmented: Mapping[str, UInt8Batch]
) -> Figure:
    """One row per sample: the original, then each effect's output for it.

    Drawn as one mosaic image (one axes, not one per cell: ten times faster to render).

    Args:
        originals: ``(K, 28, 28)`` source images, ``K >= 1``.
        labels: ``(K,)`` their labels, written left of each row.
        augmented: effect name -> ``(K, 28, 28)`` outputs in the same row order.

    Raises:
        ValueError: no originals, or an effect's batch does not have one image per original.
    """
    originals = validate_batch(originals)
    if originals.shape[0] == 0:
        raise ValueError("the effect grid needs at least one original image")
    for name, batch in augmented.items():
        if validate_batch(batch).shape[0] != originals.shape[0]:
            raise ValueError(f"effect {name!r} has {batch.shape[0]} images for {originals.shape[0]} originals")
    titles = ["original", *augmented]
    mosaic = grid_mosaic([originals, *augmented.values()])
    n_rows, n_cols = originals.shape[0], len(titles)
    fig = Figure(figsize=(_CELL_INCHES * n_cols + 0.6, _CELL_INCHES * n_rows + 0.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    centres = np.arange(max(n_rows, n_cols)) * (SIDE + _GAP_PIXELS) + (SIDE - 1) / 2
    ax.set_xticks(centres[:n_cols], titles, fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks(centres[:n_rows], [f"label {int(label)}" for label in labels[:n_rows]], fontsize=7)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return fig


def _ink_histogram(images: UInt8Batch) -> NDArray[np.float64]:
    """Share of ink pixels (grey level 1..255) at each level; background 0 is left out."""
    counts = np.bincount(images.ravel(), minlength=256)[1:].astype(np.float64)
    total = counts.sum()
    shares: NDArray[np.float64] = counts / total if total else counts
    return shares


def sharpen_histogram_figure(stages: SharpenStages) -> Figure:
    """Ink histograms: originals, rotated before sharpening, after; and after, by sharpen mode.

    Interpolation smears strokes into many mid-grey pixels; the sharpen step should bring
    the histogram back towards the originals' (dark background, bright strokes).
    """
    levels = np.arange(1, 256)
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    before_after, by_mode = fig.subplots(1, 2, sharey=True)
    for images, name in (
        (stages.originals, "originals"),
        (stages.interpolated, "rotated, before sharpening"),
        (stages.sharpened, "rotated, after sharpening"),
    ):
        before_after.step(levels, _ink_histogram(images), where="mid", label=f"{name} ({images.shape[0]})")
    before_after.set_title("ink pixels before and after sharpening", fontsize=10)
    by_mode.step(levels, _ink_histogram(stages.originals), where="mid", color="grey", label="originals")
    for mode in SharpenMode:
        chosen = stages.modes == mode
        if chosen.any():
            label = f"{mode.name.lower()} ({int(chosen.sum())})"
            by_mode.step(levels, _ink_histogram(stages.sharpened[chosen]), where="mid", label=label)
    by_mode.set_title("after sharpening, by sharpen mode", fontsize=10)
    for ax in (before_after, by_mode):
        ax.set_yscale("log")
        ax.set_xlabel("grey level (1-255; background 0 left out)")
        ax.legend(fontsize=7)
    before_after.set_ylabel("share of ink pixels")
    return fig


def save_png(fig: Figure, path: Path) -> Path:
    """Write a figure as PNG (parent folders made); return the path."""
    with committed(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path
