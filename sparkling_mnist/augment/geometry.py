"""Geometric effects: ``shift``, ``rotate`` and ``warp`` (digits); ``flip``,
``translate`` and ``affine`` (garments).

Each row draws its random parameters from its own stream (the ``next_*`` kernels;
the ``draw_*`` wrappers replay them for tests and notebooks), then the row is
transformed by a compiled per-image kernel (``*_into``); :mod:`.effects` runs them
over batches, alone or as composite steps. Rotation, warp and affine resample with
bilinear interpolation and zero fill outside the image (scikit-image's ``order=1,
mode='constant', cval=0``); rotation and warp then go through :mod:`.sharpen`
(thin pen strokes), affine does not (garments are filled shapes).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import IMAGE_SIDE, FloatBatch, UInt8Batch
from sparkling_mnist.augment.gaussian import gaussian_matrix
from sparkling_mnist.augment.params import (
    AffineParams,
    FlipParams,
    RotateParams,
    ShiftParams,
    TranslateParams,
    WarpParams,
)
from sparkling_mnist.augment.sharpen import grey_level, next_sharpen_mode, sharpen_into
from sparkling_mnist.augment.stream import (
    RowStream,
    StreamState,
    next_between,
    next_integer,
    next_normal,
    next_normal_pair,
    next_uniform,
)

_CENTRE = (IMAGE_SIDE - 1) / 2.0

WARP_RANK = 7
"""Terms of the warp field's expansion per axis (see :class:`WarpParams`)."""

GEOMETRY_WORK = 5
"""Float ``(28, 28)`` planes of scratch space the geometric kernels need."""


@lru_cache(maxsize=16)
def warp_basis(sigma: float) -> NDArray[np.float64]:
    """The ``(28, WARP_RANK)`` leading columns of ``V S`` for the Gaussian of ``sigma``.

    Column signs are fixed (largest entry positive), so the basis, and the fields
    drawn in it, do not depend on the LAPACK build.
    """
    left, singular, _ = np.linalg.svd(gaussian_matrix(float(sigma)))
    basis = left[:, :WARP_RANK] * singular[:WARP_RANK]
    strongest = basis[np.abs(basis).argmax(axis=0), np.arange(WARP_RANK)]
    basis = np.ascontiguousarray(basis * np.sign(strongest))
    basis.setflags(write=False)
    return basis


@lru_cache(maxsize=16)
def warp_basis_rows(sigma: float) -> NDArray[np.float64]:
    """:func:`warp_basis` transposed, ``(WARP_RANK, 28)`` contiguous: as the kernels take it."""
    rows = np.ascontiguousarray(warp_basis(sigma).T)
    rows.setflags(write=False)
    return rows


@njit(cache=True, nogil=True)
def next_shift(state: StreamState, distance: int) -> tuple[int, int]:
    """Draw one row's ``(row_offset, col_offset)``: up, down, left or right."""
    direction = next_integer(state, 0, 4)
    if direction == 0:
        return -distance, 0
    if direction == 1:
        return distance, 0
    if direction == 2:
        return 0, -distance
    return 0, distance


def draw_shift(stream: RowStream, params: ShiftParams) -> tuple[int, int]:
    """Draw one row's ``(row_offset, col_offset)``: up, down, left or right."""
    d_row, d_col = next_shift(stream.state, params.distance)
    return int(d_row), int(d_col)


def draw_rotate_angle(stream: RowStream, params: RotateParams) -> float:
    """Draw one row's counter-clockwise angle in degrees, ~ Normal(0, sigma)."""
    return float(next_normal(stream.state)) * params.sigma_degrees


@njit(cache=True, nogil=True)
def next_warp_noise(state: StreamState, noise: FloatBatch) -> None:
    """Fill ``(2, WARP_RANK, WARP_RANK)`` ``noise`` with the row's standard normals.

    Both numbers of each Box-Muller pair are used: the cosine one, then the sine one.
    """
    flat = noise.reshape(-1)
    for k in range(0, flat.size, 2):
        first, second = next_normal_pair(state)
        flat[k] = first
        if k + 1 < flat.size:
            flat[k + 1] = second


