"""Tests of the augmentation effects: fidelity to scikit-image, determinism, invariants.

The fidelity tests re-create each row's generator from the same seeds, draw the
row's parameters with the library's public ``draw_*`` functions, and transform the
image one at a time with plain scikit-image calls. The batch functions must give
the same bytes, except where bilinear interpolation is involved (rotate, warp,
affine and the composites that contain them): there float rounding may move a grey
level across a .5 boundary, and the tolerance is stated per test. Every effect is
held to its reference on synthetic digits; the garment effects also on synthetic
garments (filled, textured shapes that reach the border).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from sparkling_mnist.augment import (
    COMPOSITE_STEPS,
    EFFECTS,
    PRESET_EFFECTS,
    AffineParams,
    All2Params,
    AllParams,
    BlotchesParams,
    BoldParams,
    DilateParams,
    EraseParams,
    ErodeDilateParams,
    FlipParams,
    GarmentsParams,
    JitterParams,
    RotateParams,
    ScratchesParams,
    SharpenMode,
    SharpenParams,
    ShiftParams,
    TranslateParams,
    UnknownEffectError,
    WarpParams,
    affine_batch,
    apply_effect,
    draw_affine,
    draw_all2_plan,
    draw_all_plan,
    draw_erase,
    draw_flip,
    draw_garments_plan,
    draw_jitter,
    draw_rotate_angle,
    draw_shift,
    draw_translate,
    effect_suits,
    erase_batch,
    flip_batch,
    jitter_batch,
    known_effects,
    rotate_batch,
    row_keys,
    row_streams,
    shift_batch,
    translate_batch,
    validate_batch,
)
from sparkling_mnist.augment.reference import REFERENCES, Image, ref_rotate

RUN_SEED = 20240611
ALL_EFFECTS = (
    "affine",
    "all",
    "all2",
    "blotches",
    "bold",
    "dilate",
    "erase",
    "erode",
    "erodedilate",
    "flip",
    "garments",
    "jitter",
    "rotate",
    "scratches",
    "shift",
    "translate",
    "warp",
)
GARMENT_ONLY = ("flip", "garments")
GARMENT_EFFECTS = ("affine", "erase", "flip", "garments", "jitter", "translate")


# --- synthetic digits -------------------------------------------------------------


def synthetic_digits(n: int, seed: int) -> NDArray[np.uint8]:
    """Draw ``n`` digit-like images: 2-3 anti-aliased quadratic strokes, blank border.

    Strokes stay in rows and columns 5..22, so no ink is within 3 pixels of the
    border (like MNIST's 20x20 box); stroke profiles are 255 in the core with grey
    edges, about 3 pixels wide.
    """
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.arange(28), np.arange(28), indexing="ij"), axis=-1)
    pixels = grid.reshape(-1, 1, 2).astype(np.float64)
    t = np.linspace(0.0, 1.0, 24)[:, None]
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i in range(n):
        points = []
        for _ in range(int(rng.integers(2, 4))):
            p0, p1, p2 = rng.uniform(6.0, 21.0, size=(3, 2))
            points.append((1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2)
        curve = np.concatenate(points)[None, :, :]
        distance = np.sqrt(((pixels - curve) ** 2).sum(axis=-1)).min(axis=1)
        ink = np.clip((1.8 - distance) / 1.2, 0.0, 1.0) * 255.0
        images[i] = np.rint(ink).reshape(28, 28).astype(np.uint8)
    return images


def synthetic_garments(n: int, seed: int) -> NDArray[np.uint8]:
    """Draw ``n`` garment-like images: a filled body with sleeves, textured, on black.

    The body is a rectangle of random size (up to the whole height, as Fashion-MNIST's
    dresses and trousers), sleeves a random horizontal bar across its top; the fabric
    is a grey level 40..230 with +-25 levels of noise, never 0; the rest is 0.
    """
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i in range(n):
        top, bottom = int(rng.integers(0, 6)), int(rng.integers(22, 29))
        half = int(rng.integers(5, 12))
        mask = np.zeros((28, 28), dtype=bool)
        mask[top:bottom, 14 - half : 14 + half] = True
        sleeve = int(rng.integers(0, 14 - half + 1))
        mask[top : top + int(rng.integers(3, 10)), 14 - half - sleeve : 14 + half + sleeve] = True
        fabric = rng.integers(40, 231) + rng.integers(-25, 26, size=(28, 28))
        images[i][mask] = np.clip(fabric, 1, 255)[mask]
    return images


@pytest.fixture(scope="module")
def digits() -> NDArray[np.uint8]:
    return synthetic_digits(48, seed=7)


@pytest.fixture(scope="module")
def garments() -> NDArray[np.uint8]:
    return synthetic_garments(48, seed=11)


@pytest.fixture(scope="module")
def source_ids() -> NDArray[np.int64]:
    return np.arange(1000, 1048, dtype=np.int64) * 7919


# Largest allowed |batch - reference| per effect, in grey levels. Exact effects
# only move, max or min existing values. Rotate and warp resample: scikit-image and
# the batch code compute the same bilinear sums in a different order (~1e-12 apart)
# and round once, so a value at a .5 boundary may round differently: 1 level. In the
# composites a 1-level difference before a second interpolation and its sharpening
# (unsharp gain up to 1 + 2 * amount) or histogram match can grow, so they get 3
# levels and must agree exactly on at least 99.5 % of pixels.
TOLERANCE = {
    "rotate": 1,
    "warp": 1,
    "shift": 0,
    "bold": 0,
    "dilate": 0,
    "erode": 0,
    "erodedilate": 0,
    "scratches": 0,
    "blotches": 0,
    "all": 3,
    "all2": 3,
    "flip": 0,
    "translate": 0,
    "affine": 1,  # interpolation rounding, as rotate; never sharpened, so no more
    "erase": 0,
    "jitter": 0,  # the mean is a sum of integers, exact in any order
    "garments": 2,  # an affine rounding difference, times jitter's contrast (at most 1.2)
}


# --- fidelity -----------------------------------------------------------------------


@pytest.mark.parametrize("effect", ALL_EFFECTS)
def test_batch_matches_per_image_scikit_image_reference(
    effect: str, digits: Image, source_ids: NDArray[np.int64]
) -> None:
    reference, params = REFERENCES[effect]
    copy_index = 3
    actual = EFFECTS[effect](digits, row_keys(RUN_SEED, source_ids, copy_index, effect), params)
    rngs = row_streams(RUN_SEED, source_ids, copy_index, effect)
    expected = np.stack([reference(image, rng, params) for image, rng in zip(digits, rngs, strict=True)])
    difference = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    assert difference.max() <= TOLERANCE[effect]
    assert np.mean(difference == 0) >= 0.995
    # The effect did something: a reference that returned its input would pass too.
    assert not np.array_equal(actual, digits)


@pytest.mark.parametrize("effect", GARMENT_EFFECTS)
@pytest.mark.parametrize("params_name", ["default", "other"])
def test_garment_effects_match_their_references_on_garments(
    effect: str, params_name: str, garments: Image, source_ids: NDArray[np.int64]
) -> None:
    reference, default = REFERENCES[effect]
    other: dict[str, object] = {
        "flip": FlipParams(probability=1.0),
        "translate": TranslateParams(max_pixels=5),
        "affine": AffineParams(sigma_degrees=15.0, scale=0.2),
        "erase": EraseParams(probability=1.0, fill="noise", min_area=0.1, max_area=0.9, max_aspect=6.0),
        "jitter": JitterParams(contrast=0.5, brightness=60.0, keep_background=False),
        "garments": GarmentsParams(flip_prob=0.9, erase_prob=0.9, jitter_prob=0.9, erase=EraseParams(fill="noise")),
    }
    params = default if params_name == "default" else other[effect]
    actual = EFFECTS[effect](garments, row_keys(RUN_SEED, source_ids, 5, effect), params)
    rngs = row_streams(RUN_SEED, source_ids, 5, effect)
    expected = np.stack([reference(image, rng, params) for image, rng in zip(garments, rngs, strict=True)])
    difference = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    assert difference.max() <= TOLERANCE[effect]
    assert np.mean(difference == 0) >= 0.995
    assert not np.array_equal(actual, garments)


@pytest.mark.parametrize("mode", [SharpenMode.UNSHARP, SharpenMode.CONTRAST, SharpenMode.MATCH])
def test_rotate_matches_reference_in_every_sharpen_mode(
    mode: SharpenMode, digits: Image, source_ids: NDArray[np.int64]
) -> None:
    # One mode at a time, with larger angles so that every row is rotated.
    sharpen = SharpenParams(
        unsharp_weight=float(mode == SharpenMode.UNSHARP),
        contrast_weight=float(mode == SharpenMode.CONTRAST),
        match_weight=float(mode == SharpenMode.MATCH),
    )
    params = RotateParams(sigma_degrees=20.0, sharpen=sharpen)
    actual = rotate_batch(digits, row_keys(RUN_SEED, source_ids, 0, "r"), params)
    rngs = row_streams(RUN_SEED, source_ids, 0, "r")
    expected = np.stack([ref_rotate(im, rng, params) for im, rng in zip(digits, rngs, strict=True)])
    difference = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    assert difference.max() <= 1  # interpolation rounding, see TOLERANCE
    assert np.mean(difference == 0) >= 0.995


# --- determinism --------------------------------------------------------------------


@pytest.mark.parametrize("effect", ALL_EFFECTS)
def test_same_seeds_give_same_bytes(effect: str, digits: Image, source_ids: NDArray[np.int64]) -> None:
    first = apply_effect(effect, digits, source_ids, 1, RUN_SEED)
    second = apply_effect(effect, digits.copy(), source_ids.copy(), 1, RUN_SEED)
    assert first.tobytes() == second.tobytes()


@pytest.mark.parametrize("effect", ALL_EFFECTS)
def test_row_output_does_not_depend_on_batch_split_or_order(
    effect: str, digits: Image, source_ids: NDArray[np.int64]
) -> None:
    whole = apply_effect(effect, digits, source_ids, 2, RUN_SEED)
    order = np.random.default_rng(0).permutation(len(digits))
    half = len(order) // 2
    second_half_first = np.concatenate([order[half:], order[:half]])
    parts = [
        apply_effect(effect, digits[rows], source_ids[rows], 2, RUN_SEED)
        for rows in (second_half_first[:half], second_half_first[half:])
    ]
    np.testing.assert_array_equal(np.concatenate(parts), whole[second_half_first])


@pytest.mark.parametrize("effect", ALL_EFFECTS)
def test_other_copy_index_gives_other_output(effect: str, digits: Image, source_ids: NDArray[np.int64]) -> None:
    copy0 = apply_effect(effect, digits, source_ids, 0, RUN_SEED)
    copy1 = apply_effect(effect, digits, source_ids, 1, RUN_SEED)
    rows_that_differ = np.mean(np.any(copy0 != copy1, axis=(1, 2)))
    # Some rows may legitimately coincide (e.g. two rotations both under 1 degree,
    # or the same one of four shift directions), but not most of them. Two flips
    # differ only when exactly one of them mirrors: half of the rows on average.
    assert rows_that_differ >= (0.3 if effect == "flip" else 0.5)


def test_per_row_copy_index_array_equals_scalar(digits: Image, source_ids: NDArray[np.int64]) -> None:
    scalar = apply_effect("all", digits, source_ids, 4, RUN_SEED)
    array = apply_effect("all", digits, source_ids, np.full(48, 4), RUN_SEED)
    np.testing.assert_array_equal(scalar, array)


def test_other_run_seed_gives_other_output(digits: Image, source_ids: NDArray[np.int64]) -> None:
    a = apply_effect("warp", digits, source_ids, 0, RUN_SEED)
    b = apply_effect("warp", digits, source_ids, 0, RUN_SEED + 1)
    assert np.all(np.any(a != b, axis=(1, 2)))


# --- invariants ---------------------------------------------------------------------


@pytest.mark.parametrize("effect", ALL_EFFECTS)
def test_shape_and_dtype_preserved_and_input_untouched(
    effect: str, digits: Image, source_ids: NDArray[np.int64]
) -> None:
    before = digits.copy()
    out = apply_effect(effect, digits, source_ids, 0, RUN_SEED)
    assert out.shape == digits.shape
    assert out.dtype == np.uint8
    assert not np.shares_memory(out, digits)
    np.testing.assert_array_equal(digits, before)


@pytest.mark.parametrize("effect", ALL_EFFECTS)
def test_empty_batch_gives_empty_batch(effect: str) -> None:
    empty = np.empty((0, 28, 28), dtype=np.uint8)
    out = apply_effect(effect, empty, np.empty(0, dtype=np.int64), 0, RUN_SEED)
    assert out.shape == (0, 28, 28)
    assert out.dtype == np.uint8


@pytest.mark.parametrize("effect", ["shift", "bold", "dilate", "erode", "erodedilate", "flip", "translate"])
def test_pixel_moving_effects_create_no_new_grey_levels(
    effect: str, digits: Image, source_ids: NDArray[np.int64]
) -> None:
    out = apply_effect(effect, digits, source_ids, 0, RUN_SEED)
    for before, after in zip(digits, out, strict=True):
        assert set(np.unique(after).tolist()) <= set(np.unique(before).tolist()) | {0}


def test_sharpened_rotation_keeps_a_digit_like_range(digits: Image, source_ids: NDArray[np.int64]) -> None:
    out = apply_effect("rotate", digits, source_ids, 0, RUN_SEED)
    assert out[:, :2, :].max() == 0  # the blank border stays blank under 20 degrees
    assert np.all(out.reshape(len(out), -1).max(axis=1) >= 200)  # ink stays bright


def test_rotation_below_one_degree_is_identity(digits: Image, source_ids: NDArray[np.int64]) -> None:
    params = RotateParams(sigma_degrees=0.5)
    out = rotate_batch(digits, row_keys(RUN_SEED, source_ids, 0, "r"), params)
    angles = np.array([draw_rotate_angle(rng, params) for rng in row_streams(RUN_SEED, source_ids, 0, "r")])
    small = np.abs(angles) < 1.0
    assert small.sum() >= 40 and (~small).sum() >= 1  # both cases occur
    np.testing.assert_array_equal(out[small], digits[small])
    assert np.all(np.any(out[~small] != digits[~small], axis=(1, 2)))


def test_rotation_angles_follow_normal_zero_eight_degrees() -> None:
    rngs = row_streams(RUN_SEED, np.arange(4000), 0, "rotate")
    angles = np.array([draw_rotate_angle(rng, RotateParams()) for rng in rngs])
    assert abs(angles.mean()) < 0.5  # standard error 8 / sqrt(4000) = 0.13
    assert 7.6 < angles.std() < 8.4


def test_shift_moves_the_digit_by_exactly_one_pixel(digits: Image, source_ids: NDArray[np.int64]) -> None:
    out = shift_batch(digits, row_keys(RUN_SEED, source_ids, 0, "shift"))
    offsets = [draw_shift(rng, ShiftParams()) for rng in row_streams(RUN_SEED, source_ids, 0, "shift")]
    assert {tuple(o) for o in offsets} == {(-1, 0), (1, 0), (0, -1), (0, 1)}
    grid = np.mgrid[0:28, 0:28]
    for before, after, offset in zip(digits, out, offsets, strict=True):
        # The border is blank, so nothing falls off: the same ink, one pixel over.
        assert int(after.sum()) == int(before.sum())
        np.testing.assert_array_equal(after, np.roll(before, offset, axis=(0, 1)))
        mass = before.sum()
        centre_before = (grid * before).sum(axis=(1, 2)) / mass
        centre_after = (grid * after).sum(axis=(1, 2)) / mass
        np.testing.assert_allclose(centre_after - centre_before, offset, atol=1e-9)


def test_shift_drops_ink_pushed_over_the_border() -> None:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[0, :] = 200  # the top row and the left column touch the border
    image[:, 0] = 100
    ids = np.arange(40)
    out = shift_batch(np.stack([image] * 40), row_keys(RUN_SEED, ids, 0, "s"))
    offsets = [draw_shift(rng, ShiftParams()) for rng in row_streams(RUN_SEED, ids, 0, "s")]
    assert len(set(offsets)) == 4
    for moved, (d_row, d_col) in zip(out, offsets, strict=True):
        padded = np.pad(image, 1)  # zeros around, so moving in a 0 is a window shift
        expected = padded[1 - d_row : 29 - d_row, 1 - d_col : 29 - d_col]
        np.testing.assert_array_equal(moved, expected)


@pytest.mark.parametrize(
    ("effect", "never"),
    [
        ("dilate", "decreases"),
        ("bold", "decreases"),
        ("scratches", "decreases"),
        ("erode", "increases"),
        ("blotches", "increases"),
    ],
)
def test_monotone_effects(effect: str, never: str, digits: Image, source_ids: NDArray[np.int64]) -> None:
    out = apply_effect(effect, digits, source_ids, 0, RUN_SEED).astype(np.int16)
    before = digits.astype(np.int16)
    if never == "decreases":
        assert np.all(out >= before)
        assert np.all(out.sum(axis=(1, 2)) > before.sum(axis=(1, 2)))
    else:
        assert np.all(out <= before)
        assert np.mean(out.sum(axis=(1, 2)) < before.sum(axis=(1, 2))) >= 0.8


def test_all2_always_takes_one_geometric_and_one_other_step() -> None:
    rngs = row_streams(RUN_SEED, np.arange(500), 0, "all2")
    plans = np.array([draw_all2_plan(rng, All2Params()) for rng in rngs])
    assert not plans[:, 0].any()  # no shift
    assert np.all(plans[:, 1:3].sum(axis=1) == 1)  # rotate xor warp
    assert np.all(plans[:, 3:].sum(axis=1) == 1)  # one of the four others
    assert plans[:, 3:].sum(axis=0).min() > 80  # each second step occurs


def test_all_takes_at_least_one_step_and_every_step_occurs() -> None:
    rngs = row_streams(RUN_SEED, np.arange(500), 0, "all")
    plans = np.array([draw_all_plan(rng, AllParams()) for rng in rngs])
    assert np.all(plans.sum(axis=1) >= 1)
    assert plans.sum(axis=0).min() > 40
    assert 1.7 < plans.sum(axis=1).mean() < 2.4


def test_flip_mirrors_left_right_the_rows_it_draws(garments: Image, source_ids: NDArray[np.int64]) -> None:
    keys = row_keys(RUN_SEED, source_ids, 0, "flip")
    out = flip_batch(garments, keys)
    flipped = np.array([draw_flip(rng, FlipParams()) for rng in row_streams(RUN_SEED, source_ids, 0, "flip")])
    assert 10 <= flipped.sum() <= 38  # about half of 48
    np.testing.assert_array_equal(out[flipped], garments[flipped][:, :, ::-1])
    np.testing.assert_array_equal(out[~flipped], garments[~flipped])
    always = flip_batch(garments, keys, FlipParams(probability=1.0))
    np.testing.assert_array_equal(always, garments[:, :, ::-1])
    np.testing.assert_array_equal(flip_batch(garments, keys, FlipParams(probability=0.0)), garments)


def test_translate_moves_every_row_by_its_drawn_offset(digits: Image, source_ids: NDArray[np.int64]) -> None:
    out = translate_batch(digits, row_keys(RUN_SEED, source_ids, 0, "translate"))
    offsets = [draw_translate(rng, TranslateParams()) for rng in row_streams(RUN_SEED, source_ids, 0, "translate")]
    for before, after, offset in zip(digits, out, offsets, strict=True):
        # The synthetic digits keep 5 blank pixels at the border: nothing falls off.
        np.testing.assert_array_equal(after, np.roll(before, offset, axis=(0, 1)))


def test_affine_without_rotation_or_zoom_is_identity(garments: Image, source_ids: NDArray[np.int64]) -> None:
    keys = row_keys(RUN_SEED, source_ids, 0, "affine")
    np.testing.assert_array_equal(affine_batch(garments, keys, AffineParams(sigma_degrees=0.0, scale=0.0)), garments)


def test_affine_zoom_grows_and_shrinks_the_ink(digits: Image, source_ids: NDArray[np.int64]) -> None:
    keys = row_keys(RUN_SEED, source_ids, 0, "affine")
    params = AffineParams(sigma_degrees=0.0, scale=0.3)
    zoomed = affine_batch(digits, keys, params)
    zooms = np.array([draw_affine(rng, params)[1] for rng in row_streams(RUN_SEED, source_ids, 0, "affine")])
    assert zooms.min() < 0.85 and zooms.max() > 1.15
    ink = digits.sum(axis=(1, 2), dtype=np.float64)
    ratio = zoomed.sum(axis=(1, 2), dtype=np.float64) / ink
    # The ink (grey mass) scales by zoom**2, up to resampling and rounding.
    np.testing.assert_allclose(ratio, np.square(zooms), rtol=0.05)


def test_erase_overwrites_exactly_its_rectangle(garments: Image, source_ids: NDArray[np.int64]) -> None:
    for params in (EraseParams(), EraseParams(fill="noise", grey_level=7)):
        out = erase_batch(garments, row_keys(RUN_SEED, source_ids, 0, "erase"), params)
        draws = [draw_erase(rng, params) for rng in row_streams(RUN_SEED, source_ids, 0, "erase")]
        assert 10 <= sum(height > 0 for (_, _, height, _), _ in draws) <= 38  # p = 0.5
        for before, after, ((top, left, height, width), fill) in zip(garments, out, draws, strict=True):
            inside = np.zeros((28, 28), dtype=bool)
            inside[top : top + height, left : left + width] = True
            np.testing.assert_array_equal(after[~inside], before[~inside])
            np.testing.assert_array_equal(after[inside], fill.ravel())
            if params.fill == "grey":
                assert np.all(fill == params.grey_level)


def test_jitter_keeps_the_background_black_and_moves_the_garment(
    garments: Image, source_ids: NDArray[np.int64]
) -> None:
    out = jitter_batch(garments, row_keys(RUN_SEED, source_ids, 0, "jitter"))
    assert np.all(out[garments == 0] == 0)
    draws = [draw_jitter(rng, JitterParams()) for rng in row_streams(RUN_SEED, source_ids, 0, "jitter")]
    factors, offsets = np.array(draws).T
    assert np.all(np.abs(factors - 1.0) <= 0.2) and np.all(np.abs(offsets) <= 20.0)
    # The garment's mean moves by about the brightness offset (contrast keeps the image's mean).
    fabric = garments > 0
    moved = np.array([(a[m].astype(float) - b[m]).mean() for a, b, m in zip(out, garments, fabric, strict=True)])
    assert np.corrcoef(moved, offsets)[0, 1] > 0.8
    still = jitter_batch(garments, row_keys(RUN_SEED, source_ids, 0, "j"), JitterParams(0.0, 0.0, False))
    np.testing.assert_array_equal(still, garments)
    grey = jitter_batch(garments, row_keys(RUN_SEED, source_ids, 0, "j"), JitterParams(keep_background=False))
    assert np.any(grey[garments == 0] > 0)  # without it, the canvas moves with the garment


def test_garments_plan_takes_one_geometric_step_and_the_others_by_chance() -> None:
    rngs = row_streams(RUN_SEED, np.arange(2000), 0, "garments")
    plans = np.array([draw_garments_plan(rng, GarmentsParams()) for rng in rngs])
    assert np.all(plans[:, 1] != plans[:, 2])  # translate xor affine
    flip, translate, _, erase, jitter = plans.mean(axis=0)
    # Standard errors: sqrt(0.25 / 2000) = 0.011, sqrt(0.21 / 2000) = 0.010.
    assert abs(flip - 0.5) < 0.05 and abs(translate - 0.5) < 0.05
    assert abs(erase - 0.3) < 0.05 and abs(jitter - 0.3) < 0.05


def test_digit_composites_never_flip_and_presets_suit_their_images() -> None:
    assert "flip" not in COMPOSITE_STEPS  # all and all2 draw their steps from these only
    for name in ALL_EFFECTS:
        assert effect_suits(name, "garments") or effect_suits(name, "digits")
        assert effect_suits(name, "digits") == (name not in GARMENT_ONLY)
    assert all(effect_suits(name, "digits") for name in PRESET_EFFECTS["digits"])
    assert all(effect_suits(name, "garments") for name in PRESET_EFFECTS["garments"])
    assert not effect_suits("rotate", "garments") and not effect_suits("all2", "garments")


# --- errors -------------------------------------------------------------------------


def test_unknown_effect_names_the_known_effects(digits: Image, source_ids: NDArray[np.int64]) -> None:
    with pytest.raises(UnknownEffectError) as raised:
        apply_effect("smudge", digits, source_ids, 0, RUN_SEED)
    assert isinstance(raised.value, ValueError)
    message = str(raised.value)
    assert "'smudge'" in message
    for name in ALL_EFFECTS:
        assert name in message
    assert known_effects() == sorted(ALL_EFFECTS)
    assert sorted(EFFECTS) == sorted(ALL_EFFECTS)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 28, 28), dtype=np.float32),
        np.zeros((2, 28, 27), dtype=np.uint8),
        np.zeros((28, 28), dtype=np.uint8),
        np.zeros((2, 784), dtype=np.uint8),
    ],
)
@pytest.mark.parametrize("effect", ["rotate", "shift", "all"])
def test_malformed_batch_is_rejected_naming_shape_and_dtype(effect: str, bad: NDArray[np.generic]) -> None:
    keys = row_keys(RUN_SEED, np.arange(len(bad)), 0, effect)
    with pytest.raises(ValueError, match=r"uint8 array of shape \(N, 28, 28\)"):
        EFFECTS[effect](bad, keys)  # type: ignore[arg-type]


def test_key_count_must_match_batch(digits: Image) -> None:
    keys = row_keys(RUN_SEED, np.arange(3), 0, "bold")
    with pytest.raises(ValueError, match=r"shape \(3,\) for 48 images"):
        EFFECTS["bold"](digits, keys)


def test_source_id_count_must_match_batch(digits: Image) -> None:
    with pytest.raises(ValueError, match=r"source_ids must have shape \(48,\)"):
        apply_effect("bold", digits, np.arange(47), 0, RUN_SEED)


def test_wrong_params_type_is_rejected(digits: Image, source_ids: NDArray[np.int64]) -> None:
    with pytest.raises(TypeError, match="takes RotateParams settings, got WarpParams"):
        apply_effect("rotate", digits, source_ids, 0, RUN_SEED, params=WarpParams())


def test_custom_params_are_used(digits: Image, source_ids: NDArray[np.int64]) -> None:
    still = apply_effect("rotate", digits, source_ids, 0, RUN_SEED, params=RotateParams(sigma_degrees=0.0))
    np.testing.assert_array_equal(still, digits)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: RotateParams(sigma_degrees=-1.0), "RotateParams.sigma_degrees"),
        (lambda: WarpParams(sigma=0.0), "WarpParams.sigma"),
        (lambda: ShiftParams(distance=0), "ShiftParams.distance"),
        (lambda: BoldParams(max_copies=5), "BoldParams.max_copies"),
        (lambda: DilateParams(min_size=3, max_size=2), "DilateParams"),
        (lambda: ErodeDilateParams(dilate_prob=1.5), "ErodeDilateParams.dilate_prob"),
        (lambda: ScratchesParams(max_intensity=300), "ScratchesParams"),
        (lambda: BlotchesParams(min_radius=0.0), "BlotchesParams"),
        (lambda: SharpenParams(contrast_low=200.0), "SharpenParams"),
        (lambda: AllParams(warp_prob=2.0), "AllParams.warp_prob"),
        (lambda: All2Params(bold_weight=-1.0), "All2Params"),
        (lambda: FlipParams(probability=1.1), "FlipParams.probability"),
        (lambda: TranslateParams(max_pixels=0), "TranslateParams.max_pixels"),
        (lambda: AffineParams(sigma_degrees=-1.0), "AffineParams.sigma_degrees"),
        (lambda: AffineParams(scale=1.0), "AffineParams.scale"),
        (lambda: EraseParams(min_area=0.3, max_area=0.2), "EraseParams"),
        (lambda: EraseParams(min_aspect=0.0), "EraseParams"),
        (lambda: EraseParams(fill="paint"), "EraseParams.fill"),  # type: ignore[arg-type]
        (lambda: EraseParams(grey_level=256), "EraseParams.grey_level"),
        (lambda: JitterParams(contrast=1.0), "JitterParams.contrast"),
        (lambda: JitterParams(brightness=-1.0), "JitterParams.brightness"),
        (lambda: GarmentsParams(jitter_prob=1.5), "GarmentsParams.jitter_prob"),
        (lambda: GarmentsParams(erase=EraseParams(probability=0.9)), "GarmentsParams.erase.probability"),
    ],
)
def test_invalid_params_name_the_field(make: Callable[[], object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        make()


def test_read_only_and_strided_input_gives_the_same_bytes(digits: Image, source_ids: NDArray[np.int64]) -> None:
    # Arrow hands the Spark job read-only buffers; the kernels must see the same
    # (contiguous, writeable) arrays there as here, or every worker compiles again.
    expected = apply_effect("all", digits, source_ids, 0, RUN_SEED)
    frozen = digits.copy()
    frozen.setflags(write=False)
    np.testing.assert_array_equal(apply_effect("all", frozen, source_ids, 0, RUN_SEED), expected)
    strided = np.stack([digits, digits], axis=1)[:, 0]
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(apply_effect("all", strided, source_ids, 0, RUN_SEED), expected)
    assert validate_batch(frozen).flags.writeable
    assert validate_batch(frozen) is not frozen and validate_batch(digits) is digits
