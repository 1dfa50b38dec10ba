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
            raise ValueError(
                f"ShiftParams.distance must be in [1, {IMAGE_SIDE - 1}], "
                f"got {self.distance}"
            )


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
            raise ValueError(
                f"RotateParams.sigma_degrees must be >= 0, got {self.sigma_degrees}"
            )
        if self.min_degrees < 0:
            raise ValueError(
                f"RotateParams.min_degrees must be >= 0, got {self.min_degrees}"
            )


@dataclass(frozen=True)
class WarpParams:
    """Settings of ``warp``: an elastic distortion (Simard et al., ICDAR 2003).

    Each row draws two Uniform(-1, 1) noise images, one per axis, smooths them with
    a Gaussian of ``sigma`` pixels and scales them by ``alpha`` into a displacement
    field; with the defaults the displacement has an RMS of about 1.7 pixels.

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


def draw_warp_noise(
    rng: np.random.Generator, params: WarpParams
) -> NDArray[np.float64]:
    """Draw one row's raw ``(2, 28, 28)`` Uniform(-1, 1) noise (row then column axis).

    The displacement field is ``alpha * gaussian(noise, sigma)``; see
    :func:`warp_displacements`.
    """
    del (
        params
    )  # the raw noise does not depend on the settings; kept for a uniform signature
    return rng.uniform(-1.0, 1.0, size=(2, IMAGE_SIDE, IMAGE_SIDE))


def warp_displacements(
    noise: NDArray[np.float64], params: WarpParams
) -> NDArray[np.float64]:
    """Turn ``(..., 2, 28, 28)`` raw noise into displacement fields, in pixels."""
    displacement: NDArray[np.float64] = params.alpha * gaussian_blur_batch(
        noise, params.sigma
    )
    return displacement


def bilinear_sample(
    images: UInt8Batch, rows: NDArray[np.float64], cols: NDArray[np.float64]
) -> FloatBatch:
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
    flat = images.reshape(n, -1).astype(np.float64)
    row0 = np.floor(rows)
    col0 = np.floor(cols)
    row_frac = rows - row0
    col_frac = cols - col0
    row0_i = row0.astype(np.intp)
    col0_i = col0.astype(np.intp)
    out = np.zeros(rows.shape, dtype=np.float64)
    for d_row, row_weight in ((0, 1.0 - row_frac), (1, row_frac)):
        for d_col, col_weight in ((0, 1.0 - col_frac), (1, col_frac)):
            r = row0_i + d_row
            c = col0_i + d_col
            inside = (r >= 0) & (r < IMAGE_SIDE) & (c >= 0) & (c < IMAGE_SIDE)
            index = np.where(inside, r * IMAGE_SIDE + c, 0).reshape(n, -1)
            values = np.take_along_axis(flat, index, axis=1).reshape(rows.shape)
            out += np.where(inside, values, 0.0) * (row_weight * col_weight)
    return out


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
        ValueError: on a malformed batch or a generator count different from N.
    """
    images = validate_batch(images)
    validate_generators(rngs, images.shape[0])
    offsets = np.array(
        [draw_shift(rng, params) for rng in rngs], dtype=np.int64
    ).reshape(-1, 2)
    return translate_batch(images, offsets[:, 0], offsets[:, 1])


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
        ValueError: on a malformed batch or a generator count different from N.
    """
    images = validate_batch(images)
    validate_generators(rngs, images.shape[0])
    angles = np.empty(len(rngs), dtype=np.float64)
    modes = np.empty(len(rngs), dtype=np.int8)
    for i, rng in enumerate(rngs):
        angles[i] = draw_rotate_angle(rng, params)
        modes[i] = draw_sharpen_mode(rng, params.sharpen)
    out = images.copy()
    moving = np.abs(angles) >= params.min_degrees
    if moving.any():
        sources = images[moving]
        rows, cols = rotation_coordinates(angles[moving])
        out[moving] = sharpen_batch(
            bilinear_sample(sources, rows, cols), sources, modes[moving], params.sharpen
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
        ValueError: on a malformed batch or a generator count different from N.
    """
    images = validate_batch(images)
    n = images.shape[0]
    validate_generators(rngs, n)
    noise = np.empty((n, 2, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float64)
    modes = np.empty(n, dtype=np.int8)
    for i, rng in enumerate(rngs):
        noise[i] = draw_warp_noise(rng, params)
        modes[i] = draw_sharpen_mode(rng, params.sharpen)
    if n == 0:
        return images.copy()
    displacement = warp_displacements(noise, params)
    side = np.arange(IMAGE_SIDE, dtype=np.float64)
    rows = side[None, :, None] + displacement[:, 0]
    cols = side[None, None, :] + displacement[:, 1]
    return sharpen_batch(
        bilinear_sample(images, rows, cols), images, modes, params.sharpen
    )