def draw_warp_noise(stream: RowStream, params: WarpParams) -> NDArray[np.float64]:
    """Draw one row's raw ``(2, WARP_RANK, WARP_RANK)`` normals (row then column axis).

    The displacement field is :func:`warp_displacements` of them.
    """
    del params  # the raw noise does not depend on the settings; kept for a uniform signature
    noise = np.empty((2, WARP_RANK, WARP_RANK))
    next_warp_noise(stream.state, noise)
    return noise


def warp_displacements(noise: NDArray[np.float64], params: WarpParams) -> NDArray[np.float64]:
    """Turn ``(..., 2, WARP_RANK, WARP_RANK)`` normals into displacement fields, in pixels."""
    basis = warp_basis(params.sigma)
    field: NDArray[np.float64] = params.alpha / math.sqrt(3.0) * (basis @ noise @ basis.T)
    return field


@njit(cache=True, nogil=True)
def _padded_with_ink_box(image: UInt8Batch) -> tuple[UInt8Batch, float, float, float, float]:
    """The image with a zero border (index = coordinate + 1) and the open coordinate box
    outside which every bilinear sample is exactly 0 (all four neighbours are background).
    """
    side = image.shape[0]
    padded = np.zeros((side + 2, side + 2), dtype=np.uint8)
    r_lo, r_hi, c_lo, c_hi = side, -1, side, -1
    for r in range(side):
        source, target = image[r], padded[r + 1]
        for c in range(side):
            value = source[c]
            target[c + 1] = value
            if value:
                r_lo, r_hi = min(r_lo, r), max(r_hi, r)
                c_lo, c_hi = min(c_lo, c), max(c_hi, c)
    return padded, r_lo - 1.0, r_hi + 1.0, c_lo - 1.0, c_hi + 1.0


@njit(cache=True, nogil=True)
def _sample(padded: UInt8Batch, y: float, x: float) -> float:
    """Bilinear sample at ``(y, x)``, both inside the ink box (so ``-1 < y, x < 28``)."""
    y0, x0 = math.floor(y), math.floor(x)
    fy, fx = y - y0, x - x0
    top, left = int(y0) + 1, int(x0) + 1
    upper = float(padded[top, left])
    upper += fx * (float(padded[top, left + 1]) - upper)
    lower = float(padded[top + 1, left])
    lower += fx * (float(padded[top + 1, left + 1]) - lower)
    return upper + fy * (lower - upper)


@njit(cache=True, nogil=True)
def bilinear_into(image: UInt8Batch, rows: FloatBatch, cols: FloatBatch, out: FloatBatch) -> None:
    """Sample one image at ``(rows[r, c], cols[r, c])``, bilinearly, zero outside.

    This is ``scipy.ndimage.map_coordinates(order=1, mode='grid-constant')`` and what
    ``skimage.transform.warp(order=1, mode='constant', cval=0)`` computes. Samples
    whose four neighbours all lie outside the ink's bounding box are 0 without
    reading them: on a digit that is about half of the image.
    """
    padded, y_min, y_max, x_min, x_max = _padded_with_ink_box(image)
    for r in range(image.shape[0]):
        target, y_row, x_row = out[r], rows[r], cols[r]
        for c in range(image.shape[1]):
            y, x = y_row[c], x_row[c]
            inside = y_min < y < y_max and x_min < x < x_max
            target[c] = _sample(padded, y, x) if inside else 0.0


@njit(cache=True, nogil=True)
def rotate_sample_into(image: UInt8Batch, angle_degrees: float, out: FloatBatch) -> None:
    """Bilinear samples of ``image`` rotated counter-clockwise about its centre.

    This is the inverse map of ``skimage.transform.rotate`` (centre 13.5, 13.5).
    Rotating about the centre on the 28x28 grid equals rotating onto a grown canvas
    and cropping its border back symmetrically, without the half-pixel offset an
    odd-sized grown canvas would introduce.
    """
    affine_sample_into(image, angle_degrees, 1.0, out)  # a rotation is the affine map at zoom 1


