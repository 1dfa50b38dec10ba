"""Gaussian blur as a 28x28 matrix: whole batches in BLAS, single images as a band.

A separable Gaussian filter along one 28-pixel axis is a linear map, i.e. a 28x28
matrix ``G``; blurring image ``X`` is ``G @ X @ G.T``. Built from
``scipy.ndimage.gaussian_filter1d`` (``mode='reflect'``, ``truncate=4.0``, the
settings of ``skimage.filters.gaussian`` inside ``skimage.filters.unsharp_mask``),
the product equals ``scipy.ndimage.gaussian_filter`` on each image to within
float rounding. The per-image kernels convolve a reflect-padded image with the 1-D
weights of :func:`gaussian_kernel` instead (the same sums in another order).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.ndimage as ndi
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import IMAGE_SIDE

GAUSSIAN_TRUNCATE = 4.0
"""Kernel half-width in standard deviations (the scipy and scikit-image default)."""


@lru_cache(maxsize=32)
def gaussian_matrix(sigma: float) -> NDArray[np.float64]:
    """Return the read-only 28x28 matrix of a 1-D ``'reflect'`` Gaussian filter.

    Args:
        sigma: standard deviation in pixels, ``> 0``.

    Raises:
        ValueError: if ``sigma <= 0``.
    """
    if not sigma > 0:
        raise ValueError(f"Gaussian sigma must be > 0, got {sigma}")
    matrix: NDArray[np.float64] = ndi.gaussian_filter1d(
        np.eye(IMAGE_SIDE), sigma, axis=0, mode="reflect", truncate=GAUSSIAN_TRUNCATE
    )
    matrix.setflags(write=False)
    return matrix


def gaussian_blur_batch(values: NDArray[np.float64], sigma: float) -> NDArray[np.float64]:
    """Blur every 28x28 plane of ``values`` (shape ``(..., 28, 28)``) with ``sigma``.

    Planes never mix: the filter acts on the last two axes only.
    """
    matrix = gaussian_matrix(float(sigma))
    blurred: NDArray[np.float64] = matrix @ values @ matrix.T
    return blurred


MAX_KERNEL_RADIUS = IMAGE_SIDE - 1
"""Largest kernel half-width :func:`gaussian_kernel` allows: a single reflection at each border."""


@lru_cache(maxsize=32)
def gaussian_kernel(sigma: float) -> NDArray[np.float64]:
    """Return the read-only 1-D weights of ``scipy.ndimage.gaussian_filter1d(sigma)``.

    ``2 * radius + 1`` taps with ``radius = int(4 * sigma + 0.5)``, normalised to sum 1,
    as scipy builds them; convolving a reflect-padded row with them is scipy's filter.

    Raises:
        ValueError: if ``sigma <= 0`` or the radius exceeds :data:`MAX_KERNEL_RADIUS`.
    """
    if not sigma > 0:
        raise ValueError(f"Gaussian sigma must be > 0, got {sigma}")
    radius = int(GAUSSIAN_TRUNCATE * float(sigma) + 0.5)
    if radius > MAX_KERNEL_RADIUS:
        raise ValueError(f"Gaussian sigma {sigma} is too wide for a {IMAGE_SIDE}-pixel image")
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 / (float(sigma) * float(sigma)) * offsets**2)
    weights /= weights.sum()
    weights.setflags(write=False)
    return weights
