"""The batch functions of every effect: one compiled loop over rows runs them all.

Each effect ``<name>_batch(images, keys, params) -> images`` validates the batch,
then :func:`_run_rows` walks the rows: it resets the row's stream to its key, draws
the row's plan (``all``, ``all2``, ``garments``, or the single step of a plain
effect) and runs the planned steps, in :data:`COMPOSITE_STEPS` order (then
:data:`GARMENT_STEPS` order), through the per-image kernels of :mod:`.geometry`,
:mod:`.morphology`, :mod:`.noise` and :mod:`.photometric`, in two 28x28 buffers.
Every effect's settings travel as one tuple of arrays and numbers (:func:`_settings`),
so the loop compiles once for all effects.

Every batch function takes ``images`` (``(N, 28, 28)`` ``uint8``, not modified),
``keys`` (one stream key per row, see ``row_keys``) and its settings, and returns a
new ``(N, 28, 28)`` ``uint8`` batch. It raises ``TypeError`` if ``images`` is not a
numpy array and ``ValueError`` if it is not ``(N, 28, 28)`` ``uint8`` or if
``len(keys) != N``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import IMAGE_SIDE, UInt8Batch, validate_batch, validate_keys
from sparkling_mnist.augment.composite import all2_choice, next_all2_plan, next_all_plan, next_garments_plan
from sparkling_mnist.augment.geometry import (
    GEOMETRY_WORK,
    affine_into,
    flip_into,
    rotate_angle_settings,
    rotate_into,
    shift_into,
    translate_step_into,
    warp_basis_rows,
    warp_into,
    warp_scale,
)
from sparkling_mnist.augment.morphology import bold_into, erodedilate_into, square_into, square_sizes
from sparkling_mnist.augment.noise import blotches_into, erase_into, scratches_into
from sparkling_mnist.augment.params import (
    COMPOSITE_STEPS,
    DEFAULT_AFFINE,
    DEFAULT_ALL,
    DEFAULT_ALL2,
    DEFAULT_BLOTCHES,
    DEFAULT_BOLD,
    DEFAULT_DILATE,
    DEFAULT_ERASE,
    DEFAULT_ERODE,
    DEFAULT_ERODEDILATE,
    DEFAULT_FLIP,
    DEFAULT_GARMENTS,
    DEFAULT_JITTER,
    DEFAULT_ROTATE,
    DEFAULT_SCRATCHES,
    DEFAULT_SHIFT,
    DEFAULT_TRANSLATE,
    DEFAULT_WARP,
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
    ShiftParams,
    TranslateParams,
    WarpParams,
)
from sparkling_mnist.augment.photometric import jitter_into
from sparkling_mnist.augment.sharpen import unsharp_kernel

_STEPS = len(COMPOSITE_STEPS)
# Steps beyond the digit composites' seven: the two square filters (plain effects
# only), then the steps of `garments`, in GARMENT_STEPS order.
_DILATE, _ERODE = _STEPS, _STEPS + 1
_FLIP, _TRANSLATE, _AFFINE, _ERASE, _JITTER = range(_ERODE + 1, _ERODE + 1 + len(GARMENT_STEPS))
_ALL_STEPS = _JITTER + 1
# How a row's plan is drawn: the composites, or one fixed step.
_PLAN_ALL, _PLAN_ALL2, _PLAN_ONE, _PLAN_GARMENTS = 0, 1, 2, 3
# A flip taken as a step of `garments` always mirrors: the plan already drew flip_prob.
_ALWAYS_FLIP = FlipParams(probability=1.0)


def _settings(
    *,
    shift: ShiftParams = DEFAULT_SHIFT,
    rotate: RotateParams = DEFAULT_ROTATE,
    warp: WarpParams = DEFAULT_WARP,
    bold: BoldParams = DEFAULT_BOLD,
    erodedilate: ErodeDilateParams = DEFAULT_ERODEDILATE,
    scratches: ScratchesParams = DEFAULT_SCRATCHES,
    blotches: BlotchesParams = DEFAULT_BLOTCHES,
    dilate: DilateParams = DEFAULT_DILATE,
    erode: ErodeParams = DEFAULT_ERODE,
    flip: FlipParams = DEFAULT_FLIP,
    translate: TranslateParams = DEFAULT_TRANSLATE,
    affine: AffineParams = DEFAULT_AFFINE,
    erase: EraseParams = DEFAULT_ERASE,
    jitter: JitterParams = DEFAULT_JITTER,
) -> tuple[Any, ...]:
    """Every step's settings as :func:`_run_step` takes them (always the same types)."""
    return (
        shift.distance,
        rotate_angle_settings(rotate),
        rotate.sharpen.packed(),
        unsharp_kernel(rotate.sharpen),
        warp_scale(warp),
        warp_basis_rows(warp.sigma),
        warp.sharpen.packed(),
        unsharp_kernel(warp.sharpen),
        bold.max_copies,
        erodedilate.packed(),
        scratches.packed(),
        blotches.packed(),
        square_sizes(dilate),
        square_sizes(erode),
        flip.probability,
        translate.max_pixels,
        affine.packed(),
        erase.packed(),
        jitter.packed(),
    )


