"""MNIST as CSV: 784 pixel columns and a label column, with or without a header line.

A header line decides the layout: which column is the label and which columns are the
784 pixels, in pixel order (row-major, pixel 0 top left). Known headers:

- H2O's default names `C1,C2,...,C785` (no column named label): C785, the last
  column, is the label. This is how H2O names the columns of a headerless file.
- A column named `label` (any case, at any position: first, last or in between) and
  784 pixel columns named in one of these ways, numbered in increasing order:

  - `pixel0..pixel783`: Kaggle's Digit Recognizer `train.csv` (`label,pixel0,...`).
  - `pixel1..pixel784`: Fashion-MNIST's CSV on Kaggle (`label,pixel1,...`).
  - `1x1,1x2,...,28x28` (row x column, from 1): the "MNIST in CSV" files on Kaggle
    (`label,1x1,...`), made from Joseph Redmon's (pjreddie) mnist_train.csv, which
    itself has no header and the label first.
  - `C1..C784`, `p0..p783`, `p1..p784`, `0..783` or `1..784`: what exports from H2O,
    pandas and ad-hoc scripts write.

  Names may be quoted; the prefixes (`pixel`, `p`, `C`) and `label` are matched in
  any case.

A header fitting none of these, a missing or repeated label column, the wrong number of
pixel columns or pixel columns out of order is an `InputDataError` naming the file and
the columns found. A file without a header is read as 784 pixels then the label (H2O's
layout). With `header: auto` the first line is a header when any of its values is not a
number (so `0,1,...,783,label` is one); a first line that is taken for a header and
fits no known layout is an error, never a row silently skipped or a misplaced label.

Parsed with pyarrow's CSV reader (vectorized, one column per field, picked by index into
pixel order). Rows with the wrong number of columns are rejected with their physical line
number and original text; value problems are left to `validate`. Quote characters have
no special meaning (a stray quote must not swallow the lines after it); values wrapped
in quotes are unwrapped when converted to numbers. Pure pyarrow/numpy, no Spark.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from sparkling_mnist.data.files import read_source_bytes
from sparkling_mnist.data.records import Part, RejectedRow, SourceBatch
from sparkling_mnist.errors import InputDataError
from sparkling_mnist.schema import PIXELS, SIDE

log = logging.getLogger(__name__)

COLUMNS = PIXELS + 1
UTF8_BOM = b"\xef\xbb\xbf"
LABEL = "label"
# Pixel column names: a naming scheme and the number(s) in the name.
_NUMBERED = re.compile(r"(?i)(pixel|p|c|)(\d+)")
_ROW_BY_COLUMN = re.compile(r"(\d+)x(\d+)")
_SHOWN = 4  # columns quoted in an error message before "..."
_H2O_START = re.compile(r'\s*"?[Cc]1"?\s*,')


@dataclass(frozen=True)
class CsvLayout:
    """Where the label and the pixels are among a CSV file's 785 columns.

    Attributes:
        pixel_columns: the 0-based column of pixel 0, 1, ... 783.
        label_column: the 0-based column of the label.
        description: the layout in words, for reject reasons.
    """

    pixel_columns: tuple[int, ...]
    label_column: int
    description: str

    @property
    def order(self) -> list[int]:
        """Column indices in pixels-then-label order."""
        return [*self.pixel_columns, self.label_column]


HEADERLESS = CsvLayout(tuple(range(PIXELS)), PIXELS, "784 pixels then the label")


class _Lines:
    """Physical lines of a text buffer, located once with numpy.

    A line ends at "\\n", "\\r\\n" or a lone "\\r", as pyarrow's CSV parser ends rows.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        buf = np.frombuffer(data, dtype=np.uint8)
        newline = buf == ord("\n")
        carriage = buf == ord("\r")
        lone_carriage = carriage & ~np.append(newline[1:], False)
        terminators = np.flatnonzero(newline | lone_carriage)
        crlf = newline[terminators] & (terminators > 0) & carriage[np.maximum(terminators - 1, 0)]
        self.starts = np.concatenate([[0], terminators + 1]).astype(np.int64)
        self.ends = np.concatenate([terminators - crlf, [len(data)]]).astype(np.int64)
        if self.starts[-1] == len(data):  # the buffer ends with a line ending: no extra line
            self.starts, self.ends = self.starts[:-1], self.ends[:-1]

    def __len__(self) -> int:
        return len(self.starts)

    def text(self, number: int) -> str:
        """The text of 1-based line `number`, without its line ending."""
        return self.data[self.starts[number - 1] : self.ends[number - 1]].decode("utf-8", "replace")

    def nonempty_numbers(self, first: int) -> np.ndarray:
        """1-based numbers of the non-empty lines from line `first` on (pyarrow skips empty ones)."""
        numbers = np.arange(1, len(self) + 1)
        keep = (self.ends > self.starts) & (numbers >= first)
        return numbers[keep]

    def cut_after(self, count: int, first: int) -> bytes:
        """The buffer up to and including the `count`-th non-empty line from line `first`."""
        numbers = self.nonempty_numbers(first)
        if count >= len(numbers):
            return self.data
        return self.data[: self.ends[numbers[count - 1] - 1]]


