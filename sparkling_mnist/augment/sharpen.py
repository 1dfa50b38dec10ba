"""The sharpen step that rotation and warp need, because interpolation blurs.

Each row picks one of three ways to restore crisp strokes (the recipe's "most of
the time an unsharp mask, sometimes a contrast stretch, and histogram matching back
to the original"; read here as three alternatives, the unsharp mask the most likely):

* ``UNSHARP``: ``x + amount * (x - gaussian(x, radius))``, clipped to 0..255, as
  ``skimage.filters.unsharp_mask``;
* ``CONTRAST``: linear stretch of ``[low, high]`` onto ``[0, 255]`` with clipping,
  so dim pixels get dimmer and bright ones brighter, as
  ``skimage.exposure.rescale_intensity(x, in_range=(low, high))``;
* ``MATCH``: the interpolated image, rounded to grey levels, is histogram matched
  to the image it came from, as ``skimage.exposure.match_histograms``; pixels that
  were 0 stay 0 (plain matching can turn the whole background grey).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import IMAGE_SIDE, FloatBatch, UInt8Batch
from sparkling_mnist.augment.gaussian import gaussian_kernel
from sparkling_mnist.augment.params import SharpenParams
from sparkling_mnist.augment.stream import RowStream, StreamState, next_uniform

_GREY_LEVELS = 256


class SharpenMode(IntEnum):
    """Which sharpening a row gets."""

    UNSHARP = 0
    CONTRAST = 1
    MATCH = 2


def unsharp_kernel(params: SharpenParams) -> NDArray[np.float64]:
    """The unsharp mask's 1-D Gaussian weights of `params`, as the kernels take them."""
    return gaussian_kernel(params.unsharp_radius)


@njit(cache=True, nogil=True)
def next_sharpen_mode(state: StreamState, packed: NDArray[np.float64]) -> int:
    """Draw a row's :class:`SharpenMode` (one uniform number) from packed settings."""
    u = next_uniform(state) * (packed[0] + packed[1] + packed[2])
    if u < packed[0]:
        return 0
    if u < packed[0] + packed[1]:
        return 1
    return 2


def draw_sharpen_mode(stream: RowStream, params: SharpenParams) -> SharpenMode:
    """Draw one row's sharpening (one uniform number)."""
    return SharpenMode(next_sharpen_mode(stream.state, params.packed()))


@njit(cache=True, nogil=True)
def blur_box_into(  # noqa: PLR0917 - a compiled kernel takes plain numbers
    values: FloatBatch, kernel: NDArray[np.float64], rows: tuple[int, int], col_lo: int, col_hi: int, out: FloatBatch
) -> None:
    """Gaussian-blur one 28x28 image (rows, then columns, ``'reflect'`` borders) and write
    the result inside the box ``rows[0]..rows[1] x col_lo..col_hi`` (inclusive) to ``out``.

    Every row of ``values`` outside ``rows`` must be 0 (its row blur is then 0, and is
    skipped). Loops run over row views with the size read from the array, which lets
    LLVM vectorise them (a constant 28 makes it unroll them into scalar code instead).
    """
    side = values.shape[0]
    radius = kernel.size // 2
    wide = np.empty(side + 2 * radius)  # one row, padded by reflection
    tall = np.zeros((side + 2 * radius, side))  # the row-blurred image, padded by reflection
    for r in range(rows[0], rows[1] + 1):
        source = values[r]
        for c in range(side):
            wide[radius + c] = source[c]
        for j in range(radius):
            wide[radius - 1 - j] = source[j]
            wide[radius + side + j] = source[side - 1 - j]
        row = tall[radius + r]
        for t in range(kernel.size):
            weight = kernel[t]
            for c in range(col_lo, col_hi + 1):
                row[c] += weight * wide[c + t]
    for j in range(radius):
        tall[radius - 1 - j] = tall[radius + j]
        tall[radius + side + j] = tall[radius + side - 1 - j]
    for r in range(rows[0], rows[1] + 1):
        row = out[r]
        row[col_lo : col_hi + 1] = 0.0
        for t in range(kernel.size):
            weight = kernel[t]
            source = tall[r + t]
            for c in range(col_lo, col_hi + 1):
                row[c] += weight * source[c]


@njit(cache=True, nogil=True)
def _positive_box(values: FloatBatch) -> tuple[int, int, int, int]:
    """Rows and columns ``(r_lo, r_hi, c_lo, c_hi)`` bounding the pixels above 0; ``r_hi < 0`` if none."""
    side = values.shape[0]
    r_lo, r_hi, c_lo, c_hi = side, -1, side, -1
    for r in range(side):
        row = values[r]
        for c in range(side):
            if row[c] > 0.0:
                r_lo, r_hi = min(r_lo, r), max(r_hi, r)
                c_lo, c_hi = min(c_lo, c), max(c_hi, c)
    return r_lo, r_hi, c_lo, c_hi


@njit(cache=True, nogil=True)
def grey_level(value: float) -> np.uint8:
    """Round half to even and clip to 0..255."""
    return np.uint8(min(max(np.rint(value), 0.0), 255.0))