@njit(cache=True, nogil=True)
def translate_into(image: UInt8Batch, d_row: int, d_col: int, out: UInt8Batch) -> None:
    """Move one image by whole pixels (positive: down / right); uncovered pixels are 0."""
    for r in range(IMAGE_SIDE):
        for c in range(IMAGE_SIDE):
            src_r, src_c = r - d_row, c - d_col
            inside = 0 <= src_r < IMAGE_SIDE and 0 <= src_c < IMAGE_SIDE
            out[r, c] = image[src_r, src_c] if inside else 0


@njit(cache=True, nogil=True)
def shift_into(image: UInt8Batch, state: StreamState, distance: int, out: UInt8Batch) -> None:
    """The ``shift`` effect on one row."""
    d_row, d_col = next_shift(state, distance)
    translate_into(image, d_row, d_col, out)


@njit(cache=True, nogil=True)
def rotate_into(  # noqa: PLR0917 - a compiled kernel takes its settings as arrays
    image: UInt8Batch,
    state: StreamState,
    angle_settings: NDArray[np.float64],
    sharpen: NDArray[np.float64],
    kernel: NDArray[np.float64],
    work: FloatBatch,
    out: UInt8Batch,
) -> None:
    """The ``rotate`` effect on one row; ``angle_settings`` is ``(sigma, min_degrees)``."""
    angle = next_normal(state) * angle_settings[0]
    mode = next_sharpen_mode(state, sharpen)
    if abs(angle) < angle_settings[1]:
        out[:, :] = image
        return
    rotate_sample_into(image, angle, work[2])
    sharpen_into(work[2], image, mode, sharpen, kernel, work[3:], out)


@njit(cache=True, nogil=True)
def warp_into(  # noqa: PLR0917 - a compiled kernel takes its settings as arrays
    image: UInt8Batch,
    state: StreamState,
    scale: float,
    basis_rows: NDArray[np.float64],
    sharpen: NDArray[np.float64],
    kernel: NDArray[np.float64],
    work: FloatBatch,
    out: UInt8Batch,
) -> None:
    """The ``warp`` effect on one row; the field is ``scale * B.T Z B`` per axis, ``B = basis_rows``."""
    noise = np.empty((2, WARP_RANK, WARP_RANK))
    next_warp_noise(state, noise)
    mode = next_sharpen_mode(state, sharpen)
    side = basis_rows.shape[1]  # read, not the constant: lets LLVM vectorise the row loops
    half = np.empty((WARP_RANK, side))
    for axis in range(2):
        for i in range(WARP_RANK):  # half = scale * Z B
            target = half[i]
            target[:] = 0.0
            for j in range(WARP_RANK):
                weight, source = scale * noise[axis, i, j], basis_rows[j]
                for c in range(side):
                    target[c] += weight * source[c]
        field = work[axis]
        for r in range(side):  # coordinate = own position + B.T half
            target = field[r]
            for c in range(side):
                target[c] = r if axis == 0 else c
            for i in range(WARP_RANK):
                weight, source = basis_rows[i, r], half[i]
                for c in range(side):
                    target[c] += weight * source[c]
    bilinear_into(image, work[0], work[1], work[2])
    sharpen_into(work[2], image, mode, sharpen, kernel, work[3:], out)


def rotate_angle_settings(params: RotateParams) -> NDArray[np.float64]:
    """``(sigma_degrees, min_degrees)`` as the kernels take them."""
    return np.array([params.sigma_degrees, params.min_degrees])


def warp_scale(params: WarpParams) -> float:
    """The factor between the standard normal draws and the displacement, in pixels."""
    return params.alpha / math.sqrt(3.0)


@njit(cache=True, nogil=True)
def next_flip(state: StreamState, probability: float) -> bool:
    """Draw whether one row is mirrored (one uniform, always drawn)."""
    return next_uniform(state) < probability


