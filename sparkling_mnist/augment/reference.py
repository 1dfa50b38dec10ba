"""Plain per-image scikit-image implementations of every effect: the fidelity yardstick.

Each reference takes one image, that row's :class:`RowStream` and the effect's
settings, draws exactly what the compiled kernel draws (through the same ``draw_*``
functions) and then does the image operation the obvious way, with scikit-image.
The unit tests hold the kernels to these, and ``benchmarks/augment.py`` times them
as the per-image baseline.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from skimage.draw import disk, line
from skimage.exposure import match_histograms, rescale_intensity
from skimage.filters import unsharp_mask
from skimage.morphology import dilation, erosion
from skimage.transform import SimilarityTransform, rotate, warp

from sparkling_mnist.augment.composite import draw_all2_plan, draw_all_plan, draw_garments_plan
from sparkling_mnist.augment.geometry import (
    draw_affine,
    draw_flip,
    draw_rotate_angle,
    draw_shift,
    draw_translate,
    draw_warp_noise,
    warp_displacements,
)
from sparkling_mnist.augment.morphology import Square, draw_bold_directions, draw_erodedilate, draw_square
from sparkling_mnist.augment.noise import draw_blotches, draw_erase, draw_scratches
from sparkling_mnist.augment.params import (
    COMPOSITE_STEPS,
    GARMENT_STEPS,
    AffineParams,
    All2Params,
    AllParams,
    BlotchesParams,
    BoldParams,
    DilateParams,
    EraseParams,
    ErodeDilateParams,
    ErodeParams,
    FlipParams,
    GarmentsParams,
    JitterParams,
    RotateParams,
    ScratchesParams,
    SharpenParams,
    ShiftParams,
    TranslateParams,
    WarpParams,
)
from sparkling_mnist.augment.photometric import draw_jitter
from sparkling_mnist.augment.seeding import row_streams
from sparkling_mnist.augment.sharpen import SharpenMode, draw_sharpen_mode
from sparkling_mnist.augment.stream import RowStream

Image = NDArray[np.uint8]


def as_image(values: object) -> Image:
    """Type an untyped scikit-image result, checking that it stayed uint8."""
    assert isinstance(values, np.ndarray) and values.dtype == np.uint8
    return values


def to_u8(values: NDArray[np.float64]) -> Image:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def ref_sharpen(interpolated: NDArray[np.float64], source: Image, mode: int, p: SharpenParams) -> Image:
    if mode == SharpenMode.UNSHARP:
        sharp = unsharp_mask(interpolated / 255.0, radius=p.unsharp_radius, amount=p.unsharp_amount)
        return to_u8(sharp * 255.0)
    if mode == SharpenMode.CONTRAST:
        return to_u8(
            rescale_intensity(
                interpolated,
                in_range=(p.contrast_low, p.contrast_high),
                out_range=(0.0, 255.0),
            )
        )
    rounded = to_u8(interpolated)
    matched = to_u8(match_histograms(rounded, source))
    matched[rounded == 0] = 0  # the background stays black
    return matched


def ref_rotate(image: Image, rng: RowStream, p: RotateParams) -> Image:
    angle = draw_rotate_angle(rng, p)
    mode = draw_sharpen_mode(rng, p.sharpen)
    if abs(angle) < p.min_degrees:
        return image.copy()
    rotated = rotate(image, angle, order=1, mode="constant", cval=0, preserve_range=True)
    return ref_sharpen(rotated, image, mode, p.sharpen)


def ref_warp(image: Image, rng: RowStream, p: WarpParams) -> Image:
    noise = draw_warp_noise(rng, p)
    mode = draw_sharpen_mode(rng, p.sharpen)
    d_row, d_col = warp_displacements(noise, p)  # the field's own test: test_warp_field_is_simards
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float64)
    warped = warp(
        image,
        np.array([rows + d_row, cols + d_col]),
        order=1,
        mode="constant",
        cval=0,
        preserve_range=True,
    )
    return ref_sharpen(warped, image, mode, p.sharpen)


def ref_shift(image: Image, rng: RowStream, p: ShiftParams) -> Image:
    d_row, d_col = draw_shift(rng, p)
    return moved_by(image, d_row, d_col)


def moved_by(image: Image, d_row: int, d_col: int) -> Image:
    """``image`` moved ``d_row`` pixels down and ``d_col`` right, zero fill, with scikit-image."""
    # warp's map takes output (x=col, y=row) to input: input = output - offset.
    moved = warp(
        image,
        SimilarityTransform(translation=(-d_col, -d_row)),
        order=0,
        mode="constant",
        cval=0,
        preserve_range=True,
    )
    return to_u8(moved)


def ref_bold(image: Image, rng: RowStream, p: BoldParams) -> Image:
    directions = draw_bold_directions(rng, p)
    footprint = np.zeros((3, 3), dtype=bool)
    footprint[1, 1] = True
    offsets = ((-1, 0), (1, 0), (0, -1), (0, 1))
    for (d_row, d_col), chosen in zip(offsets, directions, strict=True):
        if chosen:
            # Content moved by d means each pixel also sees its neighbour at -d.
            footprint[1 - d_row, 1 - d_col] = True
    return as_image(dilation(image, footprint, mode="constant", cval=0))


def square_footprint(square: Square) -> NDArray[np.bool_]:
    """The square as an odd-sized scikit-image footprint centred on the pixel."""
    row_end = square.row_start + square.size - 1
    col_end = square.col_start + square.size - 1
    half = max(abs(square.row_start), abs(row_end), abs(square.col_start), abs(col_end))
    footprint = np.zeros((2 * half + 1, 2 * half + 1), dtype=bool)
    footprint[half + square.row_start : half + row_end + 1, half + square.col_start : half + col_end + 1] = True
    return footprint


def ref_dilate(image: Image, rng: RowStream, p: DilateParams) -> Image:
    square = draw_square(rng, p.min_size, p.max_size)
    return as_image(dilation(image, square_footprint(square)))


def ref_erode(image: Image, rng: RowStream, p: ErodeParams) -> Image:
    square = draw_square(rng, p.min_size, p.max_size)
    return as_image(erosion(image, square_footprint(square)))


def ref_erodedilate(image: Image, rng: RowStream, p: ErodeDilateParams) -> Image:
    grow, square = draw_erodedilate(rng, p)
    footprint = square_footprint(square)
    return as_image(dilation(image, footprint) if grow else erosion(image, footprint))


def ref_scratches(image: Image, rng: RowStream, p: ScratchesParams) -> Image:
    noise = np.zeros_like(image)
    for r0, c0, r1, c1, level in draw_scratches(rng, p).tolist():
        rr, cc = line(r0, c0, r1, c1)
        noise[rr, cc] = np.maximum(noise[rr, cc], level)
    return np.maximum(image, noise)


def ref_blotches(image: Image, rng: RowStream, p: BlotchesParams) -> Image:
    noise = np.full_like(image, 255)
    for row, col, radius in draw_blotches(rng, p).tolist():
        rr, cc = disk((row, col), radius, shape=image.shape)
        noise[rr, cc] = 0
    return np.minimum(image, noise)


def ref_flip(image: Image, rng: RowStream, p: FlipParams) -> Image:
    return np.fliplr(image).copy() if draw_flip(rng, p) else image.copy()


def ref_translate(image: Image, rng: RowStream, p: TranslateParams) -> Image:
    d_row, d_col = draw_translate(rng, p)
    return moved_by(image, d_row, d_col)


def ref_affine(image: Image, rng: RowStream, p: AffineParams) -> Image:
    angle, zoom = draw_affine(rng, p)
    centre = (image.shape[0] - 1) / 2.0
    # warp's map takes output (x, y) to input: about the centre, rotate by the angle
    # (counter-clockwise on screen, like skimage.transform.rotate) and divide by the zoom.
    output_to_input = (
        SimilarityTransform(translation=(-centre, -centre))
        + SimilarityTransform(scale=1.0 / zoom, rotation=np.deg2rad(angle))
        + SimilarityTransform(translation=(centre, centre))
    )
    resampled = warp(image, output_to_input, order=1, mode="constant", cval=0, preserve_range=True)
    return to_u8(resampled)


def ref_erase(image: Image, rng: RowStream, p: EraseParams) -> Image:
    (top, left, height, width), fill = draw_erase(rng, p)
    erased = image.copy()
    erased[top : top + height, left : left + width] = fill
    if p.fill == "grey":
        assert np.all(fill == p.grey_level)
    return erased


def ref_jitter(image: Image, rng: RowStream, p: JitterParams) -> Image:
    factor, offset = draw_jitter(rng, p)
    values = image.astype(np.float64)
    mean = values.mean()
    jittered = to_u8((values - mean) * factor + mean + offset)
    if p.keep_background:
        jittered[image == 0] = 0
    return jittered


STEP_REFERENCES: dict[str, Callable[[Image, RowStream, object], Image]] = {
    "shift": ref_shift,  # type: ignore[dict-item]
    "rotate": ref_rotate,  # type: ignore[dict-item]
    "warp": ref_warp,  # type: ignore[dict-item]
    "bold": ref_bold,  # type: ignore[dict-item]
    "erodedilate": ref_erodedilate,  # type: ignore[dict-item]
    "scratches": ref_scratches,  # type: ignore[dict-item]
    "blotches": ref_blotches,  # type: ignore[dict-item]
    "flip": ref_flip,  # type: ignore[dict-item]
    "translate": ref_translate,  # type: ignore[dict-item]
    "affine": ref_affine,  # type: ignore[dict-item]
    "erase": ref_erase,  # type: ignore[dict-item]
    "jitter": ref_jitter,  # type: ignore[dict-item]
}
STEP_ORDER = COMPOSITE_STEPS


def ref_all(image: Image, rng: RowStream, p: AllParams) -> Image:
    plan = draw_all_plan(rng, p)
    for step, taken in zip(STEP_ORDER, plan, strict=True):
        if taken:
            image = STEP_REFERENCES[step](image, rng, getattr(p, step))
    return image


def ref_all2(image: Image, rng: RowStream, p: All2Params) -> Image:
    plan = draw_all2_plan(rng, p)
    assert not plan[0], "all2 never shifts"
    assert plan.sum() == 2, "all2 takes exactly two steps"
    for step, taken in zip(STEP_ORDER, plan, strict=True):
        if taken:
            image = STEP_REFERENCES[step](image, rng, getattr(p, step))
    return image


def ref_garments(image: Image, rng: RowStream, p: GarmentsParams) -> Image:
    plan = draw_garments_plan(rng, p)
    assert plan[1] != plan[2], "garments takes translate or affine, never both"
    # The plan already drew flip_prob and erase_prob: a flip or an erase taken always happens.
    settings = {"flip": FlipParams(probability=1.0), "erase": p.erase_step()}
    for step, taken in zip(GARMENT_STEPS, plan, strict=True):
        if taken:
            image = STEP_REFERENCES[step](image, rng, settings.get(step) or getattr(p, step))
    return image


REFERENCES: dict[str, tuple[Callable[..., Image], object]] = {
    "rotate": (ref_rotate, RotateParams()),
    "warp": (ref_warp, WarpParams()),
    "shift": (ref_shift, ShiftParams()),
    "bold": (ref_bold, BoldParams()),
    "dilate": (ref_dilate, DilateParams()),
    "erode": (ref_erode, ErodeParams()),
    "erodedilate": (ref_erodedilate, ErodeDilateParams()),
    "scratches": (ref_scratches, ScratchesParams()),
    "blotches": (ref_blotches, BlotchesParams()),
    "all": (ref_all, AllParams()),
    "all2": (ref_all2, All2Params()),
    "flip": (ref_flip, FlipParams()),
    "translate": (ref_translate, TranslateParams()),
    "affine": (ref_affine, AffineParams()),
    "erase": (ref_erase, EraseParams()),
    "jitter": (ref_jitter, JitterParams()),
    "garments": (ref_garments, GarmentsParams()),
}


def reference_batch(
    name: str,
    images: Image,
    source_ids: ArrayLike,
    copy_index: int | ArrayLike,
    *,
    run_seed: int,
    params: object | None = None,
) -> Image:
    """``apply_effect``'s result computed image by image with the scikit-image references."""
    reference, default = REFERENCES[name]
    streams = row_streams(run_seed, source_ids, copy_index, name)
    chosen = default if params is None else params
    if not len(streams):
        return np.empty((0, *images.shape[1:]), dtype=np.uint8)
    return np.stack([reference(image, stream, chosen) for image, stream in zip(images, streams, strict=True)])
