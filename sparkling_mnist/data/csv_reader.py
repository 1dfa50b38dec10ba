"""H2O-style CSV: 784 pixel columns then the label, with or without a header line.

Parsed with pyarrow's CSV reader (vectorized). Rows with the wrong number of columns
are rejected with their physical line number and original text; value problems are
left to `validate`. Pure pyarrow/numpy, no Spark.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from sparkling_mnist.data.files import read_source_bytes
from sparkling_mnist.data.records import Part, RejectedRow, SourceBatch
from sparkling_mnist.errors import InputDataError
from sparkling_mnist.schema import PIXELS

log = logging.getLogger(__name__)

COLUMNS = PIXELS + 1


class _Lines:
    """Physical lines of a text buffer, located once with numpy."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        buf = np.frombuffer(data, dtype=np.uint8)
        newlines = np.flatnonzero(buf == ord("\n"))
        self.starts = np.concatenate([[0], newlines + 1])
        self.ends = np.concatenate([newlines, [len(data)]])
        if self.starts[-1] == len(data):  # the file ends with a newline: no extra line
            self.starts, self.ends = self.starts[:-1], self.ends[:-1]
        carriage = (self.ends > self.starts) & (
            buf[np.maximum(self.ends - 1, 0)] == ord("\r") if len(buf) else np.zeros(0, bool)
        )
        self.ends = self.ends - carriage.astype(np.int64)

    def __len__(self) -> int:
        return len(self.starts)

    def text(self, number: int) -> str:
        """The text of 1-based line `number`, without its line ending."""
        return self.data[self.starts[number - 1] : self.ends[number - 1]].decode("utf-8", "replace")

    def nonempty_numbers(self, first: int) -> np.ndarray:
        """1-based numbers of the non-empty lines from line `first` on."""
        numbers = np.arange(1, len(self) + 1)
        keep = (self.ends > self.starts) & (numbers >= first)
        return numbers[keep]

    def cut_after(self, count: int, first: int) -> bytes:
        """The buffer up to and including the `count`-th non-empty line from line `first`."""
        numbers = self.nonempty_numbers(first)
        if count >= len(numbers):
            return self.data
        return self.data[: self.ends[numbers[count - 1] - 1]]


def _looks_numeric(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _has_header(lines: _Lines, header: str, path: str) -> bool:
    first = lines.text(1) if len(lines) else ""
    if header == "yes":
        has = True
    elif header == "no":
        has = False
    else:
        has = not _looks_numeric(first.split(",")[0].strip().strip('"'))
    if has:
        width = len(first.split(","))
        if width != COLUMNS:
            raise InputDataError(
                f"{path}: header line has {width} columns, expected {COLUMNS} (784 pixels then the label)"
            )
    return has


def _parse(data: bytes, convert: pacsv.ConvertOptions, invalid: list[pacsv.InvalidRow]) -> pa.Table:
    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    return pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(
            column_names=[f"c{i}" for i in range(COLUMNS)], use_threads=False, block_size=1 << 24
        ),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=convert,
    )


def _as_float_matrix(table: pa.Table) -> np.ndarray:
    """All columns as float64; non-numeric text becomes NaN (reported by validation)."""
    columns = []
    for column in table.columns:
        if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            columns.append(column.to_numpy(zero_copy_only=False).astype(np.float64))
        else:
            import pandas as pd

            series = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
            columns.append(pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64))
    if not columns:
        return np.empty((0, COLUMNS))
    return np.stack(columns, axis=1)


def read_csv_file(path: str, part: Part, header: str = "auto", limit: int | None = None) -> SourceBatch:
    """Read one CSV file of 785 columns (784 pixels, then the label).

    Args:
        path: the file (gzip is detected by its magic bytes).
        part: "train" or "test".
        header: "yes", "no" or "auto" (a first line whose first token is not a number).
        limit: read at most this many data rows.

    Raises:
        InputDataError: missing or empty file, a header of the wrong width, no data rows.
    """
    data = read_source_bytes(path)
    lines = _Lines(data)
    has_header = _has_header(lines, header, path)
    first_data_line = 2 if has_header else 1
    if limit is not None:
        data = lines.cut_after(limit, first_data_line)
        lines = _Lines(data)
    body_start = int(lines.starts[1]) if has_header and len(lines) > 1 else (len(data) if has_header else 0)
    body = data[body_start:]
    expected_numbers = lines.nonempty_numbers(first_data_line)
    if len(expected_numbers) == 0:
        raise InputDataError(f"{path}: no data rows (expected lines of {COLUMNS} comma-separated values)")

    numeric = pacsv.ConvertOptions(column_types={f"c{i}": pa.float64() for i in range(COLUMNS)})
    invalid: list[pacsv.InvalidRow] = []
    try:
        table = _parse(body, numeric, invalid)
    except pa.ArrowInvalid:
        log.info("%s: non-numeric values found, reparsing as text to locate them", path)
        invalid = []
        table = _parse(body, pacsv.ConvertOptions(column_types={f"c{i}": pa.string() for i in range(COLUMNS)}), invalid)

    offset = first_data_line - 1
    bad_numbers = {int(row.number) + offset for row in invalid if row.number is not None}
    rejects = [
        RejectedRow(
            source_file=path,
            row=int(row.number) + offset if row.number is not None else -1,
            reason=f"row has {row.actual_columns} columns, expected {COLUMNS} (784 pixels then the label)",
            raw=row.text,
        )
        for row in invalid
    ]
    numbers = np.asarray([n for n in expected_numbers if n not in bad_numbers], dtype=np.int64)
    if len(numbers) != table.num_rows:
        # Quoted multi-line fields would break the line mapping; fall back to row order.
        log.warning("%s: cannot map parsed rows to lines; row numbers are data-row positions", path)
        numbers = np.arange(1, table.num_rows + 1, dtype=np.int64)
    matrix = _as_float_matrix(table)
    text_of_row: Callable[[int], str] = lines.text
    return SourceBatch(
        part=part,
        source_file=path,
        row_numbers=numbers,
        labels=matrix[:, PIXELS] if len(matrix) else np.empty(0),
        pixels=matrix[:, :PIXELS] if len(matrix) else np.empty((0, PIXELS)),
        rejects=rejects,
        text_of_row=text_of_row,
    )
