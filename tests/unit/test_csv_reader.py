from pathlib import Path

import numpy as np
import pytest

from sparkling_mnist.data.csv_reader import read_csv_file
from sparkling_mnist.data.validate import validate_batch
from sparkling_mnist.errors import InputDataError
from tests.sample_data import csv_lines, make_images, write_csv


@pytest.mark.parametrize("header", [True, False])
def test_reads_with_and_without_header(tmp_path: Path, header: bool) -> None:
    images, labels = make_images(7)
    path = write_csv(tmp_path / "d.csv", csv_lines(images, labels), header=header)
    batch = read_csv_file(str(path), "train")
    np.testing.assert_array_equal(batch.pixels, images.reshape(7, 784).astype(float))
    np.testing.assert_array_equal(batch.labels, labels.astype(float))
    first_line = 2 if header else 1
    np.testing.assert_array_equal(batch.row_numbers, np.arange(first_line, first_line + 7))
    accepted, rejects = validate_batch(batch)
    assert rejects == [] and accepted.pixels.dtype == np.uint8


def test_wrong_width_rows_are_rejected_with_line_and_text(tmp_path: Path) -> None:
    images, labels = make_images(6)
    lines = csv_lines(images, labels)
    short = ",".join(["0"] * 700)
    lines[2] = short
    lines[4] = lines[4] + ",7"
    path = write_csv(tmp_path / "d.csv", lines, header=True)
    batch = read_csv_file(str(path), "train")
    assert batch.rows_read == 6
    assert [(r.row, r.reason) for r in batch.rejects] == [
        (4, "row has 700 columns, expected 785 (784 pixels then the label)"),
        (6, "row has 786 columns, expected 785 (784 pixels then the label)"),
    ]
    assert batch.rejects[0].raw == short and batch.rejects[0].source_file == str(path)
    np.testing.assert_array_equal(batch.row_numbers, [2, 3, 5, 7])
    np.testing.assert_array_equal(batch.labels, labels[[0, 1, 3, 5]].astype(float))


def test_value_problems_are_rejected_with_reasons_and_original_text(tmp_path: Path) -> None:
    images, labels = make_images(6)
    lines = csv_lines(images, labels)
    bad = {}
    for index, (column, value) in {1: (784, "12"), 2: (5, "300"), 3: (9, ""), 4: (0, "abc"), 5: (3, "2.5")}.items():
        tokens = lines[index].split(",")
        tokens[column] = value
        lines[index] = bad[index] = ",".join(tokens)
    path = write_csv(tmp_path / "d.csv", lines)
    accepted, rejects = validate_batch(read_csv_file(str(path), "train"))
    assert len(accepted.labels) == 1 and len(rejects) == 5
    reasons = {r.row: r.reason for r in rejects}
    assert reasons == {
        2: "label 12 is not an integer 0-9",
        3: "pixel 5 value 300 is not an integer 0-255",
        4: "pixel 9 is missing or not a number (expected an integer 0-255)",
        5: "pixel 0 is missing or not a number (expected an integer 0-255)",
        6: "pixel 3 value 2.5 is not an integer 0-255",
    }
    assert {r.row: r.raw for r in rejects} == {index + 1: text for index, text in bad.items()}
    assert rejects[0].pixels is not None and rejects[1].pixels is None


def test_blank_lines_keep_line_numbers_exact(tmp_path: Path) -> None:
    images, labels = make_images(3)
    lines = csv_lines(images, labels)
    path = tmp_path / "d.csv"
    path.write_text(lines[0] + "\n\n" + lines[1] + "\r\n" + lines[2] + "\n")
    batch = read_csv_file(str(path), "test")
    np.testing.assert_array_equal(batch.row_numbers, [1, 3, 4])
    assert batch.rejects == [] and batch.part == "test"


def test_header_of_wrong_width_empty_and_missing(tmp_path: Path) -> None:
    images, labels = make_images(2)
    path = tmp_path / "h.csv"
    path.write_text("a,b,c\n" + "\n".join(csv_lines(images, labels)) + "\n")
    with pytest.raises(InputDataError, match=rf"{path}: header has no 'label' column \(found 3 columns: column 1 'a'"):
        read_csv_file(str(path), "train")
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(InputDataError, match="file is empty"):
        read_csv_file(str(empty), "train")
    header_only = write_csv(tmp_path / "ho.csv", [], header=True)
    with pytest.raises(InputDataError, match=rf"{header_only}: no data rows"):
        read_csv_file(str(header_only), "train")
    with pytest.raises(InputDataError, match="file not found"):
        read_csv_file(str(tmp_path / "nope.csv"), "train")


def test_limit_and_gzip(tmp_path: Path) -> None:
    import gzip

    images, labels = make_images(9)
    path = tmp_path / "d.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(csv_lines(images, labels)) + "\n").encode()))
    batch = read_csv_file(str(path), "train", header="no", limit=4)
    assert len(batch.labels) == 4
    np.testing.assert_array_equal(batch.labels, labels[:4].astype(float))
