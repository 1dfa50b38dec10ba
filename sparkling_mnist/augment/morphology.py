"""Stroke-width effects: ``bold``, ``dilate``, ``erode`` and ``erodedilate``.

Grey dilation / erosion with a ``k x k`` square compute, per pixel, the max / min
over the square's window, with ``skimage.morphology.dilation`` / ``erosion``'s
border (``mode='reflect'``). An odd square is centred on the pixel. An even square
has no centre cell: each row draws which of its four central cells sits on the
pixel (scikit-image always uses the one whose window is ``{-(k/2 - 1) .. k/2}``,
e.g. ``{0, +1}`` for ``k = 2``), so the stroke grows or shrinks towards a random
side. Each row is filtered by a compiled per-image kernel (``*_into``);
:mod:`.effects` runs them over batches, alone or as composite steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import IMAGE_SIDE, UInt8Batch
from sparkling_mnist.augment.geometry import translate_into
from sparkling_mnist.augment.params import SHIFT_DIRECTIONS, BoldParams, DilateParams, ErodeDilateParams, ErodeParams
from sparkling_mnist.augment.stream import RowStream, StreamState, next_integer, next_uniform


@njit(cache=True, nogil=True)
def next_bold_directions(state: StreamState, max_copies: int, mask: NDArray[np.bool_]) -> None:
    """Draw one row's directions into the ``(4,)`` mask: the count, then a partial shuffle."""
    count = next_integer(state, 1, max_copies + 1)
    order = np.arange(4)
    mask[:] = False
    for k in range(count):
        j = next_integer(state, k, 4)
        order[k], order[j] = order[j], order[k]
        mask[order[k]] = True


def draw_bold_directions(stream: RowStream, params: BoldParams) -> NDArray[np.bool_]:
    """Draw one row's shift directions as a ``(4,)`` mask over up, down, left, right."""
    mask = np.zeros(len(SHIFT_DIRECTIONS), dtype=np.bool_)
    next_bold_directions(stream.state, params.max_copies, mask)
    return mask


@dataclass(frozen=True)
class Square:
    """A square footprint placed relative to the pixel it writes.

    Attributes:
        size: side ``k``, pixels.
        row_start: row offset of the window's first row (the window covers
            ``row_start .. row_start + k - 1``).
        col_start: column offset of the window's first column.
    """

    size: int
    row_start: int
    col_start: int


@njit(cache=True, nogil=True)
def next_square(state: StreamState, min_size: int, max_size: int) -> tuple[int, int, int]:
    """Draw one row's square ``(size, row_start, col_start)``: the side, then the anchor.

    The anchor is drawn for odd sides too (and unused), so the stream's length does
    not depend on the side.
    """
    size = next_integer(state, min_size, max_size + 1)
    corner = next_integer(state, 0, 4)
    start = -(size // 2)
    if size % 2:
        return size, start, start
    return size, start + corner // 2, start + corner % 2


@njit(cache=True, nogil=True)
def next_erodedilate(state: StreamState, packed: NDArray[np.float64]) -> tuple[bool, int, int, int]:
    """Draw one row's ``(dilate?, size, row_start, col_start)``: the choice first."""
    dilate = next_uniform(state) < packed[0]
    low, high = (packed[1], packed[2]) if dilate else (packed[3], packed[4])
    size, row_start, col_start = next_square(state, int(low), int(high))
    return dilate, size, row_start, col_start


def draw_square(stream: RowStream, min_size: int, max_size: int) -> Square:
    """Draw one row's square: the side, then the anchor (drawn, unused, if odd)."""
    return Square(*(int(v) for v in next_square(stream.state, min_size, max_size)))


def draw_erodedilate(stream: RowStream, params: ErodeDilateParams) -> tuple[bool, Square]:
    """Draw one row's ``(dilate?, square)``: the choice first, then the square."""
    dilate, size, row_start, col_start = next_erodedilate(stream.state, params.packed())
    return bool(dilate), Square(int(size), int(row_start), int(col_start))


@njit(cache=True, nogil=True)
def _reflect(index: int) -> int:
    """``'reflect'`` border (d c b a | a b c d | d c b a) for an index off by < 28."""
    if index < 0:
        return -index - 1
    if index >= IMAGE_SIDE:
        return 2 * IMAGE_SIDE - index - 1
    return index


@njit(cache=True, nogil=True)
def square_filter_into(  # noqa: PLR0917 - a compiled kernel takes plain numbers
    image: UInt8Batch, size: int, row_start: int, col_start: int, dilate: bool, out: UInt8Batch
) -> None:
    """Grey-dilate (window max) or erode (window min) one image with a square.

    Separable: the extreme over the square is the extreme over its rows of the
    extremes along each row, exactly.
    """
    side = IMAGE_SIDE
    col_index = np.empty(side + size - 1, dtype=np.int64)
    row_index = np.empty(side + size - 1, dtype=np.int64)
    for j in range(side + size - 1):
        col_index[j] = _reflect(j + col_start)
        row_index[j] = _reflect(j + row_start)
    along = np.empty((side, side), dtype=np.uint8)
    for r in range(side):
        for c in range(side):
            best = image[r, col_index[c]]
            for d in range(1, size):
                value = image[r, col_index[c + d]]
                best = max(best, value) if dilate else min(best, value)
            along[r, c] = best
    for r in range(side):
        for c in range(side):
            best = along[row_index[r], c]
            for d in range(1, size):
                value = along[row_index[r + d], c]
                best = max(best, value) if dilate else min(best, value)
            out[r, c] = best


@njit(cache=True, nogil=True)
def bold_into(image: UInt8Batch, state: StreamState, max_copies: int, out: UInt8Batch) -> None:
    """The ``bold`` effect on one row."""
    mask = np.zeros(4, dtype=np.bool_)
    next_bold_directions(state, max_copies, mask)
    moved = np.empty_like(image)
    out[:, :] = image
    for direction in range(4):
        if mask[direction]:
            d_row = -1 if direction == 0 else (1 if direction == 1 else 0)
            d_col = -1 if direction == 2 else (1 if direction == 3 else 0)
            translate_into(image, d_row, d_col, moved)
            for r in range(IMAGE_SIDE):
                for c in range(IMAGE_SIDE):
                    out[r, c] = max(out[r, c], moved[r, c])


@njit(cache=True, nogil=True)
def erodedilate_into(image: UInt8Batch, state: StreamState, packed: NDArray[np.float64], out: UInt8Batch) -> None:
    """The ``erodedilate`` effect on one row."""
    dilate, size, row_start, col_start = next_erodedilate(state, packed)
    square_filter_into(image, size, row_start, col_start, dilate, out)


@njit(cache=True, nogil=True)
def square_into(image: UInt8Batch, state: StreamState, sizes: NDArray[np.int64], dilate: bool, out: UInt8Batch) -> None:
    """The ``dilate`` (or ``erode``) effect on one row; ``sizes`` is ``(min_size, max_size)``."""
    size, row_start, col_start = next_square(state, sizes[0], sizes[1])
    square_filter_into(image, size, row_start, col_start, dilate, out)


def square_sizes(params: DilateParams | ErodeParams) -> NDArray[np.int64]:
    """``(min_size, max_size)`` as the kernels take them."""
    return np.array([params.min_size, params.max_size], dtype=np.int64)
