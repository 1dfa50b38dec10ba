"""What a reader hands over: rows read from one file, and rows it rejected itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Part = Literal["train", "test"]


@dataclass(frozen=True)
class RejectedRow:
    """One rejected input row, kept with the reason (nothing is silently dropped).

    `row` is the 1-based row number in `source_file` (for CSV: the physical line).
    `pixels` holds the 784 bytes when they are representable, `raw` the original or
    reconstructed text of the row when it is not.
    """

    source_file: str
    row: int
    reason: str
    label: float | None = None
    pixels: bytes | None = None
    raw: str | None = None


@dataclass(frozen=True)
class SourceBatch:
    """Rows read from one source file (or one IDX image/label pair).

    Attributes:
        part: "train" or "test": which part of the source the rows belong to.
        source_file: the file the rows came from, for error messages and rejects.
        row_numbers: (N,) int64, 1-based row number of each row in the file.
        labels: (N,) float64; NaN where the label was missing or not a number.
        pixels: (N, 784) uint8 (binary formats) or float64 (text formats; NaN allowed).
        ids: (N,) int64 ids given by the source (Parquet), or None to assign them.
        splits: (N,) object array of given split names or None values (Parquet), or None.
        rejects: rows the reader could not parse at all (wrong width, bad bytes).
        text_of_row: the original text of a row by its row number (text formats).
    """

    part: Part
    source_file: str
    row_numbers: np.ndarray
    labels: np.ndarray
    pixels: np.ndarray
    ids: np.ndarray | None = None
    splits: np.ndarray | None = None
    rejects: list[RejectedRow] = field(default_factory=list)
    text_of_row: Callable[[int], str] | None = None

    @property
    def rows_read(self) -> int:
        """Every row the reader saw: parsed plus rejected by the reader."""
        return len(self.labels) + len(self.rejects)
