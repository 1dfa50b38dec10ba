"""Photometric effect ``jitter``: a random contrast and brightness per row (garments).

A Fashion-MNIST garment is a grey photograph whose fabric may be lighter or darker,
flatter or more contrasted than the training images; ``jitter`` draws a contrast
factor and a brightness offset per row from its own stream and applies them to the
image with a compiled per-image kernel (:func:`jitter_into`); :mod:`.effects` runs it
over batches, alone or as a step of ``garments``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import IMAGE_SIDE, UInt8Batch
from sparkling_mnist.augment.sharpen import grey_level
from sparkling_mnist.augment.stream import RowStream, StreamState, next_between


@dataclass(frozen=True)
class JitterParams:
    """Settings of ``jitter``: ``out = round((x - mean) * c + mean + b)``, clipped to 0..255.

    ``mean`` is the row's mean grey level (every pixel, background included), ``c``
    uniform in ``[1 - contrast, 1 + contrast]`` and ``b`` uniform in ``[-brightness,
    brightness]``; rounding is half to even.

    The background is kept black by default (``keep_background``): every
    Fashion-MNIST image, train and test, has an exactly black background around the
    garment, so greying it would teach a model a canvas it never sees, and the
    contrast term alone would lift it by ``mean * (1 - c)`` (up to about 15 grey
    levels with the defaults). Only pixels that are 0 before stay 0; the garment
    itself is jittered whole.

    Attributes:
        contrast: the contrast factor's half range, ``0 <= contrast < 1`` (default 0.2).
        brightness: the offset's half range, grey levels, ``0..255`` (default 20).
        keep_background: pixels that are 0 stay 0 (default true).
    """

    contrast: float = 0.2
    brightness: float = 20.0
    keep_background: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.contrast < 1.0:
            raise ValueError(f"JitterParams.contrast must be in [0, 1), got {self.contrast}")
        if not 0.0 <= self.brightness <= 255.0:
            raise ValueError(f"JitterParams.brightness must be in [0, 255], got {self.brightness}")

    def packed(self) -> NDArray[np.float64]:
        """``(contrast, brightness, keep_background)`` for the kernels."""
        return np.array([self.contrast, self.brightness, float(self.keep_background)])


DEFAULT_JITTER = JitterParams()


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
