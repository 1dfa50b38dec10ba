"""Mutated and truncated input files: a reader either names the file in an InputDataError or
accounts for every row it saw (returned or rejected with a reason), never a traceback.

Property-based (hypothesis): each test mutates a small valid file (bit flips, byte
replacements, insertions, deletions, truncation), reads it with the real reader and
validates the batch as ingestion does. Derandomized, so every run tries the same files.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparkling_mnist.data.csv_reader import read_csv_file
from sparkling_mnist.data.idx import encode_idx, read_idx_pair
from sparkling_mnist.data.parquet_reader import read_parquet_file
from sparkling_mnist.data.records import SourceBatch
from sparkling_mnist.data.validate import validate_batch
from sparkling_mnist.errors import InputDataError
from tests.sample_data import csv_lines, make_images, write_csv

# An exception pyarrow swallows in a callback (it only prints it) fails the test.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
ROWS = 3
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Bytes that mean something to one of the parsers (line ends, separators, quotes, signs,
# digits, a UTF-8 BOM, invalid UTF-8), drawn more often than chance would.
SPECIAL = b'\n\r,"-+.0123456789eEx \t\x00\xff\xef\xbb\xbf\x1f\x8b\x08'
BYTE = st.one_of(st.sampled_from(list(SPECIAL)), st.integers(0, 255))


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` after one to three byte-level mutations or a truncation."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "replace", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "replace" and data:
            data[at] = draw(BYTE)
        elif kind == "insert":
            data[at:at] = bytes(draw(st.lists(BYTE, min_size=1, max_size=8)))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


def read_or_name_the_file(read: Callable[[], SourceBatch], path: Path) -> SourceBatch | None:
    """The batch, checked as ingestion uses it, or None when the reader named `path` in an error."""
    try:
        batch = read()
    except InputDataError as exc:
        assert str(path) in str(exc)
        return None
    n = len(batch.labels)
    assert batch.row_numbers.shape == (n,) and batch.pixels.shape == (n, 784)
    accepted, rejects = validate_batch(batch)
    assert len(accepted.labels) + len(rejects) == batch.rows_read
    assert all(r.reason and r.source_file == batch.source_file for r in rejects)
    return batch


def rows_seen(batch: SourceBatch) -> list[int]:
    """Row numbers of every row the reader returned or rejected, sorted (repeats kept)."""
    return sorted([*batch.row_numbers.tolist(), *(r.row for r in batch.rejects)])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


IMAGES, LABELS = make_images(ROWS)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("which", ["images", "labels"])
def test_idx_mutations(folder: Path, which: str, gz: bool) -> None:
    good = {"images": encode_idx(IMAGES), "labels": encode_idx(LABELS)}
    files = {kind: folder / f"{kind}-{which}-{gz}.idx" for kind in good}
    for kind, data in good.items():
        files[kind].write_bytes(data)
    original = gzip.compress(good[which], mtime=0) if gz else good[which]

    @FUZZ
    @given(mutated(original))
    def check(data: bytes) -> None:
        files[which].write_bytes(data)
        batch = read_or_name_the_file(
            lambda: read_idx_pair(str(files["images"]), str(files["labels"]), "train"), files[which]
        )
        if batch is not None:  # a readable pair still holds the declared rows, all of them
            assert rows_seen(batch) == list(range(1, ROWS + 1)) and batch.rejects == []

    check()


def label_first(lines: list[str]) -> list[str]:
    """H2O-style lines with the label moved to the front (Kaggle's layout)."""
    return [f"{line.rsplit(',', 1)[1]},{line.rsplit(',', 1)[0]}" for line in lines]


CSV_LAYOUTS = {
    # layout: (header mode, whether the file has a header line)
    "headerless-auto": ("auto", False),
    "headerless-no": ("no", False),
    "h2o-header-auto": ("auto", True),
    "h2o-header-yes": ("yes", True),
    "kaggle-header-auto": ("auto", True),
}


@pytest.mark.parametrize("layout", list(CSV_LAYOUTS))
def test_csv_mutations(folder: Path, layout: str) -> None:
    mode, has_header = CSV_LAYOUTS[layout]
    lines = csv_lines(IMAGES, LABELS)
    path = folder / f"{layout}.csv"
    if layout.startswith("kaggle"):
        path.write_text("\n".join(["label," + ",".join(f"pixel{i}" for i in range(784)), *label_first(lines)]) + "\n")
    else:
        write_csv(path, lines, header=has_header)
    original = path.read_bytes()
    data_lines = original.splitlines()[1:] if has_header else original.splitlines()
    values = {
        line: (int(label), image.reshape(784)) for line, label, image in zip(data_lines, LABELS, IMAGES, strict=True)
    }

    @FUZZ
    @given(mutated(original), st.none() | st.integers(1, ROWS + 1))
    def check(data: bytes, limit: int | None) -> None:
        path.write_bytes(data)
        batch = read_or_name_the_file(lambda: read_csv_file(str(path), "train", header=mode, limit=limit), path)
        if batch is None:
            return
        # Every non-empty line after the header (up to the limit) is a row or a reject, once;
        # lines end as pyarrow ends them ("\n", "\r\n" or a lone "\r").
        physical = data.removeprefix(b"\xef\xbb\xbf").splitlines()
        nonempty = [number for number, line in enumerate(physical, start=1) if line]
        seen = rows_seen(batch)
        header_taken = bool(nonempty) and nonempty[0] not in seen  # the first non-empty line
        assert not header_taken or has_header, "a data line was taken for a header"
        assert seen == nonempty[header_taken:][:limit]
        # An untouched data line reads as it was written (label and pixels in their places).
        for row, number in enumerate(batch.row_numbers.tolist()):
            if physical[number - 1] in values:
                label, pixels = values[physical[number - 1]]
                assert batch.labels[row] == label
                np.testing.assert_array_equal(batch.pixels[row], pixels)

    check()


def test_parquet_mutations(folder: Path) -> None:
    path = folder / "images.parquet"
    table = pa.table(
        {
            "id": pa.array(np.arange(ROWS), pa.int64()),
            "label": pa.array(LABELS, pa.int32()),
            "pixels": pa.array([image.tobytes() for image in IMAGES], pa.binary()),
            "split": pa.array(["train", "valid", "test"][:ROWS], pa.string()),
        }
    )
    pq.write_table(table, path)
    original = path.read_bytes()

    @FUZZ
    @given(mutated(original))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        batch = read_or_name_the_file(lambda: read_parquet_file(str(path), "train"), path)
        if batch is not None:  # every row of the file that pyarrow reads is a row or a reject
            assert rows_seen(batch) == list(range(1, pq.read_table(path).num_rows + 1))

    check()
