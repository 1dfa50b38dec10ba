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
    AffineParams,
    BlotchesParams,
    BoldParams,
    EraseParams,
    FlipParams,
    RowStream,
    ScratchesParams,
    SharpenMode,
    SharpenParams,
    TranslateParams,
    WarpParams,
    draw_affine,
    draw_blotches,
    draw_bold_directions,
    draw_erase,
    draw_flip,
    draw_scratches,
    draw_sharpen_mode,
    draw_square,
    draw_translate,
    draw_warp_noise,
    row_streams,
    warp_displacements,
)
from sparkling_mnist.augment.gaussian import gaussian_blur_batch, gaussian_matrix
from sparkling_mnist.augment.geometry import affine_sample_into, bilinear_into, rotate_sample_into, warp_basis
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


def test_affine_samples_without_zoom_are_the_rotation_and_zoom_scales_about_the_centre() -> None:
    image = np.random.default_rng(3).integers(0, 256, size=(28, 28)).astype(np.uint8)
    rotated, affine = np.empty((28, 28)), np.empty((28, 28))
    for angle in (-12.0, 0.5, 7.0):
        rotate_sample_into(image, angle, rotated)
        affine_sample_into(image, angle, 1.0, affine)
        np.testing.assert_allclose(affine, rotated, rtol=0, atol=1e-9)
    affine_sample_into(image, 0.0, 2.0, affine)  # output pixel (r, c) reads (13.5 + (r - 13.5) / 2, ...)
    expected = ndi.map_coordinates(
        image.astype(np.float64),
        np.mgrid[0:28, 0:28] / 2.0 + 13.5 / 2.0,
        order=1,
        mode="grid-constant",
        cval=0.0,
    )
    np.testing.assert_allclose(affine, expected, rtol=0, atol=1e-9)


def test_flip_draws_follow_their_probability() -> None:
    for probability in (0.0, 0.3, 1.0):
        flips = [draw_flip(rng, FlipParams(probability)) for rng in generators(2000, "flip")]
        assert abs(np.mean(flips) - probability) < 0.035  # standard error at most 0.011


def test_translate_draws_cover_every_offset_uniformly() -> None:
    offsets = np.array([draw_translate(rng, TranslateParams()) for rng in generators(5000, "translate")])
    for axis in range(2):
        counts = np.bincount(offsets[:, axis] + 2, minlength=5)
        assert counts.size == 5 and counts.min() > 850  # 1,000 expected per value
    assert np.corrcoef(offsets.T)[0, 1] < 0.05  # the two axes are independent


def test_affine_draws_are_clipped_normals_and_uniform_zooms() -> None:
    params = AffineParams()
    draws = np.array([draw_affine(rng, params) for rng in generators(5000, "affine")])
    angles, zooms = draws.T
    assert np.abs(angles).max() == pytest.approx(12.0)  # clipped at 2 sigma: about 4.6 % of rows
    assert 0.03 < np.mean(np.abs(angles) == 12.0) < 0.065
    assert 5.0 < angles.std() < 6.0  # a normal of sigma 6, clipped
    assert zooms.min() >= 0.92 and zooms.max() < 1.08
    assert zooms.min() < 0.921 and zooms.max() > 1.079


def test_erase_draws_cover_their_ranges() -> None:
    params = EraseParams(probability=1.0)
    boxes = np.array([draw_erase(rng, params)[0] for rng in generators(3000, "erase")])
    top, left, height, width = boxes.T
    assert np.all(top + height <= 28) and np.all(left + width <= 28)
    assert top.min() == 0 and left.min() == 0 and (top + height).max() == 28 and (left + width).max() == 28
    area = height * width / 784.0
    # Sides are rounded to whole pixels, so the area strays a little from [0.02, 0.2].
    assert 0.012 < area.min() < 0.03 and 0.18 < area.max() < 0.24
    aspect = np.log(height / width)
    assert aspect.min() < np.log(0.45) and aspect.max() > np.log(2.2)  # log-uniform in [0.3, 3.3]
    assert abs(np.median(aspect)) < 0.15
    noisy = [draw_erase(rng, EraseParams(probability=1.0, fill="noise"))[1] for rng in generators(300, "erase")]
    values = np.concatenate([fill.ravel() for fill in noisy])
    assert values.min() == 0 and values.max() == 255 and abs(values.mean() - 127.5) < 2


def test_an_erase_that_does_not_fit_is_clipped_to_the_image() -> None:
    params = EraseParams(probability=1.0, min_area=0.9, max_area=1.0, min_aspect=4.0, max_aspect=5.0)
    for rng in generators(200, "erase"):
        (top, left, height, width), fill = draw_erase(rng, params)
        assert (top, height) == (0, 28) and 0 <= left <= 28 - width and fill.shape == (height, width)