@njit(cache=True, nogil=True)
def _run_step(  # noqa: PLR0917 - one branch per step, settings as the kernels take them
    step: int, image: UInt8Batch, state: Any, settings: Any, work: NDArray[np.float64], out: UInt8Batch
) -> None:
    """Run step ``step`` (:data:`COMPOSITE_STEPS`, dilate, erode, :data:`GARMENT_STEPS`) on one row."""
    if step == 0:
        shift_into(image, state, settings[0], out)
    elif step == 1:
        rotate_into(image, state, settings[1], settings[2], settings[3], work, out)
    elif step == 2:
        warp_into(image, state, settings[4], settings[5], settings[6], settings[7], work, out)
    elif step == 3:
        bold_into(image, state, settings[8], out)
    elif step == 4:
        erodedilate_into(image, state, settings[9], out)
    elif step == 5:
        scratches_into(image, state, settings[10], out)
    elif step == 6:
        blotches_into(image, state, settings[11], out)
    elif _DILATE <= step <= _ERODE:
        square_into(image, state, settings[12] if step == _DILATE else settings[13], step == _DILATE, out)
    elif step == _FLIP:
        flip_into(image, state, settings[14], out)
    elif step == _TRANSLATE:
        translate_step_into(image, state, settings[15], out)
    elif step == _AFFINE:
        affine_into(image, state, settings[16], work, out)
    elif step == _ERASE:
        erase_into(image, state, settings[17], out)
    else:
        jitter_into(image, state, settings[18], out)


@njit(cache=True, nogil=True)
def _run_rows(  # noqa: PLR0917
    images: UInt8Batch,
    keys: NDArray[np.uint64],
    plan_kind: int,
    choice: NDArray[np.float64],
    settings: Any,
    out: UInt8Batch,
) -> None:
    """Per row: reset its stream, draw its plan, run the planned steps in order."""
    state = np.zeros(2, dtype=np.uint64)
    work = np.empty((GEOMETRY_WORK, IMAGE_SIDE, IMAGE_SIDE))
    plan = np.zeros(_ALL_STEPS, dtype=np.bool_)
    buffers = np.empty((2, IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    for i in range(images.shape[0]):
        state[0], state[1] = keys[i], 0
        if plan_kind == _PLAN_ONE:  # a plain effect: straight from the input to the output
            _run_step(int(choice[0]), images[i], state, settings, work, out[i])
            continue
        if plan_kind == _PLAN_ALL:
            next_all_plan(state, choice, plan[:_STEPS])
        elif plan_kind == _PLAN_ALL2:
            next_all2_plan(state, choice, plan[:_STEPS])
        else:
            next_garments_plan(state, choice, plan[_FLIP:])
        current = 0
        buffers[0] = images[i]
        for step in range(_ALL_STEPS):
            if plan[step]:
                _run_step(step, buffers[current], state, settings, work, buffers[1 - current])
                current = 1 - current
        out[i] = buffers[current]


def _apply(
    images: UInt8Batch, keys: NDArray[np.uint64], plan_kind: int, choice: NDArray[np.float64], settings: tuple[Any, ...]
) -> UInt8Batch:
    images = validate_batch(images)
    keys = validate_keys(keys, images.shape[0])
    out = np.empty_like(images)
    _run_rows(images, keys, plan_kind, choice, settings, out)
    return out


def _one_step(images: UInt8Batch, keys: NDArray[np.uint64], step: int, settings: tuple[Any, ...]) -> UInt8Batch:
    return _apply(images, keys, _PLAN_ONE, np.array([float(step)]), settings)


def shift_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: ShiftParams = DEFAULT_SHIFT) -> UInt8Batch:
    """Move each image ``params.distance`` pixels up, down, left or right.

    Ink pushed over the border is lost; the uncovered edge is 0.
    """
    return _one_step(images, keys, COMPOSITE_STEPS.index("shift"), _settings(shift=params))


def rotate_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: RotateParams = DEFAULT_ROTATE) -> UInt8Batch:
    """Rotate each image by a random Normal(0, sigma) angle, then sharpen it.

    Per row, the angle is drawn, then the sharpen mode (both always, so a row's
    stream does not depend on the angle). Rows whose angle is below
    ``params.min_degrees`` in magnitude come back unchanged.
    """
    return _one_step(images, keys, COMPOSITE_STEPS.index("rotate"), _settings(rotate=params))


def warp_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: WarpParams = DEFAULT_WARP) -> UInt8Batch:
    """Distort each image with its own random smooth displacement field, then sharpen.

    Per row, the ``(2, WARP_RANK, WARP_RANK)`` normals are drawn, then the sharpen
    mode. Output pixel ``(r, c)`` reads the input at ``(r + d_row, c + d_col)``.
    """
    return _one_step(images, keys, COMPOSITE_STEPS.index("warp"), _settings(warp=params))


