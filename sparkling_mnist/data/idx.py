"""IDX image/label files (the original MNIST format), gzip or raw. Pure numpy."""

from __future__ import annotations

import numpy as np

from sparkling_mnist.data.files import read_source_bytes
from sparkling_mnist.data.records import Part, SourceBatch
from sparkling_mnist.errors import InputDataError
from sparkling_mnist.schema import PIXELS, SIDE

UBYTE = 0x08


def parse_idx(data: bytes, path: str, expected_ndim: int) -> np.ndarray:
    """Parse an IDX byte string into an array of unsigned bytes.

    Args:
        data: the decompressed file contents.
        path: the file name, for error messages.
        expected_ndim: 3 for images (N, 28, 28), 1 for labels (N,).

    Raises:
        InputDataError: bad magic, unsupported type, wrong dimensions, or a data section
            shorter (truncated) or longer than the header declares, with byte offsets.
    """
    header_len = 4 + 4 * expected_ndim
    if len(data) < 4:
        raise InputDataError(f"{path}: {len(data)} bytes is too short for an IDX header")
    zero, dtype, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or ndim != expected_ndim:
        kind = "image" if expected_ndim == 3 else "label"
        raise InputDataError(
            f"{path}: not an IDX {kind} file: magic bytes {data[:4].hex()} "
            f"(expected 0000080{expected_ndim}: unsigned bytes, {expected_ndim} dimension(s))"
        )
    if dtype != UBYTE:
        raise InputDataError(f"{path}: IDX data type 0x{dtype:02x} is not supported (expected 0x08, unsigned byte)")
    if len(data) < header_len:
        raise InputDataError(f"{path}: truncated IDX header: {len(data)} bytes, expected {header_len}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=expected_ndim, offset=4))
    if expected_ndim == 3 and dims[1:] != (SIDE, SIDE):
        raise InputDataError(f"{path}: images are {dims[1]}x{dims[2]}, expected {SIDE}x{SIDE}")
    item = PIXELS if expected_ndim == 3 else 1
    expected = dims[0] * item
    available = len(data) - header_len
    if available < expected:
        complete = available // item
        raise InputDataError(
            f"{path}: truncated: header declares {dims[0]} items ({expected} data bytes from offset "
            f"{header_len}) but only {available} bytes follow; data ends inside item {complete} "
            f"at byte offset {len(data)}"
        )
    if available > expected:
        raise InputDataError(
            f"{path}: {available - expected} unexpected trailing bytes after the {dims[0]} items "
            f"the header declares (data should end at byte offset {header_len + expected})"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims)


def read_idx_pair(images_path: str, labels_path: str, part: Part, limit: int | None = None) -> SourceBatch:
    """Read an IDX image file and its label file into one batch.

    Raises:
        InputDataError: either file is missing, corrupt or truncated, or the two
            headers declare different counts.
    """
    images = parse_idx(read_source_bytes(images_path), images_path, expected_ndim=3)
    labels = parse_idx(read_source_bytes(labels_path), labels_path, expected_ndim=1)
    if len(images) != len(labels):
        raise InputDataError(
            f"{images_path} declares {len(images)} images but {labels_path} declares "
            f"{len(labels)} labels: the files do not belong together"
        )
    if len(images) == 0:
        raise InputDataError(f"{images_path}: the file holds no images")
    n = len(images) if limit is None else min(limit, len(images))
    return SourceBatch(
        part=part,
        source_file=images_path,
        row_numbers=np.arange(1, n + 1, dtype=np.int64),
        labels=labels[:n].astype(np.float64),
        pixels=images[:n].reshape(n, PIXELS),
    )


def encode_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes (used to write test fixtures and exports)."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX encoding needs uint8, got {array.dtype}")
    header = bytes([0, 0, UBYTE, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array).tobytes()
