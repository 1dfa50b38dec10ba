import gzip
from pathlib import Path

import numpy as np
import pytest

from sparkling_mnist.data.idx import encode_idx, parse_idx, read_idx_pair
from sparkling_mnist.errors import InputDataError
from tests.sample_data import make_images, write_idx_pair


@pytest.mark.parametrize("gz", [True, False])
def test_reads_gzip_and_raw_pairs(tmp_path: Path, gz: bool) -> None:
    images, labels = make_images(12)
    image_path, label_path = write_idx_pair(tmp_path, images, labels, "train", gz=gz)
    batch = read_idx_pair(str(image_path), str(label_path), "train")
    np.testing.assert_array_equal(batch.pixels, images.reshape(12, 784))
    np.testing.assert_array_equal(batch.labels, labels.astype(float))
    np.testing.assert_array_equal(batch.row_numbers, np.arange(1, 13))
    assert batch.pixels.dtype == np.uint8 and batch.part == "train"


def test_limit_reads_a_prefix(tmp_path: Path) -> None:
    images, labels = make_images(12)
    paths = write_idx_pair(tmp_path, images, labels, "train")
    batch = read_idx_pair(str(paths[0]), str(paths[1]), "test", limit=5)
    assert len(batch.labels) == 5 and batch.part == "test"


def test_truncated_image_file_names_file_and_offset(tmp_path: Path) -> None:
    images, _ = make_images(4)
    data = encode_idx(images)[:-100]
    path = tmp_path / "imgs.idx"
    path.write_bytes(data)
    with pytest.raises(InputDataError) as err:
        parse_idx(path.read_bytes(), str(path), 3)
    message = str(err.value)
    assert str(path) in message
    assert "truncated" in message and "header declares 4 items" in message
    assert f"byte offset {len(data)}" in message and "inside item 3" in message


def test_trailing_bytes_are_an_error(tmp_path: Path) -> None:
    _, labels = make_images(4)
    with pytest.raises(InputDataError, match=r"3 unexpected trailing bytes.*offset 12"):
        parse_idx(encode_idx(labels) + b"xyz", "labels.idx", 1)


def test_corrupt_and_truncated_gzip(tmp_path: Path) -> None:
    images, labels = make_images(4)
    image_path, label_path = write_idx_pair(tmp_path, images, labels, "train")
    compressed = image_path.read_bytes()
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(InputDataError, match=rf"{truncated}: truncated gzip stream"):
        read_idx_pair(str(truncated), str(label_path), "train")
    corrupt = tmp_path / "corrupt.gz"
    corrupt.write_bytes(compressed[:10] + b"\xff" * 40 + compressed[50:])
    with pytest.raises(InputDataError, match=rf"{corrupt}: corrupt gzip stream"):
        read_idx_pair(str(corrupt), str(label_path), "train")


def test_count_mismatch_names_both_files(tmp_path: Path) -> None:
    images, labels = make_images(6)
    image_path, _ = write_idx_pair(tmp_path, images, labels, "a")
    _, label_path = write_idx_pair(tmp_path, images[:5], labels[:5], "b")
    with pytest.raises(InputDataError) as err:
        read_idx_pair(str(image_path), str(label_path), "train")
    assert f"{image_path} declares 6 images but {label_path} declares 5 labels" in str(err.value)


def test_swapped_files_bad_magic_and_wrong_size(tmp_path: Path) -> None:
    images, labels = make_images(3)
    image_path, label_path = write_idx_pair(tmp_path, images, labels, "x")
    with pytest.raises(InputDataError, match=r"not an IDX image file: magic bytes 00000801"):
        read_idx_pair(str(label_path), str(image_path), "train")
    small = tmp_path / "small.idx"
    small.write_bytes(encode_idx(np.zeros((2, 20, 20), np.uint8)))
    with pytest.raises(InputDataError, match="images are 20x20, expected 28x28"):
        read_idx_pair(str(small), str(label_path), "train")
    floats = bytearray(encode_idx(labels))
    floats[2] = 0x0D
    with pytest.raises(InputDataError, match="data type 0x0d is not supported"):
        parse_idx(bytes(floats), "f.idx", 1)


def test_empty_missing_and_zero_count_files(tmp_path: Path) -> None:
    images, labels = make_images(3)
    _, label_path = write_idx_pair(tmp_path, images, labels, "x")
    empty = tmp_path / "empty.gz"
    empty.write_bytes(b"")
    with pytest.raises(InputDataError, match=rf"{empty}: file is empty"):
        read_idx_pair(str(empty), str(label_path), "train")
    with pytest.raises(InputDataError, match=r"missing.idx: file not found"):
        read_idx_pair(str(tmp_path / "missing.idx"), str(label_path), "train")
    zero_images, zero_labels = write_idx_pair(tmp_path, images[:0], labels[:0], "zero")
    with pytest.raises(InputDataError, match="holds no images"):
        read_idx_pair(str(zero_images), str(zero_labels), "train")


def test_gzip_detection_is_by_magic_not_name(tmp_path: Path) -> None:
    images, labels = make_images(2)
    plain = tmp_path / "imgs.gz"  # raw bytes despite the name
    plain.write_bytes(encode_idx(images))
    packed = tmp_path / "labels.raw"  # gzip despite the name
    packed.write_bytes(gzip.compress(encode_idx(labels)))
    batch = read_idx_pair(str(plain), str(packed), "train")
    assert len(batch.labels) == 2