def _as_utf8(data: bytes, path: str) -> bytes:
    """The file's text without a UTF-8 byte order mark, invalid UTF-8 bytes replaced by U+FFFD.

    pyarrow skips a BOM itself, but a header's first name must not carry it. Invalid
    bytes would make pyarrow fail the whole file (it cannot hand such a row to the
    invalid-row handler); replaced, they make values that are not numbers, rejected by row.
    """
    bom = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0
    data = data[bom:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        log.warning("%s: invalid UTF-8 at byte offset %d (and maybe later), read as U+FFFD", path, exc.start + bom)
        data = data.decode("utf-8", "replace").encode("utf-8")
    return data


def _unquote(token: str) -> str:
    """A value without surrounding whitespace and one pair of surrounding double quotes."""
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] == '"':
        token = token[1:-1].strip()
    return token


def _looks_numeric(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _quote_columns(names: list[str], positions: list[int]) -> str:
    """'column 3 'foo', column 9 'bar', ... (12 in all)' for an error message (1-based columns)."""
    shown = ", ".join(f"column {p + 1} {names[p]!r}" for p in positions[:_SHOWN])
    return shown + (f", ... ({len(positions)} in all)" if len(positions) > _SHOWN else "")


def _pixel_number(name: str) -> tuple[str, int] | None:
    """(naming scheme, number) of a pixel column name, or None when it is not one.

    `RxC` names (row x column, from 1) are numbered 0-783 in row-major order.
    """
    match = _NUMBERED.fullmatch(name)
    if match:
        return match.group(1).lower(), int(match.group(2))
    match = _ROW_BY_COLUMN.fullmatch(name)
    if match:
        row, column = int(match.group(1)), int(match.group(2))
        if 1 <= row <= SIDE and 1 <= column <= SIDE:
            return "RxC", (row - 1) * SIDE + column - 1
    return None


def _check_pixel_columns(path: str, names: list[str], positions: list[int], numbers: list[int]) -> None:
    """Raise unless the pixel columns are numbered N, N+1, ... N+783 in order (N = 0 or 1)."""
    for previous, current in zip(range(len(numbers) - 1), range(1, len(numbers)), strict=True):
        if numbers[current] <= numbers[previous]:
            problem = "repeats" if numbers[current] == numbers[previous] else "comes after"
            raise InputDataError(
                f"{path}: header pixel columns are out of order: column {positions[current] + 1} "
                f"{names[positions[current]]!r} {problem} column {positions[previous] + 1} "
                f"{names[positions[previous]]!r} (pixel columns must be numbered in increasing order)"
            )
    found = f"{names[positions[0]]!r}..{names[positions[-1]]!r}" if positions else "none"
    if len(numbers) != PIXELS:
        raise InputDataError(
            f"{path}: header has {len(numbers)} pixel columns ({found}), expected {PIXELS} "
            f"(and {len(names)} columns in all, expected {COLUMNS})"
        )
    if numbers[0] not in (0, 1) or numbers[-1] != numbers[0] + PIXELS - 1:
        gap = next(i for i in range(len(numbers)) if numbers[i] != numbers[0] + i) if numbers[0] in (0, 1) else 0
        raise InputDataError(
            f"{path}: header pixel columns are numbered {found}, not 0..783 or 1..784 "
            f"(first unexpected: column {positions[gap] + 1} {names[positions[gap]]!r})"
        )


def _describe(label_column: int) -> str:
    if label_column == PIXELS:
        return HEADERLESS.description
    if label_column == 0:
        return "the label then 784 pixels"
    return f"784 pixels with the label in column {label_column + 1}"


def read_header(names: list[str], path: str) -> CsvLayout:
    """The layout a header line's column names declare (see the module docstring).

    Args:
        names: the header's fields, unquoted and stripped.
        path: the file, for error messages.

    Raises:
        InputDataError: the header fits no known layout; the message names the columns.
    """
    labels = [i for i, name in enumerate(names) if name.lower() == LABEL]
    if len(labels) > 1:
        raise InputDataError(f"{path}: header has {len(labels)} label columns: {_quote_columns(names, labels)}")
    parsed = [_pixel_number(name) for name in names]
    h2o = not labels and bool(names) and all(p is not None and p[0] == "c" for p in parsed)
    if not labels and not h2o:
        raise InputDataError(
            f"{path}: header has no 'label' column (found {len(names)} columns: "
            f"{_quote_columns(names, list(range(len(names))))}); expected a column named 'label' "
            f"or H2O's C1..C785 (label last)"
        )
    label_column = labels[0] if labels else len(names) - 1
    if h2o and names[label_column].lower() != f"c{COLUMNS}":
        raise InputDataError(
            f"{path}: header has no 'label' column and its last column is {names[label_column]!r}, "
            f"not C{COLUMNS}: H2O's layout is C1..C785 with the label last"
        )
    positions = [i for i in range(len(names)) if i != label_column]
    unknown = [i for i in positions if parsed[i] is None]
    if unknown:
        raise InputDataError(
            f"{path}: header fits no known layout: {_quote_columns(names, unknown)} "
            f"{'is' if len(unknown) == 1 else 'are'} neither 'label' nor a pixel column name "
            f"(pixel0..pixel783, pixel1..pixel784, 1x1..28x28, C1..C784, p0..p783 or 0..783)"
        )
    pixels = [(i, p) for i in positions if (p := parsed[i]) is not None]
    first_of_scheme: dict[str, int] = {}
    for i, (scheme, _) in pixels:
        first_of_scheme.setdefault(scheme, i)
    if len(first_of_scheme) > 1:
        raise InputDataError(
            f"{path}: header mixes pixel column namings: {_quote_columns(names, sorted(first_of_scheme.values()))} "
            f"(one naming for all {PIXELS} pixel columns expected)"
        )
    _check_pixel_columns(path, names, positions, [number for _, (_, number) in pixels])
    return CsvLayout(tuple(positions), label_column, _describe(label_column))


def _header_names(line: str) -> list[str]:
    return [_unquote(token) for token in line.split(",")]


def _layout(lines: _Lines, header: str, path: str) -> tuple[CsvLayout, int]:
    """The file's layout and its first data line (1-based): after the header line, if any.

    The header is the first non-empty line (pyarrow skips empty lines). With `header:
    auto` it is a header when any of its values is not a number (an empty value is a
    missing number). A data line with a bad value is then an error rather than a guess:
    a header read as data would misplace every label silently.
    """
    nonempty = lines.nonempty_numbers(1)
    if header == "no" or not len(nonempty):
        return HEADERLESS, 1
    number = int(nonempty[0])
    names = _header_names(lines.text(number))
    if header == "yes":
        return read_header(names, path), number + 1
    word = next((i for i, name in enumerate(names) if name and not _looks_numeric(name)), None)
    if word is None:
        return HEADERLESS, 1
    try:
        return read_header(names, path), number + 1
    except InputDataError as exc:
        raise InputDataError(
            f"{exc} (line {number} was taken as a header because its column {word + 1}, "
            f"{names[word][:40]!r}, is not a number; set header: no if the file has none)"
        ) from None


def _check_later_headers(
    path: str, layout: CsvLayout, *, first_data_line: int, matrix: np.ndarray, numbers: np.ndarray, lines: _Lines
) -> None:
    """Raise if a data line is a header declaring another layout than the one the file is read in.

    Such a line (after a junk first line, or where files were joined) would otherwise be one
    rejected row while every row after it has its label taken from the wrong column.
    """
    for row in np.flatnonzero(np.isnan(matrix).any(axis=1)).tolist():
        number = int(numbers[row])
        text = lines.text(number)
        if LABEL not in text.lower() and not _H2O_START.match(text):
            continue  # every known header has a column named label, or starts with C1
        try:
            found = read_header(_header_names(text), path)
        except InputDataError:
            continue
        if found.order != layout.order:
            read_as = f"from the header on line {first_data_line - 1}" if first_data_line > 1 else "no header line"
            raise InputDataError(
                f"{path}: line {number} is a header ({found.description}), but the file is read as "
                f"{layout.description} ({read_as}); a header must be the first non-empty line of its file "
                f"(with header: auto or yes), and files of different layouts must not be joined"
            )


def _parse(data: bytes, convert: pacsv.ConvertOptions, invalid: list[pacsv.InvalidRow]) -> pa.Table:
    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    return pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(
            column_names=[f"c{i}" for i in range(COLUMNS)], use_threads=False, block_size=1 << 24
        ),
        parse_options=pacsv.ParseOptions(quote_char=False, invalid_row_handler=on_invalid),
        convert_options=convert,
    )


