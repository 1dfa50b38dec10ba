"""Noise effects: ``scratches`` (stray pen lines), ``blotches`` (ink wiped away) and
``erase`` (a rectangle hidden, for garments).

Each row draws a noise image that is combined with the digit: scratches by
``max`` (lines add ink), blotches by ``min`` (discs of 0 remove ink). Lines are
rasterised with the integer Bresenham rule of ``skimage.draw.line`` and discs
with the arithmetic of ``skimage.draw.disk``, in compiled per-image kernels.
``erase`` overwrites one random rectangle with a constant grey or with noise.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import IMAGE_SIDE, UInt8Batch
from sparkling_mnist.augment.params import BlotchesParams, EraseParams, ScratchesParams
from sparkling_mnist.augment.stream import RowStream, StreamState, next_between, next_integer, next_uniform

_LAST = IMAGE_SIDE - 1


@njit(cache=True, nogil=True)
def next_scratches(state: StreamState, packed: NDArray[np.float64]) -> NDArray[np.int64]:
    """Draw one row's lines as ``(k, 5)`` ``(r0, c0, r1, c1, grey)``.

    The count, then per line five uniforms: start row and column (a uniform pixel),
    length (uniform in ``[min_length, max_length]``), direction (uniform angle) and
    grey level (uniform integer in ``min_intensity..max_intensity``). The end is
    rounded and clipped to the image.
    """
    count = next_integer(state, int(packed[0]), int(packed[1]) + 1)
    lines = np.empty((count, 5), dtype=np.int64)
    for k in range(count):
        row = math.floor(next_uniform(state) * IMAGE_SIDE)
        col = math.floor(next_uniform(state) * IMAGE_SIDE)
        length = packed[2] + next_uniform(state) * (packed[3] - packed[2])
        angle = next_uniform(state) * (2.0 * math.pi)
        level = packed[4] + math.floor(next_uniform(state) * (packed[5] - packed[4] + 1.0))
        lines[k, 0], lines[k, 1] = row, col
        lines[k, 2] = min(max(np.rint(row + length * math.sin(angle)), 0.0), _LAST)
        lines[k, 3] = min(max(np.rint(col + length * math.cos(angle)), 0.0), _LAST)
        lines[k, 4] = level
    return lines


def draw_scratches(stream: RowStream, params: ScratchesParams) -> NDArray[np.int64]:
    """Draw one row's lines: a ``(k, 5)`` array of ``(r0, c0, r1, c1, grey)``."""
    lines: NDArray[np.int64] = next_scratches(stream.state, params.packed())
    return lines


@njit(cache=True, nogil=True)
def next_blotches(state: StreamState, packed: NDArray[np.float64]) -> NDArray[np.float64]:
    """Draw one row's discs as ``(k, 3)`` ``(row, col, radius)``: count, centres, radii."""
    count = next_integer(state, int(packed[0]), int(packed[1]) + 1)
    discs = np.empty((count, 3))
    for k in range(count):
        discs[k, 0] = next_between(state, packed[4], _LAST - packed[4])
        discs[k, 1] = next_between(state, packed[4], _LAST - packed[4])
    for k in range(count):
        discs[k, 2] = next_between(state, packed[2], packed[3])
    return discs


def draw_blotches(stream: RowStream, params: BlotchesParams) -> NDArray[np.float64]:
    """Draw one row's discs: a ``(k, 3)`` array of ``(row, col, radius)``."""
    discs: NDArray[np.float64] = next_blotches(stream.state, params.packed())
    return discs


@njit(cache=True, nogil=True)
def draw_line_into(image: UInt8Batch, line: NDArray[np.int64]) -> None:
    """Raise the pixels of line ``(r0, c0, r1, c1, grey)`` to at least its grey level.

    ``skimage.draw.line``'s Bresenham rule in closed form: along the major axis step
    ``k`` (``0..major``) the minor offset is ``floor((2 * minor * k + major) / (2 *
    major))``, i.e. ``k * minor / major`` rounded half up. The major axis is the row
    axis only when it is strictly longer.
    """
    r0, c0, r1, c1 = line[0], line[1], line[2], line[3]
    level = np.uint8(line[4])
    d_row, d_col = r1 - r0, c1 - c0
    steep = abs(d_row) > abs(d_col)
    major = abs(d_row) if steep else abs(d_col)
    minor = abs(d_col) if steep else abs(d_row)
    row_step = 1 if d_row > 0 else -1
    col_step = 1 if d_col > 0 else -1
    for k in range(major + 1):
        offset = (2 * minor * k + major) // max(2 * major, 1)
        row = r0 + row_step * (k if steep else offset)
        col = c0 + col_step * (offset if steep else k)
        image[row, col] = max(image[row, col], level)


