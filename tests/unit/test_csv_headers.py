"""A CSV header decides which column is the label and which are the pixels, in pixel order."""

from pathlib import Path

import numpy as np
import pytest

from sparkling_mnist.data.csv_reader import read_csv_file
from sparkling_mnist.data.validate import validate_batch
from sparkling_mnist.errors import InputDataError
from tests.sample_data import csv_lines, make_images, write_csv

ROWS = 5
PIXEL0 = [f"pixel{i}" for i in range(784)]
PIXEL1 = [f"pixel{i + 1}" for i in range(784)]
ROW_BY_COLUMN = [f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)]
C_NAMES = [f"C{i + 1}" for i in range(785)]


def write_layout(path: Path, names: list[str], label_at: int, rows: int = ROWS) -> Path:
    """The sample rows under header `names`, the label moved to column `label_at` (0-based)."""
    images, labels = make_images(rows)
    lines = []
    for line in csv_lines(images, labels):
        tokens = line.split(",")
        tokens.insert(label_at, tokens.pop())
        lines.append(",".join(tokens))
    path.write_text("\n".join([",".join(names), *lines]) + "\n")
    return path


def with_label(pixel_names: list[str], label_at: int, label: str = "label") -> list[str]:
    names = list(pixel_names)
    names.insert(label_at, label)
    return names


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    """Labels and pixels of the same rows read from a headerless file (label last)."""
    images, labels = make_images(ROWS)
    path = write_csv(tmp_path_factory.mktemp("ref") / "plain.csv", csv_lines(images, labels))
    batch = read_csv_file(str(path), "train", header="no")
    np.testing.assert_array_equal(batch.labels, labels.astype(float))
    return batch.labels, batch.pixels


LAYOUTS = {
    # H2O's names for a headerless file: C785, the last column, is the label.
    "h2o C1..C785": (C_NAMES, 784),
    # Kaggle Digit Recognizer train.csv.
    "kaggle label,pixel0..pixel783": (with_label(PIXEL0, 0), 0),
    # Fashion-MNIST's CSV (Kaggle zalando-research/fashionmnist).
    "fashion label,pixel1..pixel784": (with_label(PIXEL1, 0), 0),
    # "MNIST in CSV" on Kaggle (from pjreddie's mnist_train.csv): row x column names.
    "mnist-in-csv label,1x1..28x28": (with_label(ROW_BY_COLUMN, 0), 0),
    "C1..C784,label": (with_label(C_NAMES[:784], 784), 784),
    "0..783,label (numeric first name)": (with_label([str(i) for i in range(784)], 784), 784),
    "p1..p784 with Label in the middle": (with_label([f"p{i + 1}" for i in range(784)], 300, "Label"), 300),
    "quoted, any case": ([f'"{n}"' for n in with_label([f"Pixel{i}" for i in range(784)], 0, "LABEL")], 0),
}


@pytest.mark.parametrize("header", ["auto", "yes"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_each_layout_reads_like_the_headerless_file(
    tmp_path: Path, reference: tuple[np.ndarray, np.ndarray], layout: str, header: str
) -> None:
    names, label_at = LAYOUTS[layout]
    path = write_layout(tmp_path / "d.csv", names, label_at)
    batch = read_csv_file(str(path), "train", header=header)
    np.testing.assert_array_equal(batch.labels, reference[0])
    np.testing.assert_array_equal(batch.pixels, reference[1])
    np.testing.assert_array_equal(batch.row_numbers, np.arange(2, ROWS + 2))
    accepted, rejects = validate_batch(batch)
    assert rejects == [] and len(accepted.labels) == ROWS


def test_label_first_header_is_not_read_as_label_last(tmp_path: Path) -> None:
    """Kaggle's train.csv: before headers were read, the last pixel was taken for the label."""
    images, labels = make_images(ROWS)
    path = write_layout(tmp_path / "train.csv", with_label(PIXEL0, 0), 0)
    batch = read_csv_file(str(path), "train")
    np.testing.assert_array_equal(batch.labels, labels.astype(float))
    np.testing.assert_array_equal(batch.pixels, images.reshape(ROWS, 784).astype(float))


def test_wrong_width_rows_name_the_layout_and_keep_their_line(tmp_path: Path) -> None:
    path = write_layout(tmp_path / "d.csv", with_label(PIXEL0, 0), 0)
    lines = path.read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:700])
    path.write_text("\n".join(lines) + "\n")
    batch = read_csv_file(str(path), "train", limit=4)
    assert [(r.row, r.reason, r.raw) for r in batch.rejects] == [
        (4, "row has 700 columns, expected 785 (the label then 784 pixels)", lines[3])
    ]
    np.testing.assert_array_equal(batch.row_numbers, [2, 3, 5])


