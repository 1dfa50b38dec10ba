"""Stroke-width effects: ``bold``, ``dilate``, ``erode`` and ``erodedilate``.

Grey dilation / erosion with a ``k x k`` square compute, per pixel, the max / min
over the square's window, with ``skimage.morphology.dilation`` / ``erosion``'s
border (``mode='reflect'``). An odd square is centred on the pixel. An even square
has no centre cell: each row draws which of its four central cells sits on the
pixel (scikit-image always uses the one whose window is ``{-(k/2 - 1) .. k/2}``,
e.g. ``{0, +1}`` for ``k = 2``), so the stroke grows or shrinks towards a random
side. Filters run on the whole batch as separable ``scipy.ndimage`` max / min
filters of size ``(1, k, k)``, grouped by square, so images never mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage as ndi
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import (
    IMAGE_SIDE,
    UInt8Batch,
    translate_batch,
    validate_batch,
    validate_generators,
)
from sparkling_mnist.augment.geometry import SHIFT_DIRECTIONS


@dataclass(frozen=True)
class BoldParams:
    """Settings of ``bold``: the max of the image and copies shifted by one pixel.

    Each row takes between 1 and ``max_copies`` distinct directions out of up,
    down, left and right (count and directions uniform at random).

    Attributes:
        max_copies: most shifted copies per row, 1..4 (default 2).
    """

    max_copies: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.max_copies <= len(SHIFT_DIRECTIONS):
            raise ValueError(f"BoldParams.max_copies must be in [1, 4], got {self.max_copies}")


def _check_size_range(owner: str, min_size: int, max_size: int) -> None:
    if not 1 <= min_size <= max_size <= IMAGE_SIDE:
        raise ValueError(
            f"{owner} needs 1 <= min_size <= max_size <= {IMAGE_SIDE}, got min_size={min_size}, max_size={max_size}"
        )


@dataclass(frozen=True)
class DilateParams:
    """Settings of ``dilate``: grey dilation with a random square footprint.

    Each row draws the square's side uniformly from ``min_size..max_size`` and,
    for an even side, its anchor (see the module docstring).

    Attributes:
        min_size: smallest square side, pixels (default 2).
        max_size: largest square side, pixels (default 3).
    """

    min_size: int = 2
    max_size: int = 3

    def __post_init__(self) -> None:
        _check_size_range("DilateParams", self.min_size, self.max_size)


@dataclass(frozen=True)
class ErodeParams:
    """Settings of ``erode``: grey erosion with a random square footprint.

    Each row draws the square's side uniformly from ``min_size..max_size`` and,
    for an even side, its anchor (see the module docstring).

    Attributes:
        min_size: smallest square side, pixels (default 2).
        max_size: largest square side, pixels (default 2). On real MNIST digits a
            2x2 erosion keeps about half of the ink and a 3x3 one about 13 %,
            which erases many digits; so by default the square is 2x2 and only
            its anchor is random.
    """

    min_size: int = 2
    max_size: int = 2

    def __post_init__(self) -> None:
        _check_size_range("ErodeParams", self.min_size, self.max_size)


@dataclass(frozen=True)
class ErodeDilateParams:
    """Settings of ``erodedilate``: each row is dilated or eroded at random.

    Attributes:
        dilate_prob: chance of dilation rather than erosion (default 0.5).
        dilate: dilation settings.
        erode: erosion settings.
    """

    dilate_prob: float = 0.5
    dilate: DilateParams = field(default_factory=DilateParams)
    erode: ErodeParams = field(default_factory=ErodeParams)

    def __post_init__(self) -> None:
        if not 0.0 <= self.dilate_prob <= 1.0:
            raise ValueError(f"ErodeDilateParams.dilate_prob must be in [0, 1], got {self.dilate_prob}")


DEFAULT_BOLD = BoldParams()
DEFAULT_DILATE = DilateParams()
DEFAULT_ERODE = ErodeParams()
DEFAULT_ERODEDILATE = ErodeDilateParams()


def draw_bold_directions(rng: np.random.Generator, params: BoldParams) -> NDArray[np.bool_]:
    """Draw one row's shift directions as a ``(4,)`` mask over up, down, left, right."""
    count = int(rng.integers(1, params.max_copies + 1))
    chosen = rng.choice(len(SHIFT_DIRECTIONS), size=count, replace=False)
    mask = np.zeros(len(SHIFT_DIRECTIONS), dtype=np.bool_)
    mask[chosen] = True
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

    def scipy_origin(self) -> tuple[int, int, int]:
        """Return the ``origin`` of a ``(1, k, k)`` ``scipy.ndimage`` filter."""
        centre = -(self.size // 2)  # scipy's window start at origin 0
        return 0, centre - self.row_start, centre - self.col_start


def draw_square(rng: np.random.Generator, min_size: int, max_size: int) -> Square:
    """Draw one row's square: the side, then the anchor (drawn, unused, if odd)."""
    size = int(rng.integers(min_size, max_size + 1))
    corner = int(rng.integers(4))
    start = -(size // 2)
    if size % 2:
        return Square(size, start, start)
    return Square(size, start + corner // 2, start + corner % 2)


def draw_erodedilate(rng: np.random.Generator, params: ErodeDilateParams) -> tuple[bool, Square]:
    """Draw one row's ``(dilate?, square)``: the choice first, then the square."""
    dilate = bool(rng.random() < params.dilate_prob)
    sizes = params.dilate if dilate else params.erode
    return dilate, draw_square(rng, sizes.min_size, sizes.max_size)


def square_filter_batch(images: UInt8Batch, squares: Sequence[Square], *, dilate: bool) -> UInt8Batch:
    """Grey-dilate (or erode) image ``i`` with ``squares[i]``.

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch.
        squares: one square per image.
        dilate: dilation (window max) if true, erosion (window min) otherwise.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch.
    """
    out = images.copy()
    rank_filter = ndi.maximum_filter if dilate else ndi.minimum_filter
    keys = np.array([(s.size, s.row_start, s.col_start) for s in squares], dtype=np.int64).reshape(-1, 3)
    distinct, group = np.unique(keys, axis=0, return_inverse=True)
    for index, (size, row_start, col_start) in enumerate(distinct.tolist()):
        rows = group.ravel() == index
        out[rows] = rank_filter(
            images[rows],
            size=(1, size, size),
            origin=Square(size, row_start, col_start).scipy_origin(),
            mode="reflect",
        )
    return out


def bold_batch(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    params: BoldParams = DEFAULT_BOLD,
) -> UInt8Batch:
    """Make strokes fatter: the max of an image and 1..``max_copies`` shifted copies.

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        rngs: one generator per row (see ``row_generators``).
        params: bold settings.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch; no pixel is darker than in the input.

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if ``images`` is not ``(N, 28, 28)`` ``uint8`` or ``len(rngs) != N``.
    """
    images = validate_batch(images)
    validate_generators(rngs, images.shape[0])
    masks = np.array([draw_bold_directions(rng, params) for rng in rngs], dtype=np.bool_).reshape(
        -1, len(SHIFT_DIRECTIONS)
    )
    out = images.copy()
    for direction, (d_row, d_col) in enumerate(SHIFT_DIRECTIONS):
        rows = masks[:, direction]
        if rows.any():
            out[rows] = np.maximum(out[rows], translate_batch(images[rows], d_row, d_col))
    return out


def dilate_batch(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    params: DilateParams = DEFAULT_DILATE,
) -> UInt8Batch:
    """Grey-dilate each image with a random square (thicker, brighter strokes).

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        rngs: one generator per row (see ``row_generators``).
        params: footprint size range.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch; no pixel decreases.

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if ``images`` is not ``(N, 28, 28)`` ``uint8`` or ``len(rngs) != N``.
    """
    images = validate_batch(images)
    validate_generators(rngs, images.shape[0])
    squares = [draw_square(rng, params.min_size, params.max_size) for rng in rngs]
    return square_filter_batch(images, squares, dilate=True)


def erode_batch(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    params: ErodeParams = DEFAULT_ERODE,
) -> UInt8Batch:
    """Grey-erode each image with a random square footprint (thinner strokes).

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        rngs: one generator per row (see ``row_generators``).
        params: footprint size range.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch; no pixel increases.

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if ``images`` is not ``(N, 28, 28)`` ``uint8`` or ``len(rngs) != N``.
    """
    images = validate_batch(images)
    validate_generators(rngs, images.shape[0])
    squares = [draw_square(rng, params.min_size, params.max_size) for rng in rngs]
    return square_filter_batch(images, squares, dilate=False)


def erodedilate_batch(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    params: ErodeDilateParams = DEFAULT_ERODEDILATE,
) -> UInt8Batch:
    """Dilate or erode each image, the choice and the square size random per row.

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        rngs: one generator per row (see ``row_generators``).
        params: choice probability and both size ranges.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch.

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if ``images`` is not ``(N, 28, 28)`` ``uint8`` or ``len(rngs) != N``.
    """
    images = validate_batch(images)
    validate_generators(rngs, images.shape[0])
    draws = [draw_erodedilate(rng, params) for rng in rngs]
    out = images.copy()
    for dilate in (True, False):
        rows = [i for i, (grow, _) in enumerate(draws) if grow is dilate]
        if rows:
            out[rows] = square_filter_batch(images[rows], [draws[i][1] for i in rows], dilate=dilate)
    return out