def bold_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: BoldParams = DEFAULT_BOLD) -> UInt8Batch:
    """Make strokes fatter: the max of an image and 1..``max_copies`` shifted copies (no pixel darker)."""
    return _one_step(images, keys, COMPOSITE_STEPS.index("bold"), _settings(bold=params))


def dilate_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: DilateParams = DEFAULT_DILATE) -> UInt8Batch:
    """Grey-dilate each image with a random square (thicker, brighter strokes; no pixel decreases)."""
    return _one_step(images, keys, _DILATE, _settings(dilate=params))


def erode_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: ErodeParams = DEFAULT_ERODE) -> UInt8Batch:
    """Grey-erode each image with a random square footprint (thinner strokes; no pixel increases)."""
    return _one_step(images, keys, _ERODE, _settings(erode=params))


def erodedilate_batch(
    images: UInt8Batch, keys: NDArray[np.uint64], params: ErodeDilateParams = DEFAULT_ERODEDILATE
) -> UInt8Batch:
    """Dilate or erode each image, the choice and the square size random per row."""
    return _one_step(images, keys, COMPOSITE_STEPS.index("erodedilate"), _settings(erodedilate=params))


def scratches_batch(
    images: UInt8Batch, keys: NDArray[np.uint64], params: ScratchesParams = DEFAULT_SCRATCHES
) -> UInt8Batch:
    """Add random straight scratches: ``max(image, lines image)`` (no pixel decreases)."""
    return _one_step(images, keys, COMPOSITE_STEPS.index("scratches"), _settings(scratches=params))


def blotches_batch(
    images: UInt8Batch, keys: NDArray[np.uint64], params: BlotchesParams = DEFAULT_BLOTCHES
) -> UInt8Batch:
    """Wipe random discs of ink away: ``min(image, discs image)``, discs 0 (no pixel increases)."""
    return _one_step(images, keys, COMPOSITE_STEPS.index("blotches"), _settings(blotches=params))


def _composite_settings(params: AllParams | All2Params) -> tuple[Any, ...]:
    shift = params.shift if isinstance(params, AllParams) else DEFAULT_SHIFT  # all2 never shifts
    return _settings(
        shift=shift,
        rotate=params.rotate,
        warp=params.warp,
        bold=params.bold,
        erodedilate=params.erodedilate,
        scratches=params.scratches,
        blotches=params.blotches,
    )


def all_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: AllParams = DEFAULT_ALL) -> UInt8Batch:
    """Apply a random subset of all effects to each row (see :mod:`.composite`)."""
    return _apply(images, keys, _PLAN_ALL, params.probabilities(), _composite_settings(params))


def all2_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: All2Params = DEFAULT_ALL2) -> UInt8Batch:
    """Apply rotate or warp, then one of bold / erodedilate / scratches / blotches."""
    return _apply(images, keys, _PLAN_ALL2, all2_choice(params), _composite_settings(params))


def flip_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: FlipParams = DEFAULT_FLIP) -> UInt8Batch:
    """Mirror each image left-right with chance ``params.probability`` (others are copied)."""
    return _one_step(images, keys, _FLIP, _settings(flip=params))


def translate_batch(
    images: UInt8Batch, keys: NDArray[np.uint64], params: TranslateParams = DEFAULT_TRANSLATE
) -> UInt8Batch:
    """Move each image by whole pixels, up to ``params.max_pixels`` on each axis; zero fill."""
    return _one_step(images, keys, _TRANSLATE, _settings(translate=params))


def affine_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: AffineParams = DEFAULT_AFFINE) -> UInt8Batch:
    """Rotate (clipped Normal angle) and zoom each image about its centre; bilinear, zero fill.

    Per row, the angle is drawn, then the zoom. No sharpening: the output is the
    resampled image rounded half to even.
    """
    return _one_step(images, keys, _AFFINE, _settings(affine=params))


def erase_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: EraseParams = DEFAULT_ERASE) -> UInt8Batch:
    """Overwrite one random rectangle of each row (with chance ``params.probability``) by grey or noise."""
    return _one_step(images, keys, _ERASE, _settings(erase=params))


def jitter_batch(images: UInt8Batch, keys: NDArray[np.uint64], params: JitterParams = DEFAULT_JITTER) -> UInt8Batch:
    """Scale each row's contrast about its mean and shift its brightness, at random."""
    return _one_step(images, keys, _JITTER, _settings(jitter=params))


def garments_batch(
    images: UInt8Batch, keys: NDArray[np.uint64], params: GarmentsParams = DEFAULT_GARMENTS
) -> UInt8Batch:
    """Maybe flip, translate or affine, then maybe erase and jitter (see :mod:`.composite`)."""
    settings = _settings(
        flip=_ALWAYS_FLIP,
        translate=params.translate,
        affine=params.affine,
        erase=params.erase_step(),
        jitter=params.jitter,
    )
    return _apply(images, keys, _PLAN_GARMENTS, params.choice(), settings)
