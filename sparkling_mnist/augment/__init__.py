"""Scruffy-handwriting augmentation of MNIST batches, in numpy.

Every effect is a pure function ``(N, 28, 28) uint8 -> (N, 28, 28) uint8`` that
takes one random-stream key per row; :func:`row_keys` derives those from ``(run
seed, source id, copy index, effect name)`` so that a row's output never depends on
the batch it was processed in. :func:`apply_effect` does both steps. The effects
run as compiled (numba) per-image kernels; :class:`RowStream` and the ``draw_*``
functions replay a row's random draws for reference implementations.

Effects (see :data:`EFFECTS`): for digits ``rotate``, ``warp``, ``shift``,
``bold``, ``dilate``, ``erode``, ``erodedilate``, ``scratches``, ``blotches``,
``all``, ``all2``; for garments ``flip``, ``translate``, ``affine``, ``erase``,
``jitter``, ``garments`` (:func:`effect_suits` and :data:`PRESET_EFFECTS` say which
suit which kind of image). Each takes a frozen settings dataclass whose defaults are
the recipe's.

Example::

    from sparkling_mnist.augment import apply_effect

    rotated = apply_effect("rotate", images, source_ids, copy_index=0, run_seed=42)

Beside the effects: their settings and which images each suits (`params`: no kernel, so
a job config loads without numba), the plan and the layout of augmented ids (`ids`), the
Arrow batch layer (`arrow`), the choice of augmented rows a model trains on
(`selection`), the Spark stage (`stage`, not imported here: it needs pyspark) and its
pictures (`plots`). The names of `params` load with the package; the kernel-side names
load on first use.
"""

import importlib
from typing import TYPE_CHECKING

from sparkling_mnist.augment.params import (
    COMPOSITE_STEPS,
    GARMENT_STEPS,
    PRESET_EFFECTS,
    AffineParams,
    All2Params,
    AllParams,
    BlotchesParams,
    BoldParams,
    DilateParams,
    EraseFill,
    EraseParams,
    ErodeDilateParams,
    ErodeParams,
    FlipParams,
    GarmentsParams,
    ImageKind,
    JitterParams,
    RotateParams,
    ScratchesParams,
    SharpenParams,
    ShiftParams,
    TranslateParams,
    WarpParams,
    effect_params_type,
    effect_suits,
    known_effects,
)
from sparkling_mnist.errors import UnknownEffectError

if TYPE_CHECKING:  # the kernels, imported on first use (see __getattr__)
    from sparkling_mnist.augment.batch import IMAGE_SIDE, validate_batch
    from sparkling_mnist.augment.composite import draw_all2_plan, draw_all_plan, draw_garments_plan
    from sparkling_mnist.augment.effects import (
        affine_batch,
        all2_batch,
        all_batch,
        blotches_batch,
        bold_batch,
        dilate_batch,
        erase_batch,
        erode_batch,
        erodedilate_batch,
        flip_batch,
        garments_batch,
        jitter_batch,
        rotate_batch,
        scratches_batch,
        shift_batch,
        translate_batch,
        warp_batch,
    )
    from sparkling_mnist.augment.geometry import (
        WARP_RANK,
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
    from sparkling_mnist.augment.photometric import draw_jitter
    from sparkling_mnist.augment.registry import EFFECTS, EffectFn, apply_effect, get_effect
    from sparkling_mnist.augment.seeding import SEED_SCHEME_VERSION, effect_key, row_keys, row_streams
    from sparkling_mnist.augment.sharpen import SharpenMode, draw_sharpen_mode
    from sparkling_mnist.augment.stream import RowStream

_LAZY: dict[str, str] = {
    "IMAGE_SIDE": "batch",
    "validate_batch": "batch",
    "draw_all2_plan": "composite",
    "draw_all_plan": "composite",
    "draw_garments_plan": "composite",
    "affine_batch": "effects",
    "all2_batch": "effects",
    "all_batch": "effects",
    "blotches_batch": "effects",
    "bold_batch": "effects",
    "dilate_batch": "effects",
    "erase_batch": "effects",
    "erode_batch": "effects",
    "erodedilate_batch": "effects",
    "flip_batch": "effects",
    "garments_batch": "effects",
    "jitter_batch": "effects",
    "rotate_batch": "effects",
    "scratches_batch": "effects",
    "shift_batch": "effects",
    "translate_batch": "effects",
    "warp_batch": "effects",
    "WARP_RANK": "geometry",
    "draw_affine": "geometry",
    "draw_flip": "geometry",
    "draw_rotate_angle": "geometry",
    "draw_shift": "geometry",
    "draw_translate": "geometry",
    "draw_warp_noise": "geometry",
    "warp_displacements": "geometry",
    "Square": "morphology",
    "draw_bold_directions": "morphology",
    "draw_erodedilate": "morphology",
    "draw_square": "morphology",
    "draw_blotches": "noise",
    "draw_erase": "noise",
    "draw_scratches": "noise",
    "draw_jitter": "photometric",
    "EFFECTS": "registry",
    "EffectFn": "registry",
    "apply_effect": "registry",
    "get_effect": "registry",
    "SEED_SCHEME_VERSION": "seeding",
    "effect_key": "seeding",
    "row_keys": "seeding",
    "row_streams": "seeding",
    "SharpenMode": "sharpen",
    "draw_sharpen_mode": "sharpen",
    "RowStream": "stream",
}
"""Names whose module compiles or imports numba/scipy, and that module: loaded on first use,
so that a job config (which needs only :mod:`.params`) loads without them."""


def __getattr__(name: str) -> object:
    """Import a kernel-side name from its module on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "COMPOSITE_STEPS",
    "EFFECTS",
    "GARMENT_STEPS",
    "IMAGE_SIDE",
    "PRESET_EFFECTS",
    "SEED_SCHEME_VERSION",
    "WARP_RANK",
    "AffineParams",
    "All2Params",
    "AllParams",
    "BlotchesParams",
    "BoldParams",
    "DilateParams",
    "EffectFn",
    "EraseFill",
    "EraseParams",
    "ErodeDilateParams",
    "ErodeParams",
    "FlipParams",
    "GarmentsParams",
    "ImageKind",
    "JitterParams",
    "RotateParams",
    "RowStream",
    "ScratchesParams",
    "SharpenMode",
    "SharpenParams",
    "ShiftParams",
    "Square",
    "TranslateParams",
    "UnknownEffectError",
    "WarpParams",
    "affine_batch",
    "all2_batch",
    "all_batch",
    "apply_effect",
    "blotches_batch",
    "bold_batch",
    "dilate_batch",
    "draw_affine",
    "draw_all2_plan",
    "draw_all_plan",
    "draw_blotches",
    "draw_bold_directions",
    "draw_erase",
    "draw_erodedilate",
    "draw_flip",
    "draw_garments_plan",
    "draw_jitter",
    "draw_rotate_angle",
    "draw_scratches",
    "draw_sharpen_mode",
    "draw_shift",
    "draw_square",
    "draw_translate",
    "draw_warp_noise",
    "effect_key",
    "effect_params_type",
    "effect_suits",
    "erase_batch",
    "erode_batch",
    "erodedilate_batch",
    "flip_batch",
    "garments_batch",
    "get_effect",
    "jitter_batch",
    "known_effects",
    "rotate_batch",
    "row_keys",
    "row_streams",
    "scratches_batch",
    "shift_batch",
    "translate_batch",
    "validate_batch",
    "warp_batch",
    "warp_displacements",
]
