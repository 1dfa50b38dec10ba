"""Noise effects: ``scratches`` (stray pen lines) and ``blotches`` (ink wiped away).

Each row draws a noise image that is combined with the digit: scratches by
``max`` (lines add ink), blotches by ``min`` (discs of 0 remove ink). Lines are
rasterised with the integer Bresenham rule of ``skimage.draw.line`` and discs
with the arithmetic of ``skimage.draw.disk``, both vectorised over the batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import (
    IMAGE_SIDE,
    UInt8Batch,
    validate_batch,
    validate_generators,
)

_LAST = IMAGE_SIDE - 1


@dataclass(frozen=True)
class ScratchesParams:
    """Settings of ``scratches``: random one-pixel lines added to the image.

    A line starts at a uniform pixel, runs ``Uniform(min_length, max_length)``
    pixels in a uniform direction (its end rounded and clipped to the image) and
    has a uniform integer grey level in ``min_intensity..max_intensity``.

    Attributes:
        min_lines: fewest lines per row (default 1).
        max_lines: most lines per row (default 3).
        min_length: shortest line, pixels (default 5).
        max_length: longest line, pixels (default 15).
        min_intensity: dimmest line grey level (default 128).
        max_intensity: brightest line grey level (default 255).
    """

    min_lines: int = 1
    max_lines: int = 3
    min_length: float = 5.0
    max_length: float = 15.0
    min_intensity: int = 128
    max_intensity: int = 255

    def __post_init__(self) -> None:
        if not 0 <= self.min_lines <= self.max_lines:
            raise ValueError(
                f"ScratchesParams needs 0 <= min_lines <= max_lines, got {self.min_lines}, {self.max_lines}"
            )
        if not 0 <= self.min_length <= self.max_length:
            raise ValueError(
                f"ScratchesParams needs 0 <= min_length <= max_length, got {self.min_length}, {self.max_length}"
            )
        if not 0 <= self.min_intensity <= self.max_intensity <= 255:
            raise ValueError(
                "ScratchesParams needs 0 <= min_intensity <= max_intensity <= 255, got "
                f"{self.min_intensity}, {self.max_intensity}"
            )


@dataclass(frozen=True)
class BlotchesParams:
    """Settings of ``blotches``: random discs where the ink is wiped to 0.

    Disc centres are uniform in ``[margin, 27 - margin]`` on both axes, where
    MNIST digits live (they are centred in a 20x20 box), so blotches mostly hit
    ink instead of empty background.

    Attributes:
        min_blobs: fewest discs per row (default 1).
        max_blobs: most discs per row (default 3).
        min_radius: smallest disc radius, pixels (default 1.5).
        max_radius: largest disc radius, pixels (default 3).
        margin: distance of the centres from the border, pixels (default 6; on
            real MNIST digits about 11 % of rows then keep all their ink and the
            median row loses 8 % of it).
    """

    min_blobs: int = 1
    max_blobs: int = 3
    min_radius: float = 1.5
    max_radius: float = 3.0
    margin: float = 6.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_blobs <= self.max_blobs:
            raise ValueError(
                f"BlotchesParams needs 0 <= min_blobs <= max_blobs, got {self.min_blobs}, {self.max_blobs}"
            )
        if not 0 < self.min_radius <= self.max_radius:
            raise ValueError(
                f"BlotchesParams needs 0 < min_radius <= max_radius, got {self.min_radius}, {self.max_radius}"
            )
        if not 0 <= self.margin <= _LAST / 2:
            raise ValueError(f"BlotchesParams.margin must be in [0, {_LAST / 2}], got {self.margin}")


DEFAULT_SCRATCHES = ScratchesParams()
DEFAULT_BLOTCHES = BlotchesParams()


def draw_scratch_uniforms(rng: np.random.Generator, params: ScratchesParams) -> NDArray[np.float64]:
    """Draw one row's raw scratch numbers: the line count, then ``(k, 5)`` uniforms.

    Drawing plain uniforms per row is cheap; :func:`scratch_lines` turns them into
    lines for many rows at once.
    """
    count = int(rng.integers(params.min_lines, params.max_lines + 1))
    return rng.random((count, 5))


def scratch_lines(uniforms: NDArray[np.float64], params: ScratchesParams) -> NDArray[np.int64]:
    """Turn ``(k, 5)`` uniforms into ``(k, 5)`` lines ``(r0, c0, r1, c1, grey)``.

    Columns of ``uniforms``: start row, start column (uniform pixel), length
    (uniform in ``[min_length, max_length]``), direction (uniform angle) and grey
    level (uniform integer in ``min_intensity..max_intensity``).
    """
    starts = np.floor(uniforms[:, :2] * IMAGE_SIDE)
    length = params.min_length + uniforms[:, 2] * (params.max_length - params.min_length)
    angle = uniforms[:, 3] * (2.0 * math.pi)
    ends = np.clip(np.rint(starts + length[:, None] * np.column_stack([np.sin(angle), np.cos(angle)])), 0, _LAST)
    levels = params.min_intensity + np.floor(uniforms[:, 4] * (params.max_intensity - params.min_intensity + 1))
    return np.column_stack([starts, ends, levels]).astype(np.int64).reshape(-1, 5)


def draw_scratches(rng: np.random.Generator, params: ScratchesParams) -> NDArray[np.int64]:
    """Draw one row's lines: a ``(k, 5)`` array of ``(r0, c0, r1, c1, grey)``."""
    return scratch_lines(draw_scratch_uniforms(rng, params), params)


