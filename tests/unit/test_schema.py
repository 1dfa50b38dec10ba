import numpy as np
import pyarrow as pa
import pytest

from sparkling_mnist.data.h2o_frames import expand_pixel_batch
from sparkling_mnist.schema import PIXEL_COLUMNS, pixels_from_arrow, pixels_to_arrow
from tests.sample_data import make_images


def test_pixels_roundtrip_and_slices() -> None:
    images, _ = make_images(9)
    column = pixels_to_arrow(images)
    assert column.type == pa.binary() and len(column) == 9
    np.testing.assert_array_equal(pixels_from_arrow(column), images.reshape(9, 784))
    np.testing.assert_array_equal(pixels_from_arrow(column.slice(3, 4)), images.reshape(9, 784)[3:7])
    chunked = pa.chunked_array([column.slice(0, 2), column.slice(2)])
    np.testing.assert_array_equal(pixels_from_arrow(chunked), images.reshape(9, 784))
    assert pixels_from_arrow(column.slice(0, 0)).shape == (0, 784)


def test_bad_pixel_columns() -> None:
    with pytest.raises(ValueError, match="row 1 has 3 bytes, expected 784"):
        pixels_from_arrow(pa.array([b"\x00" * 784, b"abc"], pa.binary()))
    with pytest.raises(ValueError, match="1 null"):
        pixels_from_arrow(pa.array([b"\x00" * 784, None], pa.binary()))
    with pytest.raises(ValueError, match="must be uint8"):
        pixels_to_arrow(np.zeros((2, 784), np.int16))


def test_expand_pixel_batch_gives_784_numeric_columns() -> None:
    images, labels = make_images(4)
    batch = pa.RecordBatch.from_arrays(
        [pa.array(np.arange(4) + 100), pa.array(labels.astype(np.int32)), pixels_to_arrow(images)],
        names=["id", "label", "pixels"],
    )
    wide = expand_pixel_batch(batch)
    assert wide.schema.names == ["id", "label", *PIXEL_COLUMNS]
    np.testing.assert_array_equal(wide.column("id").to_numpy(), [100, 101, 102, 103])
    np.testing.assert_array_equal(wide.column("px400").to_numpy(), images.reshape(4, 784)[:, 400])
    np.testing.assert_array_equal(wide.column("label").to_numpy(), labels)