def draw_flip(stream: RowStream, params: FlipParams) -> bool:
    """Draw whether one row is mirrored left-right."""
    return bool(next_flip(stream.state, params.probability))


@njit(cache=True, nogil=True)
def flip_into(image: UInt8Batch, state: StreamState, probability: float, out: UInt8Batch) -> None:
    """The ``flip`` effect on one row: column ``c`` becomes column ``27 - c``, or a copy."""
    if not next_flip(state, probability):
        out[:, :] = image
        return
    for r in range(IMAGE_SIDE):
        for c in range(IMAGE_SIDE):
            out[r, c] = image[r, IMAGE_SIDE - 1 - c]


@njit(cache=True, nogil=True)
def next_translate(state: StreamState, max_pixels: int) -> tuple[int, int]:
    """Draw one row's ``(row_offset, col_offset)``, each uniform in ``-max_pixels..max_pixels``."""
    d_row = next_integer(state, -max_pixels, max_pixels + 1)
    d_col = next_integer(state, -max_pixels, max_pixels + 1)
    return d_row, d_col


def draw_translate(stream: RowStream, params: TranslateParams) -> tuple[int, int]:
    """Draw one row's ``(row_offset, col_offset)`` (positive: down / right)."""
    d_row, d_col = next_translate(stream.state, params.max_pixels)
    return int(d_row), int(d_col)


@njit(cache=True, nogil=True)
def translate_step_into(image: UInt8Batch, state: StreamState, max_pixels: int, out: UInt8Batch) -> None:
    """The ``translate`` effect on one row."""
    d_row, d_col = next_translate(state, max_pixels)
    translate_into(image, d_row, d_col, out)


@njit(cache=True, nogil=True)
def next_affine(state: StreamState, packed: NDArray[np.float64]) -> tuple[float, float]:
    """Draw one row's ``(angle_degrees, zoom)``: a clipped normal, then a uniform."""
    limit = 2.0 * packed[0]
    angle = min(max(next_normal(state) * packed[0], -limit), limit)
    zoom = next_between(state, 1.0 - packed[1], 1.0 + packed[1])
    return angle, zoom


def draw_affine(stream: RowStream, params: AffineParams) -> tuple[float, float]:
    """Draw one row's counter-clockwise angle in degrees and its zoom factor."""
    angle, zoom = next_affine(stream.state, params.packed())
    return float(angle), float(zoom)


@njit(cache=True, nogil=True)
def affine_sample_into(image: UInt8Batch, angle_degrees: float, zoom: float, out: FloatBatch) -> None:
    """Bilinear samples of ``image`` rotated counter-clockwise and zoomed about its centre.

    Output pixel ``(r, c)`` reads the input at the centre plus its offset from the
    centre, rotated as in :func:`rotate_sample_into` and divided by ``zoom``.
    """
    theta = math.radians(angle_degrees)
    cos_t, sin_t = math.cos(theta) / zoom, math.sin(theta) / zoom
    padded, y_min, y_max, x_min, x_max = _padded_with_ink_box(image)
    for r in range(image.shape[0]):
        d_row = r - _CENTRE
        target = out[r]
        for c in range(image.shape[1]):
            d_col = c - _CENTRE
            x = cos_t * d_col - sin_t * d_row + _CENTRE
            y = sin_t * d_col + cos_t * d_row + _CENTRE
            inside = y_min < y < y_max and x_min < x < x_max
            target[c] = _sample(padded, y, x) if inside else 0.0


@njit(cache=True, nogil=True)
def affine_into(
    image: UInt8Batch, state: StreamState, packed: NDArray[np.float64], work: FloatBatch, out: UInt8Batch
) -> None:
    """The ``affine`` effect on one row: resample, then round half to even (no sharpening)."""
    angle, zoom = next_affine(state, packed)
    samples = work[2]
    affine_sample_into(image, angle, zoom, samples)
    for r in range(IMAGE_SIDE):
        for c in range(IMAGE_SIDE):
            out[r, c] = grey_level(samples[r, c])
