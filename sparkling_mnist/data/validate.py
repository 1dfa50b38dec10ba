"""Row-level validation: labels 0-9, pixels integral 0-255, no NaN. Pure numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sparkling_mnist.data.records import RejectedRow, SourceBatch
from sparkling_mnist.schema import NUM_CLASSES


@dataclass(frozen=True)
class ValidRows:
    """The accepted rows of one batch, converted to the schema's types."""

    part: str
    row_index: np.ndarray  # (N,) positions in the batch, for ids and splits
    labels: np.ndarray  # (N,) int32
    pixels: np.ndarray  # (N, 784) uint8


def label_problems(labels: np.ndarray) -> np.ndarray:
    """Return a boolean mask of labels that are NaN, non-integral or outside 0-9."""
    values = np.asarray(labels, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values < 0) | (values > NUM_CLASSES - 1) | (values != np.round(values))
    return np.asarray(bad)


def pixel_problems(pixels: np.ndarray) -> np.ndarray:
    """Return a boolean mask of rows with a pixel that is NaN, non-integral or outside 0-255."""
    if pixels.dtype == np.uint8:
        return np.zeros(len(pixels), dtype=bool)
    values = np.asarray(pixels, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values < 0) | (values > 255) | (values != np.round(values))
    return np.asarray(bad.any(axis=1))


def describe_label(value: float) -> str:
    """The reason text for a bad label."""
    if np.isnan(value):
        return "label is missing or not a number (expected an integer 0-9)"
    return f"label {value:g} is not an integer 0-9"


def describe_pixels(row: np.ndarray) -> str:
    """The reason text for the first bad pixel of a row (0-based pixel column)."""
    values = np.asarray(row, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values < 0) | (values > 255) | (values != np.round(values))
    col = int(np.flatnonzero(bad)[0])
    value = values[col]
    count = int(bad.sum())
    more = f" ({count} bad pixels in the row)" if count > 1 else ""
    if np.isnan(value):
        return f"pixel {col} is missing or not a number (expected an integer 0-255){more}"
    return f"pixel {col} value {value:g} is not an integer 0-255{more}"


def _raw_text(batch: SourceBatch, index: int) -> str | None:
    """The original text of a text-format row; None for binary formats (pixels are kept)."""
    if batch.text_of_row is not None:
        return batch.text_of_row(int(batch.row_numbers[index]))
    if batch.pixels.dtype == np.uint8:
        return None
    values = np.append(batch.pixels[index].astype(np.float64), batch.labels[index])
    return ",".join(f"{v:g}" for v in values)


def validate_batch(batch: SourceBatch) -> tuple[ValidRows, list[RejectedRow]]:
    """Split a batch into accepted rows and rejected rows with reasons.

    Rejects produced here are the value-level ones; the reader's own rejects (e.g.
    wrong row width) are returned first, so `len(accepted) + len(rejected)` always
    equals `batch.rows_read`.
    """
    bad_label = label_problems(batch.labels)
    bad_pixels = pixel_problems(batch.pixels)
    bad = bad_label | bad_pixels
    rejects = list(batch.rejects)
    for i in np.flatnonzero(bad):
        label = float(batch.labels[i])
        row_pixels = batch.pixels[i]
        reason = describe_label(label) if bad_label[i] else describe_pixels(row_pixels)
        representable = not bad_pixels[i]
        rejects.append(
            RejectedRow(
                source_file=batch.source_file,
                row=int(batch.row_numbers[i]),
                reason=reason,
                label=None if np.isnan(label) else label,
                pixels=row_pixels.astype(np.uint8).tobytes() if representable else None,
                raw=_raw_text(batch, int(i)),
            )
        )
    keep = np.flatnonzero(~bad)
    accepted = ValidRows(
        part=batch.part,
        row_index=keep,
        labels=batch.labels[keep].astype(np.int32),
        pixels=batch.pixels[keep].astype(np.uint8, copy=False),
    )
    return accepted, rejects