def draw_blotches(rng: np.random.Generator, params: BlotchesParams) -> NDArray[np.float64]:
    """Draw one row's discs: a ``(k, 3)`` array of ``(row, col, radius)``."""
    count = int(rng.integers(params.min_blobs, params.max_blobs + 1))
    centres = rng.uniform(params.margin, _LAST - params.margin, size=(count, 2))
    radii = rng.uniform(params.min_radius, params.max_radius, size=count)
    return np.column_stack([centres, radii]).reshape(count, 3)


def line_pixels(
    lines: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Rasterise many lines at once with ``skimage.draw.line``'s Bresenham rule.

    Along the major axis step ``k`` (``0..major``) the minor offset is
    ``floor((2 * minor * k + major) / (2 * major))``, i.e. ``k * minor / major``
    rounded half up: the closed form of scikit-image's integer error loop. The
    major axis is the row axis only when it is strictly longer.

    Args:
        lines: ``(M, 4)`` integer ``(r0, c0, r1, c1)``.

    Returns:
        ``(line index, rows, cols)`` of every pixel of every line.
    """
    r0, c0, r1, c1 = (lines[:, i] for i in range(4))
    d_row, d_col = r1 - r0, c1 - c0
    steep = np.abs(d_row) > np.abs(d_col)
    major = np.where(steep, np.abs(d_row), np.abs(d_col))
    minor = np.where(steep, np.abs(d_col), np.abs(d_row))
    # scikit-image steps by -1 when the difference is 0, which never matters: k * 0 = 0.
    row_step = np.where(d_row > 0, 1, -1)
    col_step = np.where(d_col > 0, 1, -1)

    counts = major + 1
    line_index = np.repeat(np.arange(lines.shape[0]), counts)
    k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    major_l, minor_l = major[line_index], minor[line_index]
    offset = (2 * minor_l * k + major_l) // np.maximum(2 * major_l, 1)
    steep_l = steep[line_index]
    rows = r0[line_index] + row_step[line_index] * np.where(steep_l, k, offset)
    cols = c0[line_index] + col_step[line_index] * np.where(steep_l, offset, k)
    return line_index, rows, cols


def disk_masks(discs: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Pixel masks of many discs, with ``skimage.draw.disk(shape=(28, 28))`` arithmetic.

    A pixel is inside when ``(dr / radius)**2 + (dc / radius)**2 < 1``, where the
    offsets are taken, as scikit-image does, relative to the disc's bounding box
    corner, so that boundary pixels agree bit for bit.

    Args:
        discs: ``(..., 3)`` ``(centre row, centre col, radius)``.

    Returns:
        ``(..., 28, 28)`` boolean masks.
    """
    centre_r = discs[..., 0, None]
    centre_c = discs[..., 1, None]
    radius = discs[..., 2, None]
    corner_r = np.maximum(np.ceil(centre_r - radius), 0.0)
    corner_c = np.maximum(np.ceil(centre_c - radius), 0.0)
    side = np.arange(IMAGE_SIDE, dtype=np.float64)
    d_row = (side - corner_r) - (centre_r - corner_r)
    d_col = (side - corner_c) - (centre_c - corner_c)
    inside: NDArray[np.bool_] = (d_row / radius)[..., :, None] ** 2 + (d_col / radius)[..., None, :] ** 2 < 1
    return inside


def scratches_batch(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    params: ScratchesParams = DEFAULT_SCRATCHES,
) -> UInt8Batch:
    """Add random straight scratches: ``max(image, lines image)``.

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        rngs: one generator per row (see ``row_generators``).
        params: line count, length and grey level ranges.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch; no pixel decreases.

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if ``images`` is not ``(N, 28, 28)`` ``uint8`` or ``len(rngs) != N``.
    """
    images = validate_batch(images)
    n = images.shape[0]
    validate_generators(rngs, n)
    per_row = [draw_scratch_uniforms(rng, params) for rng in rngs]
    noise = np.zeros_like(images)
    if n:
        lines = scratch_lines(np.concatenate(per_row), params)
        image_of_line = np.repeat(np.arange(n), [len(row) for row in per_row])
        line_index, rows, cols = line_pixels(lines[:, :4])
        levels = lines[line_index, 4].astype(np.uint8)
        np.maximum.at(noise, (image_of_line[line_index], rows, cols), levels)
    scratched: UInt8Batch = np.maximum(images, noise)
    return scratched


def blotches_batch(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    params: BlotchesParams = DEFAULT_BLOTCHES,
) -> UInt8Batch:
    """Wipe random discs of ink away: ``min(image, discs image)``, discs 0, rest 255.

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        rngs: one generator per row (see ``row_generators``).
        params: disc count, radius and placement ranges.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch; no pixel increases.

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if ``images`` is not ``(N, 28, 28)`` ``uint8`` or ``len(rngs) != N``.
    """
    images = validate_batch(images)
    n = images.shape[0]
    validate_generators(rngs, n)
    per_row = [draw_blotches(rng, params) for rng in rngs]
    # Pad rows to the same disc count; `used` masks the padding discs out.
    slots = max((len(row) for row in per_row), default=0)
    discs = np.ones((n, slots, 3), dtype=np.float64)
    used = np.zeros((n, slots), dtype=np.bool_)
    for i, row in enumerate(per_row):
        discs[i, : len(row)] = row
        used[i, : len(row)] = True
    wiped = (disk_masks(discs) & used[:, :, None, None]).any(axis=1)
    noise = np.where(wiped, np.uint8(0), np.uint8(255))
    blotched: UInt8Batch = np.minimum(images, noise)
    return blotched