@njit(cache=True, nogil=True)
def match_histogram_into(image: UInt8Batch, reference: UInt8Batch, out: FloatBatch) -> None:
    """``skimage.exposure.match_histograms(image, reference)`` for one ``uint8`` image.

    The image's cumulative histogram is mapped onto the reference's occupied grey
    levels with ``np.interp``'s arithmetic; values are not rounded.
    """
    pixels = float(IMAGE_SIDE * IMAGE_SIDE)
    src_counts = np.zeros(_GREY_LEVELS, dtype=np.int64)
    ref_counts = np.zeros(_GREY_LEVELS, dtype=np.int64)
    for r in range(IMAGE_SIDE):
        for c in range(IMAGE_SIDE):
            src_counts[image[r, c]] += 1
            ref_counts[reference[r, c]] += 1
    xp = np.empty(_GREY_LEVELS)
    fp = np.empty(_GREY_LEVELS)
    occupied = 0
    cumulative = 0
    for level in range(_GREY_LEVELS):
        if ref_counts[level]:
            cumulative += ref_counts[level]
            xp[occupied] = cumulative / pixels
            fp[occupied] = level
            occupied += 1
    lut = np.zeros(_GREY_LEVELS)
    cumulative = 0
    j = 0
    last = occupied - 1
    for level in range(_GREY_LEVELS):
        if not src_counts[level]:
            continue
        cumulative += src_counts[level]
        q = cumulative / pixels
        if q < xp[0]:
            lut[level] = fp[0]
        elif q >= xp[last]:
            lut[level] = fp[last]
        else:
            while xp[j + 1] <= q:
                j += 1
            slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
            lut[level] = slope * (q - xp[j]) + fp[j]
    for r in range(IMAGE_SIDE):
        for c in range(IMAGE_SIDE):
            out[r, c] = lut[image[r, c]]


@njit(cache=True, nogil=True)
def sharpen_into(  # noqa: PLR0917 - a compiled kernel takes its settings as arrays
    values: FloatBatch,
    source: UInt8Batch,
    mode: int,
    packed: NDArray[np.float64],
    kernel: NDArray[np.float64],
    work: FloatBatch,
    out: UInt8Batch,
) -> None:
    """Sharpen one interpolated image with ``mode`` and write it as grey levels to ``out``.

    Args:
        values: ``(28, 28)`` float 0..255 output of an interpolating transform.
        source: ``(28, 28)`` the image before the transform (the matching reference).
        mode: a :class:`SharpenMode` value.
        packed: :meth:`SharpenParams.packed`.
        kernel: :meth:`SharpenParams.kernel`.
        work: ``(2, 28, 28)`` float scratch space.
        out: ``(28, 28)`` ``uint8`` result; may not alias ``source``.
    """
    if mode == 0:
        # x + (x - blur) * amount is <= 0 where x is 0 (blur >= 0): only the box of
        # positive pixels needs the blur, the rest of the output is 0.
        out[:, :] = 0
        r_lo, r_hi, c_lo, c_hi = _positive_box(values)
        if r_hi < 0:
            return
        blur_box_into(values, kernel, (r_lo, r_hi), c_lo, c_hi, work[0])
        amount = packed[4]
        for r in range(r_lo, r_hi + 1):
            for c in range(c_lo, c_hi + 1):
                x = values[r, c]
                out[r, c] = grey_level(min(max(x + (x - work[0, r, c]) * amount, 0.0), 255.0))
    elif mode == 1:
        low, high = packed[5], packed[6]
        for r in range(IMAGE_SIDE):
            for c in range(IMAGE_SIDE):
                out[r, c] = grey_level((min(max(values[r, c], low), high) - low) / (high - low) * 255.0)
    else:
        # Match the rounded image: grey levels, not float noise, form the histogram.
        for r in range(IMAGE_SIDE):
            for c in range(IMAGE_SIDE):
                out[r, c] = grey_level(values[r, c])
        match_histogram_into(out, source, work[1])
        for r in range(IMAGE_SIDE):
            for c in range(IMAGE_SIDE):
                # Background stays black: when interpolation left more zero pixels than
                # the source has, plain matching maps level 0 onto an ink level.
                if out[r, c] != 0:
                    out[r, c] = grey_level(work[1, r, c])


def match_histograms_batch(images: UInt8Batch, references: UInt8Batch) -> FloatBatch:
    """Histogram-match each image to its reference (see :func:`match_histogram_into`).

    Returns:
        ``(N, 28, 28)`` ``float64`` matched values (not yet rounded).
    """
    out = np.empty(images.shape, dtype=np.float64)
    for i in range(images.shape[0]):
        match_histogram_into(images[i], references[i], out[i])
    return out


def sharpen_batch(
    interpolated: FloatBatch,
    sources: UInt8Batch,
    modes: NDArray[np.int8],
    params: SharpenParams,
) -> UInt8Batch:
    """Sharpen interpolated images, each with its own mode, and round to ``uint8``.

    Args:
        interpolated: ``(N, 28, 28)`` float 0..255 output of an interpolating
            transform.
        sources: ``(N, 28, 28)`` ``uint8`` images before the transform (the
            histogram-matching reference).
        modes: ``(N,)`` :class:`SharpenMode` values.
        params: sharpening settings.

    Returns:
        ``(N, 28, 28)`` ``uint8`` sharpened images.
    """
    out = np.empty(sources.shape, dtype=np.uint8)
    work = np.empty((2, IMAGE_SIDE, IMAGE_SIDE))
    packed, kernel = params.packed(), unsharp_kernel(params)
    for i in range(sources.shape[0]):
        sharpen_into(np.ascontiguousarray(interpolated[i]), sources[i], int(modes[i]), packed, kernel, work, out[i])
    return out
