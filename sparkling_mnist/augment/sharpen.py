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

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import FloatBatch, UInt8Batch, to_uint8
from sparkling_mnist.augment.gaussian import gaussian_blur_batch

_GREY_LEVELS = 256


class SharpenMode(IntEnum):
    """Which sharpening a row gets."""

    UNSHARP = 0
    CONTRAST = 1
    MATCH = 2


@dataclass(frozen=True)
class SharpenParams:
    """How interpolated images are sharpened.

    Attributes:
        unsharp_weight: relative chance of the unsharp mask (default 0.6).
        contrast_weight: relative chance of the contrast stretch (default 0.2).
        match_weight: relative chance of histogram matching to the source image
            (default 0.2). The three weights are normalised; their sum must be > 0.
        unsharp_radius: Gaussian sigma of the unsharp mask, pixels (default 1.0,
            the scikit-image default).
        unsharp_amount: unsharp mask strength (default 1.0, the scikit-image
            default).
        contrast_low: grey level mapped to 0 by the stretch (default 64).
        contrast_high: grey level mapped to 255 by the stretch (default 192).
    """

    unsharp_weight: float = 0.6
    contrast_weight: float = 0.2
    match_weight: float = 0.2
    unsharp_radius: float = 1.0
    unsharp_amount: float = 1.0
    contrast_low: float = 64.0
    contrast_high: float = 192.0

    def __post_init__(self) -> None:
        weights = (self.unsharp_weight, self.contrast_weight, self.match_weight)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(
                "SharpenParams: unsharp_weight, contrast_weight and match_weight must "
                f"be >= 0 with a positive sum, got {weights}"
            )
        if not self.unsharp_radius > 0:
            raise ValueError(f"SharpenParams.unsharp_radius must be > 0, got {self.unsharp_radius}")
        if self.unsharp_amount < 0:
            raise ValueError(f"SharpenParams.unsharp_amount must be >= 0, got {self.unsharp_amount}")
        if not 0 <= self.contrast_low < self.contrast_high <= 255:
            raise ValueError(
                "SharpenParams needs 0 <= contrast_low < contrast_high <= 255, got "
                f"{self.contrast_low} and {self.contrast_high}"
            )


def draw_sharpen_mode(rng: np.random.Generator, params: SharpenParams) -> SharpenMode:
    """Draw one row's sharpening (one uniform number)."""
    total = params.unsharp_weight + params.contrast_weight + params.match_weight
    u = rng.random() * total
    if u < params.unsharp_weight:
        return SharpenMode.UNSHARP
    if u < params.unsharp_weight + params.contrast_weight:
        return SharpenMode.CONTRAST
    return SharpenMode.MATCH


def unsharp_mask_batch(values: FloatBatch, radius: float, amount: float) -> FloatBatch:
    """Unsharp-mask every image of a 0..255 float batch; clip the result to 0..255."""
    blurred = gaussian_blur_batch(values, radius)
    sharpened: FloatBatch = np.clip(values + (values - blurred) * amount, 0.0, 255.0)
    return sharpened


def contrast_stretch_batch(values: FloatBatch, low: float, high: float) -> FloatBatch:
    """Map ``[low, high]`` linearly onto ``[0, 255]``, clipping outside values."""
    stretched: FloatBatch = (np.clip(values, low, high) - low) / (high - low) * 255.0
    return stretched


def match_histograms_batch(images: UInt8Batch, references: UInt8Batch) -> FloatBatch:
    """Histogram-match each image to its reference, the whole batch at once.

    Per image this is ``skimage.exposure.match_histograms(image, reference)`` for
    ``uint8`` inputs: the cumulative histogram of the image is mapped onto the
    reference's by linear interpolation between the reference's occupied grey
    levels, with ``np.interp``'s arithmetic.

    Args:
        images: ``(N, 28, 28)`` ``uint8`` images to adjust.
        references: ``(N, 28, 28)`` ``uint8`` images whose histograms to match.

    Returns:
        ``(N, 28, 28)`` ``float64`` matched values (not yet rounded).
    """
    n = images.shape[0]
    pixels = images.shape[1] * images.shape[2]
    levels = np.arange(_GREY_LEVELS)
    row_base = (np.arange(n) * _GREY_LEVELS)[:, None]
    src_counts = np.bincount((images.reshape(n, -1) + row_base).ravel(), minlength=n * _GREY_LEVELS).reshape(
        n, _GREY_LEVELS
    )
    ref_counts = np.bincount((references.reshape(n, -1) + row_base).ravel(), minlength=n * _GREY_LEVELS).reshape(
        n, _GREY_LEVELS
    )
    src_cum = np.cumsum(src_counts, axis=1)
    ref_cum = np.cumsum(ref_counts, axis=1)

    # The reference's occupied levels, all rows concatenated; integer cumulative
    # counts shifted by row make one sorted array for a single searchsorted.
    occupied = ref_counts > 0
    row_of_level = np.broadcast_to(np.arange(n)[:, None], occupied.shape)[occupied]
    xp_cum = ref_cum[occupied]
    xp = xp_cum / pixels
    fp = np.broadcast_to(levels, occupied.shape)[occupied].astype(np.float64)
    first = np.searchsorted(row_of_level, np.arange(n), side="left")
    last = np.searchsorted(row_of_level, np.arange(n), side="right") - 1

    shift = pixels + 1
    query_cum = src_cum + (np.arange(n) * shift)[:, None]
    xp_shifted = xp_cum + row_of_level * shift
    # j: index of the last occupied reference level whose quantile is <= the query.
    j = np.searchsorted(xp_shifted, query_cum.ravel(), side="right").reshape(n, -1) - 1
    q = src_cum / pixels

    # np.interp's rules: left of the first point -> its value; at or past the last
    # -> the last value; on a point -> that value; else slope * (q - xp[j]) + fp[j].
    first_b = first[:, None]
    last_b = last[:, None]
    below = j < first_b
    at_or_above_end = j >= last_b
    j_lo = np.clip(j, first_b, last_b)
    j_hi = np.minimum(j_lo + 1, last_b)
    span = xp[j_hi] - xp[j_lo]
    safe_span = np.where(span > 0, span, 1.0)
    slope = (fp[j_hi] - fp[j_lo]) / safe_span
    interpolated = np.where(q == xp[j_lo], fp[j_lo], slope * (q - xp[j_lo]) + fp[j_lo])
    lut = np.where(below, fp[first_b], np.where(at_or_above_end, fp[last_b], interpolated))

    matched: FloatBatch = np.take_along_axis(lut, images.reshape(n, -1).astype(np.intp), axis=1)
    return matched.reshape(images.shape)


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
    out = to_uint8(interpolated)
    unsharp = modes == SharpenMode.UNSHARP
    if unsharp.any():
        out[unsharp] = to_uint8(unsharp_mask_batch(interpolated[unsharp], params.unsharp_radius, params.unsharp_amount))
    contrast = modes == SharpenMode.CONTRAST
    if contrast.any():
        out[contrast] = to_uint8(
            contrast_stretch_batch(interpolated[contrast], params.contrast_low, params.contrast_high)
        )
    match = modes == SharpenMode.MATCH
    if match.any():
        # Match the rounded image: grey levels, not float noise, form the histogram.
        rounded = out[match]
        matched = to_uint8(match_histograms_batch(rounded, sources[match]))
        # Background stays black: when interpolation left more zero pixels than the
        # source has, plain matching maps level 0 onto an ink level (a grey background).
        matched[rounded == 0] = 0
        out[match] = matched
    return out
