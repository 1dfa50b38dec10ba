"""The batch contract every effect shares, and the small array operations on it.

A batch is a ``(N, 28, 28)`` ``uint8`` array of grey MNIST images, ink bright on a
black background. Effects work in ``float64`` on the 0..255 scale in between and
come back to ``uint8`` through :func:`to_uint8` (round half to even, then clip).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

IMAGE_SIDE = 28
"""Height and width of one image, in pixels."""

UInt8Batch = NDArray[np.uint8]
"""A ``(N, 28, 28)`` ``uint8`` image batch."""

FloatBatch = NDArray[np.float64]
"""A ``(N, 28, 28)`` ``float64`` batch on the 0..255 scale."""

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


def to_uint8(values: NDArray[np.float64]) -> UInt8Batch:
    """Round to the nearest grey level (half to even) and clip to 0..255."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