def _column_as_float(column: pa.ChunkedArray) -> np.ndarray:
    """One column as float64; text that is not a number becomes NaN (reported by validation)."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    try:  # the clean columns of a file with a few bad values
        return np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        texts = [None if value is None else _unquote(value.decode("utf-8", "replace")) for value in column.to_pylist()]
        return np.asarray(pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce"), dtype=np.float64)


def _read_table(body: bytes, path: str, invalid: list[pacsv.InvalidRow]) -> pa.Table:
    """Parse the data lines: as numbers, or as bytes when some values are not numbers."""
    names = [f"c{i}" for i in range(COLUMNS)]
    try:
        return _parse(body, pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64())), invalid)
    except pa.ArrowInvalid:
        log.info("%s: non-numeric values found, reparsing as text to locate them", path)
    invalid.clear()
    try:
        return _parse(body, pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.binary())), invalid)
    except pa.ArrowException as exc:
        raise InputDataError(f"{path}: not readable as CSV: {exc}") from None


def read_csv_file(path: str, part: Part, header: str = "auto", limit: int | None = None) -> SourceBatch:
    """Read one CSV file of 785 columns: 784 pixels and the label, placed as the header says.

    Args:
        path: the file (gzip is detected by its magic bytes).
        part: "train" or "test".
        header: "yes", "no" or "auto" (see the module docstring). Without a header the
            columns are 784 pixels, then the label.
        limit: read at most this many data rows.

    Returns:
        A batch in pixel order; a row of the wrong width is a reject naming its line.

    Raises:
        InputDataError: missing or empty file, a header that fits no known layout
            (the message names the columns), no data rows.
    """
    data = _as_utf8(read_source_bytes(path), path)
    lines = _Lines(data)
    layout, first_data_line = _layout(lines, header, path)
    if first_data_line > 1:
        log.info("%s: header on line %d: %s", path, first_data_line - 1, layout.description)
    if limit is not None:
        data = lines.cut_after(limit, first_data_line)
        lines = _Lines(data)
    body_start = int(lines.starts[first_data_line - 1]) if first_data_line <= len(lines) else len(data)
    expected_numbers = lines.nonempty_numbers(first_data_line)
    if len(expected_numbers) == 0:
        raise InputDataError(f"{path}: no data rows (expected lines of {COLUMNS} comma-separated values)")

    invalid: list[pacsv.InvalidRow] = []
    table = _read_table(data[body_start:], path, invalid)
    # pyarrow numbers rows among the non-empty lines of the body: map them to physical lines.
    invalid_lines = [
        int(expected_numbers[row.number - 1]) if row.number is not None and row.number <= len(expected_numbers) else -1
        for row in invalid
    ]
    rejects = [
        RejectedRow(
            source_file=path,
            row=line,
            reason=f"row has {row.actual_columns} columns, expected {COLUMNS} ({layout.description})",
            raw=row.text,
        )
        for row, line in zip(invalid, invalid_lines, strict=True)
    ]
    numbers = np.setdiff1d(expected_numbers, invalid_lines).astype(np.int64)
    text_of_row: Callable[[int], str] | None = lines.text
    if len(numbers) != table.num_rows or -1 in invalid_lines:
        # Never expected (rows and lines are split alike); keep every row, without line numbers.
        log.warning("%s: cannot map parsed rows to lines; row numbers are data-row positions", path)
        numbers = np.arange(1, table.num_rows + 1, dtype=np.int64)
        text_of_row = None
    table = table.select(layout.order)
    matrix = (
        np.stack([_column_as_float(column) for column in table.columns], axis=1)
        if table.num_rows
        else np.empty((0, COLUMNS))
    )
    if text_of_row is not None:
        _check_later_headers(path, layout, first_data_line=first_data_line, matrix=matrix, numbers=numbers, lines=lines)
    return SourceBatch(
        part=part,
        source_file=path,
        row_numbers=numbers,
        labels=matrix[:, PIXELS],
        pixels=matrix[:, :PIXELS],
        rejects=rejects,
        text_of_row=text_of_row,
    )
