"""Tests of the augmentation building blocks and of the random draws' ranges.

The effect-level fidelity tests only see the pixels that random draws happen to
produce; these pin the primitives on systematic inputs (every line direction,
discs with boundary pixels at distance exactly 1, coordinates far outside the
image, constant histograms) and check that each draw covers its stated range.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage.draw import disk, line
from skimage.exposure import match_histograms

from sparkling_mnist.augment import (
    BlotchesParams,
    BoldParams,
    ScratchesParams,
    SharpenMode,
    SharpenParams,
    draw_blotches,
    draw_bold_directions,
    draw_scratches,
    draw_sharpen_mode,
    draw_square,
    row_generators,
)
from sparkling_mnist.augment.gaussian import gaussian_blur_batch
from sparkling_mnist.augment.geometry import bilinear_sample
from sparkling_mnist.augment.noise import disk_masks, line_pixels
from sparkling_mnist.augment.sharpen import match_histograms_batch


def generators(n: int, effect: str) -> list[np.random.Generator]:
    return row_generators(99, np.arange(n), 0, effect)


def test_line_pixels_match_skimage_line_in_every_direction() -> None:
    starts = [(0, 0), (13, 14), (27, 5), (6, 27)]
    lines = np.array([(r0, c0, r1, c1) for r0, c0 in starts for r1 in range(28) for c1 in range(28)])
    line_index, rows, cols = line_pixels(lines)
    for i, (r0, c0, r1, c1) in enumerate(lines.tolist()):
        expected_rows, expected_cols = line(r0, c0, r1, c1)
        mine = line_index == i
        np.testing.assert_array_equal(rows[mine], expected_rows)
        np.testing.assert_array_equal(cols[mine], expected_cols)


def test_disk_masks_match_skimage_disk_including_exact_boundaries() -> None:
    # Integer and half-integer centres with (half-)integer radii put pixels at a
    # distance of exactly one radius: scikit-image leaves them out (strict <).
    discs = np.array(
        [
            (row, col, radius)
            for row in (0.0, 0.5, 3.0, 13.5, 27.0)
            for col in (0.0, 2.5, 14.0, 26.5)
            for radius in (1.0, 1.5, 2.0, 2.5, 3.0, 5.0)
        ]
    )
    masks = disk_masks(discs)
    for (row, col, radius), mask in zip(discs.tolist(), masks, strict=True):
        expected = np.zeros((28, 28), dtype=bool)
        expected[disk((row, col), radius, shape=(28, 28))] = True
        np.testing.assert_array_equal(mask, expected)


def test_match_histograms_batch_matches_skimage_on_edge_cases() -> None:
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, size=(6, 28, 28)).astype(np.uint8)
    references = rng.integers(0, 256, size=(6, 28, 28)).astype(np.uint8)
    images[1] = 0  # constant source
    references[2] = 0  # constant (blank) reference
    references[3] = np.where(references[3] > 128, 255, 0)  # two grey levels
    images[4] = rng.integers(0, 3, size=(28, 28))  # few source levels
    references[5] = images[5]  # matching to itself is the identity
    expected = np.stack([match_histograms(a, b) for a, b in zip(images, references, strict=True)])
    np.testing.assert_allclose(match_histograms_batch(images, references), expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(match_histograms_batch(images[5:], references[5:])[0], images[5])


def test_gaussian_blur_batch_equals_scipy_gaussian_filter() -> None:
    values = np.random.default_rng(1).uniform(0, 255, size=(4, 28, 28))
    for sigma in (0.5, 1.0, 4.0):
        expected = ndi.gaussian_filter(values, sigma=(0, sigma, sigma), mode="reflect", truncate=4.0)
        np.testing.assert_allclose(gaussian_blur_batch(values, sigma), expected, rtol=0, atol=1e-9)


def test_bilinear_sample_is_zero_outside_like_map_coordinates() -> None:
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(3, 28, 28)).astype(np.uint8)
    rows = rng.uniform(-40.0, 70.0, size=(3, 28, 28))  # many far outside, some inside
    cols = rng.uniform(-3.0, 31.0, size=(3, 28, 28))
    actual = bilinear_sample(images, rows, cols)
    for i in range(3):
        expected = ndi.map_coordinates(
            images[i].astype(np.float64), [rows[i], cols[i]], order=1, mode="grid-constant", cval=0.0
        )
        np.testing.assert_allclose(actual[i], expected, rtol=0, atol=1e-9)


def test_scratch_draws_cover_their_ranges() -> None:
    params = ScratchesParams()
    lines = [draw_scratches(rng, params) for rng in generators(600, "scratches")]
    counts = [len(row) for row in lines]
    assert set(counts) == {1, 2, 3}
    every = np.concatenate(lines)
    assert every[:, :4].min() == 0 and every[:, :4].max() == 27
    assert every[:, 4].min() == params.min_intensity and every[:, 4].max() == params.max_intensity
    lengths = np.hypot(every[:, 2] - every[:, 0], every[:, 3] - every[:, 1])
    # Ends are rounded (up to 0.71 px) and clipped to the image (only ever shorter).
    assert lengths.max() <= params.max_length + 0.71
    assert np.median(lengths) > params.min_length


def test_blotch_draws_cover_their_ranges() -> None:
    params = BlotchesParams()
    discs = [draw_blotches(rng, params) for rng in generators(600, "blotches")]
    assert {len(row) for row in discs} == {1, 2, 3}
    every = np.concatenate(discs)
    assert every[:, :2].min() >= params.margin and every[:, :2].max() <= 27 - params.margin
    assert every[:, 2].min() >= params.min_radius and every[:, 2].max() <= params.max_radius
    assert every[:, 2].max() - every[:, 2].min() > 0.9 * (params.max_radius - params.min_radius)


def test_bold_draws_one_or_two_distinct_directions() -> None:
    masks = np.array([draw_bold_directions(rng, BoldParams()) for rng in generators(400, "bold")])
    assert set(masks.sum(axis=1).tolist()) == {1, 2}
    assert masks.sum(axis=0).min() > 50  # every direction is used


@pytest.mark.parametrize(("size", "starts"), [(2, {-1, 0}), (3, {-1}), (4, {-2, -1})])
def test_square_anchors(size: int, starts: set[int]) -> None:
    squares = [draw_square(rng, size, size) for rng in generators(200, "sq")]
    assert {s.size for s in squares} == {size}
    assert {s.row_start for s in squares} == starts
    assert {s.col_start for s in squares} == starts
    # The four anchors of an even square are all drawn (rows and columns independent).
    assert len({(s.row_start, s.col_start) for s in squares}) == len(starts) ** 2


def test_sharpen_modes_follow_their_weights() -> None:
    modes = np.array([draw_sharpen_mode(rng, SharpenParams()) for rng in generators(3000, "m")])
    shares = np.bincount(modes, minlength=3) / len(modes)
    # Binomial standard error at n = 3000 is below 0.01.
    np.testing.assert_allclose(
        shares[[SharpenMode.UNSHARP, SharpenMode.CONTRAST, SharpenMode.MATCH]], [0.6, 0.2, 0.2], atol=0.03
    )
