"""The batch contract every effect shares, and the small array operations on it.

A batch is a ``(N, 28, 28)`` ``uint8`` array of grey MNIST images, ink bright on a
black background. Effects work in ``float64`` on the 0..255 scale in between and
come back to ``uint8`` through :func:`to_uint8` (round half to even, then clip).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

IMAGE_SIDE = 28
"""Height and width of one image, in pixels."""

UInt8Batch = NDArray[np.uint8]
"""A ``(N, 28, 28)`` ``uint8`` image batch."""

FloatBatch = NDArray[np.float64]
"""A ``(N, 28, 28)`` ``float64`` batch on the 0..255 scale."""

BLOCK_ROWS = 64
"""Rows per block in the interpolating effects: their float temporaries then stay in
the CPU cache, about twice as fast as one pass over thousands of rows."""

_EXPECTED = f"a uint8 array of shape (N, {IMAGE_SIDE}, {IMAGE_SIDE})"


def validate_batch(images: object) -> UInt8Batch:
    """Check that ``images`` is a batch of 28x28 ``uint8`` images.

    Args:
        images: the candidate batch.

    Returns:
        ``images`` itself, typed as a ``uint8`` batch; a C-contiguous writeable copy
        if it is a read-only or strided view (the effects never write to it).

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if its dtype is not ``uint8`` or its shape not ``(N, 28, 28)``;
            the message names the expected shape and dtype.
    """
    if not isinstance(images, np.ndarray):
        raise TypeError(f"expected {_EXPECTED}, got {type(images).__name__}")
    if images.dtype != np.uint8:
        raise ValueError(
            f"expected {_EXPECTED}, got dtype {images.dtype}; convert with np.clip(x, 0, 255).astype(np.uint8) first"
        )
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"expected {_EXPECTED}, got shape {images.shape}")
    if not (images.flags.c_contiguous and images.flags.writeable):
        # The compiled kernels are specialised on layout and on read-only-ness: a
        # read-only Arrow buffer would compile (and cache) every kernel a second time.
        return np.array(images, order="C")
    return images


def validate_keys(keys: object, n_images: int) -> NDArray[np.uint64]:
    """Check that there is exactly one ``uint64`` stream key per image.

    Returns:
        The keys as a contiguous ``(N,)`` ``uint64`` array.

    Raises:
        ValueError: if ``keys`` is not a ``uint64`` array of shape ``(n_images,)``.
    """
    array = np.asarray(keys)
    if array.dtype != np.uint64 or array.shape != (n_images,):
        raise ValueError(
            f"got stream keys of dtype {array.dtype} and shape {array.shape} for {n_images} images; "
            "pass one uint64 key per row, as built by row_keys()"
        )
    return np.ascontiguousarray(array)


def empty_batch() -> UInt8Batch:
    """Return a new ``(0, 28, 28)`` ``uint8`` batch."""
    return np.empty((0, IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)


def to_uint8(values: NDArray[np.float64]) -> UInt8Batch:
    """Round to the nearest grey level (half to even) and clip to 0..255."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def row_blocks(n_rows: int, block_rows: int = BLOCK_ROWS) -> Iterator[slice]:
    """Yield consecutive slices of at most ``block_rows`` rows covering ``range(n_rows)``."""
    for start in range(0, n_rows, block_rows):
        yield slice(start, min(start + block_rows, n_rows))


def translate_batch(images: UInt8Batch, d_row: int, d_col: int) -> UInt8Batch:
    """Move every image of the batch by ``(d_row, d_col)`` whole pixels.

    Ink moved past the border is lost; uncovered pixels become 0. Positive
    offsets move the content down / right.

    Args:
        images: ``(N, 28, 28)`` batch.
        d_row: row offset.
        d_col: column offset.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch.
    """
    out = np.zeros_like(images)
    if abs(d_row) >= IMAGE_SIDE or abs(d_col) >= IMAGE_SIDE:
        return out
    # Output rows max(d, 0) .. 28 + min(d, 0) come from input rows shifted back by d.
    out[:, max(d_row, 0) : IMAGE_SIDE + min(d_row, 0), max(d_col, 0) : IMAGE_SIDE + min(d_col, 0)] = images[
        :, max(-d_row, 0) : IMAGE_SIDE + min(-d_row, 0), max(-d_col, 0) : IMAGE_SIDE + min(-d_col, 0)
    ]
    return out