@njit(cache=True, nogil=True)
def wipe_disk_into(image: UInt8Batch, disc: NDArray[np.float64]) -> None:
    """Set the pixels of disc ``(row, col, radius)`` to 0, with ``skimage.draw.disk``'s arithmetic.

    A pixel is inside when ``(dr / radius)**2 + (dc / radius)**2 < 1``, the offsets
    taken, as scikit-image does, relative to the disc's bounding box corner, so that
    boundary pixels agree bit for bit.
    """
    centre_r, centre_c, radius = disc[0], disc[1], disc[2]
    corner_r = max(math.ceil(centre_r - radius), 0.0)
    corner_c = max(math.ceil(centre_c - radius), 0.0)
    for r in range(IMAGE_SIDE):
        d_row = ((r - corner_r) - (centre_r - corner_r)) / radius
        for c in range(IMAGE_SIDE):
            d_col = ((c - corner_c) - (centre_c - corner_c)) / radius
            if d_row**2 + d_col**2 < 1:
                image[r, c] = 0


@njit(cache=True, nogil=True)
def scratches_into(image: UInt8Batch, state: StreamState, packed: NDArray[np.float64], out: UInt8Batch) -> None:
    """The ``scratches`` effect on one row."""
    out[:, :] = image
    lines = next_scratches(state, packed)
    for k in range(lines.shape[0]):
        draw_line_into(out, lines[k])


@njit(cache=True, nogil=True)
def blotches_into(image: UInt8Batch, state: StreamState, packed: NDArray[np.float64], out: UInt8Batch) -> None:
    """The ``blotches`` effect on one row."""
    out[:, :] = image
    discs = next_blotches(state, packed)
    for k in range(discs.shape[0]):
        wipe_disk_into(out, discs[k])


@njit(cache=True, nogil=True)
def _whole_side(length: float) -> int:
    """A rectangle side rounded half up to whole pixels, in ``1..28``."""
    return min(max(math.floor(length + 0.5), 1), IMAGE_SIDE)


@njit(cache=True, nogil=True)
def next_erase_box(state: StreamState, packed: NDArray[np.float64]) -> tuple[int, int, int, int]:
    """Draw one row's rectangle ``(top, left, height, width)``; height 0 when it is not erased.

    Five draws, always: whether, the area, the log aspect ratio, the top, the left.
    """
    erased = next_uniform(state) < packed[0]
    area = next_between(state, packed[1], packed[2]) * float(IMAGE_SIDE * IMAGE_SIDE)
    aspect = math.exp(next_between(state, packed[3], packed[4]))
    height = _whole_side(math.sqrt(area * aspect))
    width = _whole_side(math.sqrt(area / aspect))
    top = next_integer(state, 0, IMAGE_SIDE - height + 1)
    left = next_integer(state, 0, IMAGE_SIDE - width + 1)
    if not erased:
        return top, left, 0, 0
    return top, left, height, width


@njit(cache=True, nogil=True)
def next_erase_fill(state: StreamState, packed: NDArray[np.float64], height: int, width: int) -> NDArray[np.uint8]:
    """The ``(height, width)`` fill: the grey level, or one uniform draw per pixel, row by row."""
    patch = np.empty((height, width), dtype=np.uint8)
    for r in range(height):
        for c in range(width):
            patch[r, c] = next_integer(state, 0, 256) if packed[5] else np.uint8(packed[6])
    return patch


def draw_erase(stream: RowStream, params: EraseParams) -> tuple[tuple[int, int, int, int], NDArray[np.uint8]]:
    """Draw one row's rectangle ``(top, left, height, width)`` and its ``(height, width)`` fill.

    A row that is not erased has height and width 0 and an empty fill.
    """
    packed = params.packed()
    top, left, height, width = next_erase_box(stream.state, packed)
    fill: NDArray[np.uint8] = next_erase_fill(stream.state, packed, height, width)
    return (int(top), int(left), int(height), int(width)), fill


@njit(cache=True, nogil=True)
def erase_into(image: UInt8Batch, state: StreamState, packed: NDArray[np.float64], out: UInt8Batch) -> None:
    """The ``erase`` effect on one row."""
    out[:, :] = image
    top, left, height, width = next_erase_box(state, packed)
    out[top : top + height, left : left + width] = next_erase_fill(state, packed, height, width)
