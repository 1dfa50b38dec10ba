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
    WARP_RANK,
    BlotchesParams,
    BoldParams,
    RowStream,
    ScratchesParams,
    SharpenMode,
    SharpenParams,
    WarpParams,
    draw_blotches,
    draw_bold_directions,
    draw_scratches,
    draw_sharpen_mode,
    draw_square,
    draw_warp_noise,
    row_streams,
    warp_displacements,
)
from sparkling_mnist.augment.gaussian import gaussian_blur_batch, gaussian_matrix
from sparkling_mnist.augment.geometry import bilinear_into, warp_basis
from sparkling_mnist.augment.noise import draw_line_into, wipe_disk_into
from sparkling_mnist.augment.sharpen import match_histograms_batch


def generators(n: int, effect: str) -> list[RowStream]:
    return row_streams(99, np.arange(n), 0, effect)


def test_line_pixels_match_skimage_line_in_every_direction() -> None:
    starts = [(0, 0), (13, 14), (27, 5), (6, 27)]
    lines = np.array([(r0, c0, r1, c1, 200) for r0, c0 in starts for r1 in range(28) for c1 in range(28)])
    for r0, c0, r1, c1, level in lines.tolist():
        drawn = np.zeros((28, 28), dtype=np.uint8)
        draw_line_into(drawn, np.array([r0, c0, r1, c1, level]))
        expected = np.zeros((28, 28), dtype=np.uint8)
        expected[line(r0, c0, r1, c1)] = level
        np.testing.assert_array_equal(drawn, expected)


def test_a_line_never_darkens_ink() -> None:
    image = np.full((28, 28), 230, dtype=np.uint8)
    draw_line_into(image, np.array([0, 0, 27, 27, 128]))
    assert (image == 230).all()


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
    for disc in discs:
        image = np.full((28, 28), 255, dtype=np.uint8)
        wipe_disk_into(image, disc)
        expected = np.full((28, 28), 255, dtype=np.uint8)
        expected[disk((disc[0], disc[1]), disc[2], shape=(28, 28))] = 0
        np.testing.assert_array_equal(image, expected)


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


def test_bilinear_into_is_zero_outside_like_map_coordinates() -> None:
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(3, 28, 28)).astype(np.uint8)
    rows = rng.uniform(-40.0, 70.0, size=(3, 28, 28))  # many far outside, some inside
    cols = rng.uniform(-3.0, 31.0, size=(3, 28, 28))
    actual = np.empty(images.shape)
    for i in range(3):
        bilinear_into(images[i], rows[i], cols[i], actual[i])
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


def test_warp_field_has_simards_covariance() -> None:
    params = WarpParams()
    # Simard's field alpha * G U G.T with U ~ Uniform(-1, 1): per-axis covariance
    # alpha**2 / 3 * (G G.T) (x) (G G.T); the drawn field's is the same with the basis.
    blur = gaussian_matrix(params.sigma)
    basis = warp_basis(params.sigma)
    np.testing.assert_allclose(basis @ basis.T, blur @ blur.T, atol=2e-4 * np.abs(blur @ blur.T).max())
    # And empirically, against Simard's recipe itself, pixel by pixel.
    streams = generators(3000, "warp")
    fields = np.stack([warp_displacements(draw_warp_noise(s, params), params) for s in streams])
    simard_rng = np.random.default_rng(3)
    simard = params.alpha * gaussian_blur_batch(simard_rng.uniform(-1, 1, size=(3000, 2, 28, 28)), params.sigma)
    np.testing.assert_allclose(fields.std(axis=0), simard.std(axis=0), rtol=0.1)
    assert abs(fields.std() - simard.std()) < 0.03 * simard.std()
    assert 1.4 < fields.std() < 2.0  # the documented ~1.7 px RMS


def test_warp_basis_is_the_same_whatever_the_sign_lapack_chose() -> None:
    basis = warp_basis(4.0)
    assert basis.shape == (28, WARP_RANK)
    strongest = basis[np.abs(basis).argmax(axis=0), np.arange(WARP_RANK)]
    assert (strongest > 0).all()
