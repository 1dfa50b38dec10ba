"""Photometric effect ``jitter``: a random contrast and brightness per row (garments).

A Fashion-MNIST garment is a grey photograph whose fabric may be lighter or darker,
flatter or more contrasted than the training images; ``jitter`` draws a contrast
factor and a brightness offset per row from its own stream and applies them to the
image with a compiled per-image kernel (:func:`jitter_into`); :mod:`.effects` runs it
over batches, alone or as a step of ``garments``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import IMAGE_SIDE, UInt8Batch
from sparkling_mnist.augment.params import JitterParams
from sparkling_mnist.augment.sharpen import grey_level
from sparkling_mnist.augment.stream import RowStream, StreamState, next_between


@njit(cache=True, nogil=True)
def next_jitter(state: StreamState, packed: NDArray[np.float64]) -> tuple[float, float]:
    """Draw one row's ``(contrast_factor, brightness_offset)``: two uniforms."""
    factor = next_between(state, 1.0 - packed[0], 1.0 + packed[0])
    offset = next_between(state, -packed[1], packed[1])
    return factor, offset


def draw_jitter(stream: RowStream, params: JitterParams) -> tuple[float, float]:
    """Draw one row's contrast factor and brightness offset (grey levels)."""
    factor, offset = next_jitter(stream.state, params.packed())
    return float(factor), float(offset)


@njit(cache=True, nogil=True)
def jitter_into(image: UInt8Batch, state: StreamState, packed: NDArray[np.float64], out: UInt8Batch) -> None:
    """The ``jitter`` effect on one row."""
    factor, offset = next_jitter(state, packed)
    total = 0.0  # integers below 2**53: the same exact sum as numpy's, in any order
    for r in range(IMAGE_SIDE):
        for c in range(IMAGE_SIDE):
            total += float(image[r, c])
    mean = total / float(IMAGE_SIDE * IMAGE_SIDE)
    keep_background = packed[2] != 0.0
    for r in range(IMAGE_SIDE):
        for c in range(IMAGE_SIDE):
            value = image[r, c]
            if keep_background and value == 0:
                out[r, c] = 0
            else:
                out[r, c] = grey_level((float(value) - mean) * factor + mean + offset)
