"""Parquet in the project's schema: id, label, pixels (784 bytes) and an optional split.

Other columns are ignored, and named in a warning (a column the user meant to be read,
such as a second label, must not vanish unseen).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sparkling_mnist.data.records import Part, RejectedRow, SourceBatch
from sparkling_mnist.errors import InputDataError
from sparkling_mnist.schema import PIXELS, SPLITS

log = logging.getLogger(__name__)

REQUIRED = {"id": "integer", "label": "integer", "pixels": "binary (784 bytes)"}
OPTIONAL = ("split",)


def _check_columns(table: pa.Table, names: list[str], path: str) -> None:
    expected = ", ".join(f"{name}: {kind}" for name, kind in REQUIRED.items())
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise InputDataError(f"{path}: missing column(s) {missing}; expected {expected} (and optionally split: string)")
    types = {name: table.schema.field(name).type for name in REQUIRED}
    wrong = [
        f"{name} is {types[name]}"
        for name, ok in (
            ("id", pa.types.is_integer(types["id"])),
            ("label", pa.types.is_integer(types["label"]) or pa.types.is_floating(types["label"])),
            ("pixels", pa.types.is_binary(types["pixels"]) or pa.types.is_large_binary(types["pixels"])),
        )
        if not ok
    ]
    if wrong:
        raise InputDataError(f"{path}: wrong column type(s): {'; '.join(wrong)}; expected {expected}")
    extra = [name for name in names if name not in REQUIRED and name not in OPTIONAL]
    if extra:
        log.warning("%s: ignoring %d column(s) not in the schema: %s", path, len(extra), ", ".join(extra))


def read_parquet_file(path: str, part: Part, limit: int | None = None) -> SourceBatch:
    """Read a Parquet file (or a directory of them, e.g. a previous run's output).

    Raises:
        InputDataError: missing or unreadable file, missing or mistyped columns, no rows.
    """
    if not Path(path).exists():
        raise InputDataError(f"{path}: file not found")
    try:
        table = pq.read_table(path)
        names = table.column_names  # decoded here: a corrupt footer can hold invalid UTF-8
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:  # a corrupt footer or page can raise any
        raise InputDataError(f"{path}: not a readable Parquet file: {exc}") from None
    _check_columns(table, names, path)
    if limit is not None:
        table = table.slice(0, limit)
    if table.num_rows == 0:
        raise InputDataError(f"{path}: the file holds no rows")

    n = table.num_rows
    row_numbers = np.arange(1, n + 1, dtype=np.int64)
    ids = table.column("id").to_numpy(zero_copy_only=False)
    labels = pc.cast(table.column("label"), pa.float64()).to_numpy(zero_copy_only=False)
    pixels_col = pc.cast(table.column("pixels"), pa.binary())
    lengths = pc.fill_null(pc.binary_length(pixels_col), -1).to_numpy(zero_copy_only=False)
    splits: np.ndarray | None = None
    if "split" in names:
        splits = pc.cast(table.column("split"), pa.string()).to_numpy(zero_copy_only=False)

    reasons: dict[int, str] = {}
    for row in np.flatnonzero(pc.is_null(table.column("id")).to_numpy(zero_copy_only=False)).tolist():
        reasons.setdefault(row, "id is null (expected a unique integer)")
    for row in np.flatnonzero(lengths != PIXELS).tolist():
        got = "null" if lengths[row] < 0 else f"{int(lengths[row])} bytes"
        reasons.setdefault(row, f"pixels is {got}, expected {PIXELS} bytes")
    if splits is not None:
        for row, value in enumerate(splits.tolist()):
            if value is not None and value not in SPLITS:
                reasons.setdefault(row, f"split {value!r} is not one of {', '.join(SPLITS)}")

    pixels_list = pixels_col.to_pylist()
    rejects = [
        RejectedRow(
            source_file=path,
            row=i + 1,
            reason=reason,
            label=None if np.isnan(labels[i]) else float(labels[i]),
            pixels=pixels_list[i],
        )
        for i, reason in sorted(reasons.items())
    ]
    keep = np.asarray([i for i in range(n) if i not in reasons], dtype=np.int64)
    pixels = (
        np.frombuffer(b"".join(pixels_list[i] for i in keep), dtype=np.uint8).reshape(len(keep), PIXELS)
        if len(keep)
        else np.empty((0, PIXELS), dtype=np.uint8)
    )
    return SourceBatch(
        part=part,
        source_file=path,
        row_numbers=row_numbers[keep],
        labels=labels[keep],
        pixels=pixels,
        ids=ids[keep].astype(np.int64),
        splits=splits[keep] if splits is not None else None,
        rejects=rejects,
    )
