"""Scruffy-handwriting augmentation of MNIST batches, in numpy.

Every effect is a pure function ``(N, 28, 28) uint8 -> (N, 28, 28) uint8`` that
takes one random-stream key per row; :func:`row_keys` derives those from ``(run
seed, source id, copy index, effect name)`` so that a row's output never depends on
the batch it was processed in. :func:`apply_effect` does both steps. The effects
run as compiled (numba) per-image kernels; :class:`RowStream` and the ``draw_*``
functions replay a row's random draws for reference implementations.

Effects (see :data:`EFFECTS`): ``rotate``, ``warp``, ``shift``, ``bold``,
``dilate``, ``erode``, ``erodedilate``, ``scratches``, ``blotches``, ``all``,
``all2``. Each takes a frozen settings dataclass whose defaults are the recipe's.

Example::

    from sparkling_mnist.augment import apply_effect

    rotated = apply_effect("rotate", images, source_ids, copy_index=0, run_seed=42)

Beside the effects: the Arrow batch layer and the layout of augmented ids (`arrow`), the
choice of augmented rows a model trains on (`selection`), the Spark stage (`stage`, not
imported here: it needs pyspark) and its pictures (`plots`).
"""

from sparkling_mnist.augment.batch import IMAGE_SIDE, validate_batch
from sparkling_mnist.augment.composite import (
    COMPOSITE_STEPS,
    All2Params,
    AllParams,
    draw_all2_plan,
    draw_all_plan,
)
from sparkling_mnist.augment.effects import (
    all2_batch,
    all_batch,
    blotches_batch,
    bold_batch,
    dilate_batch,
    erode_batch,
    erodedilate_batch,
    rotate_batch,
    scratches_batch,
    shift_batch,
    warp_batch,
)
from sparkling_mnist.augment.geometry import (
    WARP_RANK,
    RotateParams,
    ShiftParams,
    WarpParams,
    draw_rotate_angle,
    draw_shift,
    draw_warp_noise,
    warp_displacements,
)
from sparkling_mnist.augment.morphology import (
    BoldParams,
    DilateParams,
    ErodeDilateParams,
    ErodeParams,
    Square,
    draw_bold_directions,
    draw_erodedilate,
    draw_square,
)
from sparkling_mnist.augment.noise import (
    BlotchesParams,
    ScratchesParams,
    draw_blotches,
    draw_scratches,
)
from sparkling_mnist.augment.registry import (
    EFFECTS,
    EffectFn,
    apply_effect,
    effect_params_type,
    get_effect,
    known_effects,
)
from sparkling_mnist.augment.seeding import (
    SEED_SCHEME_VERSION,
    effect_key,
    row_keys,
    row_streams,
)
from sparkling_mnist.augment.sharpen import (
    SharpenMode,
    SharpenParams,
    draw_sharpen_mode,
)
from sparkling_mnist.augment.stream import RowStream
from sparkling_mnist.errors import UnknownEffectError

__all__ = [
    "COMPOSITE_STEPS",
    "EFFECTS",
    "IMAGE_SIDE",
    "SEED_SCHEME_VERSION",
    "WARP_RANK",
    "All2Params",
    "AllParams",
    "BlotchesParams",
    "BoldParams",
    "DilateParams",
    "EffectFn",
    "ErodeDilateParams",
    "ErodeParams",
    "RotateParams",
    "RowStream",
    "ScratchesParams",
    "SharpenMode",
    "SharpenParams",
    "ShiftParams",
    "Square",
    "UnknownEffectError",
    "WarpParams",
    "all2_batch",
    "all_batch",
    "apply_effect",
    "blotches_batch",
    "bold_batch",
    "dilate_batch",
    "draw_all2_plan",
    "draw_all_plan",
    "draw_blotches",
    "draw_bold_directions",
    "draw_erodedilate",
    "draw_rotate_angle",
    "draw_scratches",
    "draw_sharpen_mode",
    "draw_shift",
    "draw_square",
    "draw_warp_noise",
    "effect_key",
    "effect_params_type",
    "erode_batch",
    "erodedilate_batch",
    "get_effect",
    "known_effects",
    "rotate_batch",
    "row_keys",
    "row_streams",
    "scratches_batch",
    "shift_batch",
    "validate_batch",
    "warp_batch",
    "warp_displacements",
]
