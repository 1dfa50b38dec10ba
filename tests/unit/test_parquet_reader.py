import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sparkling_mnist.data.assemble import assemble
from sparkling_mnist.data.parquet_reader import read_parquet_file
from sparkling_mnist.errors import InputDataError
from tests.sample_data import make_images


def _write(path: Path, **columns: object) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def test_reads_our_schema_and_keeps_ids(tmp_path: Path) -> None:
    images, labels = make_images(5)
    pixels = [row.tobytes() for row in images]
    path = _write(tmp_path / "a.parquet", id=[10, 11, 12, 13, 14], label=labels.astype(np.int32), pixels=pixels)
    batch = read_parquet_file(str(path), "train")
    np.testing.assert_array_equal(batch.ids, [10, 11, 12, 13, 14])
    np.testing.assert_array_equal(batch.pixels, images.reshape(5, 784))
    assert batch.splits is None and batch.rejects == []


def test_row_problems_are_rejected_and_kept(tmp_path: Path) -> None:
    images, _ = make_images(5)
    pixels: list[bytes | None] = [row.tobytes() for row in images]
    pixels[1] = pixels[1][:700]  # type: ignore[index]
    pixels[2] = None
    path = _write(
        tmp_path / "a.parquet",
        id=pa.array([1, 2, 3, None, 5], pa.int64()),
        label=pa.array([0, 1, 2, 3, 11], pa.int64()),
        pixels=pa.array(pixels, pa.binary()),
        split=["train", None, "valid", "test", "bogus"],
    )
    batch = read_parquet_file(str(path), "train")
    assert [(r.row, r.reason) for r in batch.rejects] == [
        (2, "pixels is 700 bytes, expected 784 bytes"),
        (3, "pixels is null, expected 784 bytes"),
        (4, "id is null (expected a unique integer)"),
        (5, "split 'bogus' is not one of train, valid, test"),
    ]
    assert batch.rejects[0].pixels == pixels[1]
    assert batch.rows_read == 5 and len(batch.labels) == 1


def test_duplicate_ids_are_rejected_across_files_and_splits_are_honoured(tmp_path: Path) -> None:
    images, _ = make_images(4)
    pixels = [row.tobytes() for row in images]
    a = _write(tmp_path / "a.parquet", id=[1, 2], label=[0, 1], pixels=pixels[:2], split=["test", None])
    b = _write(tmp_path / "b.parquet", id=[2, 3], label=[2, 3], pixels=pixels[2:], split=[None, None])
    result = assemble(
        [read_parquet_file(str(a), "train"), read_parquet_file(str(b), "train")],
        valid_fraction=0.0,
        test_fraction=0.0,
        seed=1,
        source_has_test=False,
    )
    assert result.counts.read == 4 and result.counts.accepted == 3 and result.counts.rejected == 1
    assert result.rejects[0].reason == f"duplicate id 2 (first seen in {a} row 2)"
    assert dict(zip(result.ids.tolist(), result.splits.tolist(), strict=True)) == {1: "test", 2: "train", 3: "train"}


def test_missing_columns_wrong_types_and_missing_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.parquet", id=[1], label=[0])
    with pytest.raises(InputDataError, match=r"missing column\(s\) \['pixels'\]; expected id: integer"):
        read_parquet_file(str(path), "train")
    wrong = _write(tmp_path / "w.parquet", id=["x"], label=[0], pixels=[b"\x00" * 784])
    with pytest.raises(InputDataError, match="wrong column type"):
        read_parquet_file(str(wrong), "train")
    with pytest.raises(InputDataError, match="file not found"):
        read_parquet_file(str(tmp_path / "none.parquet"), "train")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(InputDataError, match="not a readable Parquet file"):
        read_parquet_file(str(junk), "train")
    empty = _write(
        tmp_path / "e.parquet",
        id=pa.array([], pa.int64()),
        label=pa.array([], pa.int64()),
        pixels=pa.array([], pa.binary()),
    )
    with pytest.raises(InputDataError, match="holds no rows"):
        read_parquet_file(str(empty), "train")


def test_extra_columns_are_ignored_and_named_repeated_ones_are_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    images, labels = make_images(2)
    pixels = [row.tobytes() for row in images]
    path = _write(tmp_path / "a.parquet", id=[1, 2], label=labels, pixels=pixels, digit=[7, 7], note=["a", "b"])
    with caplog.at_level(logging.INFO, logger="sparkling_mnist.data.parquet_reader"):
        batch = read_parquet_file(str(path), "train")
    np.testing.assert_array_equal(batch.labels, labels.astype(float))
    assert f"{path}: ignoring 2 column(s) not in the schema: digit, note" in caplog.text
    twice = tmp_path / "twice.parquet"
    pq.write_table(
        pa.Table.from_arrays(
            [pa.array([1]), pa.array([0]), pa.array([3]), pa.array(pixels[:1])],
            names=["id", "label", "label", "pixels"],
        ),
        twice,
    )
    with pytest.raises(InputDataError, match=rf"{twice}: not a readable Parquet file: Multiple matches .*label"):
        read_parquet_file(str(twice), "train")