def test_headerless_file_keeps_the_label_last(tmp_path: Path, reference: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = make_images(ROWS)
    path = write_csv(tmp_path / "d.csv", csv_lines(images, labels))
    batch = read_csv_file(str(path), "train", header="auto")
    np.testing.assert_array_equal(batch.labels, reference[0])
    np.testing.assert_array_equal(batch.row_numbers, np.arange(1, ROWS + 1))


def _swapped(names: list[str], a: int, b: int) -> list[str]:
    names = list(names)
    names[a], names[b] = names[b], names[a]
    return names


ERRORS = {
    "unknown column": (
        with_label([*PIXEL0[:783], "foo"], 0),
        "header fits no known layout: column 785 'foo' is neither 'label' nor a pixel column name",
    ),
    "no label": (
        [*PIXEL0, "target"],
        "header has no 'label' column (found 785 columns: column 1 'pixel0', column 2 'pixel1', column 3 "
        "'pixel2', column 4 'pixel3', ... (785 in all)); expected a column named 'label' or H2O's C1..C785",
    ),
    "repeated label": (
        ["label", *PIXEL0[:783], "Label"],
        "header has 2 label columns: column 1 'label', column 785 'Label'",
    ),
    "too few pixels": (
        with_label(PIXEL0[:783], 0),
        "header has 783 pixel columns ('pixel0'..'pixel782'), expected 784 (and 784 columns in all, expected 785)",
    ),
    "too many pixels": (
        with_label([*PIXEL0, "pixel784"], 0),
        "header has 785 pixel columns ('pixel0'..'pixel784'), expected 784",
    ),
    "pixel5 before pixel4": (
        with_label(_swapped(PIXEL0, 4, 5), 0),
        "header pixel columns are out of order: column 7 'pixel4' comes after column 6 'pixel5'",
    ),
    "repeated pixel": (
        with_label([*PIXEL0[:5], "pixel4", *PIXEL0[6:]], 0),
        "header pixel columns are out of order: column 7 'pixel4' repeats column 6 'pixel4'",
    ),
    "numbered from 2": (
        with_label([f"pixel{i + 2}" for i in range(784)], 0),
        "header pixel columns are numbered 'pixel2'..'pixel785', not 0..783 or 1..784",
    ),
    "gap in the numbers": (
        with_label([*PIXEL0[:10], *[f"pixel{i + 1}" for i in range(10, 784)]], 0),
        "header pixel columns are numbered 'pixel0'..'pixel784', not 0..783 or 1..784 "
        "(first unexpected: column 12 'pixel11')",
    ),
    "mixed namings": (
        with_label([*PIXEL0[:400], *C_NAMES[400:784]], 0),
        "header mixes pixel column namings: column 2 'pixel0', column 402 'C401'",
    ),
    "C names without C785 last": (
        [*C_NAMES[:784], "C786"],
        "header has no 'label' column and its last column is 'C786', not C785",
    ),
    "28x29 is no pixel": (
        with_label([*ROW_BY_COLUMN[:783], "28x29"], 0),
        "column 785 '28x29' is neither 'label' nor a pixel column name",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_header_errors_name_the_file_and_the_columns(tmp_path: Path, case: str) -> None:
    names, problem = ERRORS[case]
    path = write_layout(tmp_path / "bad.csv", names, 0)
    with pytest.raises(InputDataError) as err:
        read_csv_file(str(path), "train", header="yes")
    assert str(err.value).startswith(f"{path}: ")
    assert problem in str(err.value)


@pytest.mark.parametrize("column", [0, 400])
def test_first_data_line_with_a_word_is_an_error_unless_header_is_no(tmp_path: Path, column: int) -> None:
    """Such a line was once skipped as a header (first value) or read as data (elsewhere):
    guessing either way can misplace every label, so `header: auto` asks instead."""
    images, labels = make_images(ROWS)
    lines = csv_lines(images, labels)
    tokens = lines[0].split(",")
    tokens[column] = "abc"
    lines[0] = ",".join(tokens)
    path = write_csv(tmp_path / "d.csv", lines)
    with pytest.raises(InputDataError) as err:
        read_csv_file(str(path), "train")
    message = str(err.value)
    assert message.startswith(f"{path}: header has no 'label' column (found 785 columns: column 1 '{tokens[0]}'")
    assert message.endswith(
        f"(line 1 was taken as a header because its column {column + 1}, 'abc', is not a number; "
        "set header: no if the file has none)"
    )
    accepted, rejects = validate_batch(read_csv_file(str(path), "train", header="no"))
    assert len(accepted.labels) == ROWS - 1
    assert [(r.row, r.reason) for r in rejects] == [
        (1, f"pixel {column} is missing or not a number (expected an integer 0-255)")
    ]


def test_numeric_first_line_that_is_no_header_is_data(tmp_path: Path) -> None:
    """`0,1,...,783,3` is all numbers: data, however much it looks like column names."""
    images, labels = make_images(ROWS)
    lines = [",".join([*map(str, range(784)), "3"]), *csv_lines(images, labels)]
    path = write_csv(tmp_path / "d.csv", lines)
    batch = read_csv_file(str(path), "train")
    np.testing.assert_array_equal(batch.row_numbers, np.arange(1, ROWS + 2))
    assert batch.labels[0] == 3 and batch.pixels[0, 783] == 783


def test_header_after_blank_lines_is_still_the_header(tmp_path: Path, reference: tuple[np.ndarray, np.ndarray]) -> None:
    """Found by hypothesis: a blank first line hid the header, read as data with the label last."""
    path = write_layout(tmp_path / "d.csv", with_label(PIXEL0, 0), 0)
    path.write_text("\n\r\n" + path.read_text())
    batch = read_csv_file(str(path), "train")
    np.testing.assert_array_equal(batch.labels, reference[0])
    np.testing.assert_array_equal(batch.pixels, reference[1])
    np.testing.assert_array_equal(batch.row_numbers, np.arange(4, ROWS + 4))


@pytest.mark.parametrize(("before", "header"), [("\x0b\n", "auto"), ("0\n", "auto"), ("", "no")])
def test_a_header_below_the_first_line_is_not_read_as_data(tmp_path: Path, before: str, header: str) -> None:
    """Found by hypothesis: a junk first line made the header a data row, and every label
    was then taken from the last column. A later header of another layout is an error."""
    path = write_layout(tmp_path / "d.csv", with_label(PIXEL0, 0), 0)
    path.write_text(before + path.read_text())
    line = 2 if before else 1
    with pytest.raises(InputDataError) as err:
        read_csv_file(str(path), "train", header=header)
    assert str(err.value) == (
        f"{path}: line {line} is a header (the label then 784 pixels), but the file is read as 784 pixels then "
        "the label (no header line); a header must be the first non-empty line of its file (with header: auto "
        "or yes), and files of different layouts must not be joined"
    )


def test_a_later_header_of_the_same_layout_is_one_rejected_row(tmp_path: Path) -> None:
    """Joined files of one layout: the second header is a row rejected for its values."""
    images, labels = make_images(ROWS)
    lines = csv_lines(images, labels)
    path = write_csv(tmp_path / "d.csv", [*lines, ",".join(C_NAMES), *lines], header=True)
    accepted, rejects = validate_batch(read_csv_file(str(path), "train"))
    assert len(accepted.labels) == 2 * ROWS
    assert [(r.row, r.reason) for r in rejects] == [
        (ROWS + 2, "label is missing or not a number (expected an integer 0-9)")
    ]
