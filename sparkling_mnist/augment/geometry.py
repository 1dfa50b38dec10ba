"""Geometric effects: ``shift``, ``rotate`` and ``warp``.

Every effect first draws each row's random parameters from that row's generator
(``draw_*`` functions, public so that tests and notebooks can reproduce a row),
then transforms the whole batch with numpy. Rotation and warp resample with
bilinear interpolation and zero fill outside the image (scikit-image's
``order=1, mode='constant', cval=0``), then go through :mod:`.sharpen`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import (
    IMAGE_SIDE,
    FloatBatch,
    UInt8Batch,
    row_blocks,
    translate_batch,
    validate_batch,
    validate_generators,
)
from sparkling_mnist.augment.gaussian import gaussian_blur_batch
from sparkling_mnist.augment.sharpen import (
    SharpenParams,
    draw_sharpen_mode,
    sharpen_batch,
)

# Row and column offsets of the four shift directions: up, down, left, right.
SHIFT_DIRECTIONS: tuple[tuple[int, int], ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))

_CENTRE = (IMAGE_SIDE - 1) / 2.0


@dataclass(frozen=True)
class ShiftParams:
    """Settings of ``shift``.

    Attributes:
        distance: how many pixels the image moves, up, down, left or right with
            equal chance (default 1).
    """

    distance: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.distance < IMAGE_SIDE:
            raise ValueError(f"ShiftParams.distance must be in [1, {IMAGE_SIDE - 1}], got {self.distance}")


@dataclass(frozen=True)
class RotateParams:
    """Settings of ``rotate``.

    Attributes:
        sigma_degrees: standard deviation of the Normal(0, sigma) rotation angle,
            degrees (default 8).
        min_degrees: rotations smaller than this in magnitude leave the image
            untouched, unsharpened (default 1).
        sharpen: how the rotated image is sharpened.
    """

    sigma_degrees: float = 8.0
    min_degrees: float = 1.0
    sharpen: SharpenParams = field(default_factory=SharpenParams)

    def __post_init__(self) -> None:
        if self.sigma_degrees < 0:
            raise ValueError(f"RotateParams.sigma_degrees must be >= 0, got {self.sigma_degrees}")
        if self.min_degrees < 0:
            raise ValueError(f"RotateParams.min_degrees must be >= 0, got {self.min_degrees}")


@dataclass(frozen=True)
class WarpParams:
    """Settings of ``warp``: an elastic distortion (Simard et al., ICDAR 2003).

    Each row draws two Uniform(-1, 1) noise images, one per axis, smooths them with
    a Gaussian of ``sigma`` pixels and scales them by ``alpha`` into a displacement
    field; with the defaults each displacement component has an RMS of about
    1.7 pixels.

    Attributes:
        alpha: displacement scale, pixels (default 34, Simard's MNIST value).
        sigma: smoothness of the field, pixels (default 4, Simard's MNIST value).
        sharpen: how the warped image is sharpened.
    """

    alpha: float = 34.0
    sigma: float = 4.0
    sharpen: SharpenParams = field(default_factory=SharpenParams)

    def __post_init__(self) -> None:
        if self.alpha < 0:
            raise ValueError(f"WarpParams.alpha must be >= 0, got {self.alpha}")
        if not self.sigma > 0:
            raise ValueError(f"WarpParams.sigma must be > 0, got {self.sigma}")


DEFAULT_SHIFT = ShiftParams()
DEFAULT_ROTATE = RotateParams()
DEFAULT_WARP = WarpParams()


def draw_shift(rng: np.random.Generator, params: ShiftParams) -> tuple[int, int]:
    """Draw one row's ``(row_offset, col_offset)``: up, down, left or right."""
    d_row, d_col = SHIFT_DIRECTIONS[int(rng.integers(len(SHIFT_DIRECTIONS)))]
    return d_row * params.distance, d_col * params.distance


def draw_rotate_angle(rng: np.random.Generator, params: RotateParams) -> float:
    """Draw one row's counter-clockwise angle in degrees, ~ Normal(0, sigma)."""
    return float(rng.normal(0.0, params.sigma_degrees))


def draw_warp_noise(rng: np.random.Generator, params: WarpParams) -> NDArray[np.float64]:
    """Draw one row's raw ``(2, 28, 28)`` Uniform(-1, 1) noise (row then column axis).

    The displacement field is ``alpha * gaussian(noise, sigma)``; see
    :func:`warp_displacements`.
    """
    del params  # the raw noise does not depend on the settings; kept for a uniform signature
    return rng.uniform(-1.0, 1.0, size=(2, IMAGE_SIDE, IMAGE_SIDE))


def warp_displacements(noise: NDArray[np.float64], params: WarpParams) -> NDArray[np.float64]:
    """Turn ``(..., 2, 28, 28)`` raw noise into displacement fields, in pixels."""
    displacement: NDArray[np.float64] = params.alpha * gaussian_blur_batch(noise, params.sigma)
    return displacement


def bilinear_sample(images: UInt8Batch, rows: NDArray[np.float64], cols: NDArray[np.float64]) -> FloatBatch:
    """Sample each image at its own fractional coordinates, bilinearly, zero outside.

    Output pixel ``(i, r, c)`` is image ``i`` read at ``(rows[i, r, c], cols[i, r,
    c])``; neighbours outside the image count as 0, which is
    ``scipy.ndimage.map_coordinates(order=1, mode='grid-constant')`` and what
    ``skimage.transform.warp(order=1, mode='constant', cval=0)`` computes.

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch.
        rows: ``(N, 28, 28)`` input row coordinates.
        cols: ``(N, 28, 28)`` input column coordinates.

    Returns:
        ``(N, 28, 28)`` ``float64`` samples on the 0..255 scale.
    """
    n = images.shape[0]
    # One zero pixel around each image; indices clipped into [-1, 28] then land on
    # it, which is exactly "zero outside" without per-corner masks.
    padded_side = IMAGE_SIDE + 2
    flat = np.pad(images, ((0, 0), (1, 1), (1, 1))).astype(np.float64).ravel()
    row0 = np.floor(rows)
    col0 = np.floor(cols)
    row_frac = rows - row0
    col_frac = cols - col0
    base = (np.arange(n) * padded_side * padded_side).reshape((n,) + (1,) * (rows.ndim - 1))

    def padded_index(start: NDArray[np.float64], step: int) -> NDArray[np.intp]:
        return np.clip(start + step, -1, IMAGE_SIDE).astype(np.intp) + 1

    top = base + padded_index(row0, 0) * padded_side
    bottom = base + padded_index(row0, 1) * padded_side
    left = padded_index(col0, 0)
    right = padded_index(col0, 1)
    upper = flat[top + left]
    upper += col_frac * (flat[top + right] - upper)
    lower = flat[bottom + left]
    lower += col_frac * (flat[bottom + right] - lower)
    sampled: FloatBatch = upper + row_frac * (lower - upper)
    return sampled


def shift_batch(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    params: ShiftParams = DEFAULT_SHIFT,
) -> UInt8Batch:
    """Move each image ``params.distance`` pixels up, down, left or right.

    Ink pushed over the border is lost; the uncovered edge is 0.

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        rngs: one generator per row (see ``row_generators``).
        params: shift settings.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch.

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if ``images`` is not ``(N, 28, 28)`` ``uint8`` or ``len(rngs) != N``.
    """
    images = validate_batch(images)
    validate_generators(rngs, images.shape[0])
    offsets = [draw_shift(rng, params) for rng in rngs]
    out = np.empty_like(images)
    for offset in set(offsets):
        rows = [i for i, o in enumerate(offsets) if o == offset]
        out[rows] = translate_batch(images[rows], *offset)
    return out


def rotation_coordinates(
    angles_degrees: NDArray[np.float64],
) -> tuple[FloatBatch, FloatBatch]:
    """Input coordinates that rotate images counter-clockwise about their centre.

    This is the inverse map of ``skimage.transform.rotate`` (centre 13.5, 13.5).
    Rotating about the centre on the 28x28 grid equals rotating onto a grown
    canvas and cropping its border back symmetrically, without the half-pixel
    offset an odd-sized grown canvas would introduce.

    Args:
        angles_degrees: ``(N,)`` angles.

    Returns:
        ``(rows, cols)``, each ``(N, 28, 28)``.
    """
    theta = np.deg2rad(angles_degrees)[:, None, None]
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    side = np.arange(IMAGE_SIDE, dtype=np.float64)
    d_row = (side - _CENTRE)[None, :, None]
    d_col = (side - _CENTRE)[None, None, :]
    cols = cos_t * d_col - sin_t * d_row + _CENTRE
    rows = sin_t * d_col + cos_t * d_row + _CENTRE
    return rows, cols


def rotate_batch(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    params: RotateParams = DEFAULT_ROTATE,
) -> UInt8Batch:
    """Rotate each image by a random Normal(0, sigma) angle, then sharpen it.

    Per row, the angle is drawn, then the sharpen mode (both always, so a row's
    stream does not depend on the angle). Rows whose angle is below
    ``params.min_degrees`` in magnitude come back unchanged.

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        rngs: one generator per row (see ``row_generators``).
        params: rotation and sharpening settings.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch.

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if ``images`` is not ``(N, 28, 28)`` ``uint8`` or ``len(rngs) != N``.
    """
    images = validate_batch(images)
    validate_generators(rngs, images.shape[0])
    angles = np.empty(len(rngs), dtype=np.float64)
    modes = np.empty(len(rngs), dtype=np.int8)
    for i, rng in enumerate(rngs):
        angles[i] = draw_rotate_angle(rng, params)
        modes[i] = draw_sharpen_mode(rng, params.sharpen)
    out = images.copy()
    moving = np.flatnonzero(np.abs(angles) >= params.min_degrees)
    for block in row_blocks(len(moving)):
        rows = moving[block]
        sources = images[rows]
        sample_rows, sample_cols = rotation_coordinates(angles[rows])
        out[rows] = sharpen_batch(
            bilinear_sample(sources, sample_rows, sample_cols), sources, modes[rows], params.sharpen
        )
    return out


def warp_batch(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    params: WarpParams = DEFAULT_WARP,
) -> UInt8Batch:
    """Distort each image with its own random smooth displacement field, then sharpen.

    Per row, the ``(2, 28, 28)`` noise is drawn, then the sharpen mode. Output
    pixel ``(r, c)`` reads the input at ``(r + d_row, c + d_col)``.

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        rngs: one generator per row (see ``row_generators``).
        params: field and sharpening settings.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch.

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if ``images`` is not ``(N, 28, 28)`` ``uint8`` or ``len(rngs) != N``.
    """
    images = validate_batch(images)
    n = images.shape[0]
    validate_generators(rngs, n)
    noise = np.empty((n, 2, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float64)
    modes = np.empty(n, dtype=np.int8)
    for i, rng in enumerate(rngs):
        noise[i] = draw_warp_noise(rng, params)
        modes[i] = draw_sharpen_mode(rng, params.sharpen)
    out = np.empty_like(images)
    side = np.arange(IMAGE_SIDE, dtype=np.float64)
    for rows in row_blocks(n):
        displacement = warp_displacements(noise[rows], params)
        sample_rows = side[None, :, None] + displacement[:, 0]
        sample_cols = side[None, None, :] + displacement[:, 1]
        out[rows] = sharpen_batch(
            bilinear_sample(images[rows], sample_rows, sample_cols), images[rows], modes[rows], params.sharpen
        )
    return out
