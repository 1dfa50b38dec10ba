"""Effect names bound to their batch functions, and a seeded one-call entry point (the
settings and kinds of image of each name: :mod:`.params`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sparkling_mnist.augment.batch import UInt8Batch, validate_batch
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
from sparkling_mnist.augment.params import effect_spec
from sparkling_mnist.augment.seeding import row_keys

logger = logging.getLogger(__name__)


class EffectFn(Protocol):
    """An effect: ``(images, one stream key per row[, params]) -> new images``."""

    def __call__(
        self,
        images: UInt8Batch,
        keys: NDArray[np.uint64],
        params: Any = ...,
        /,
    ) -> UInt8Batch:
        """Return a new batch; ``params`` defaults to the effect's recipe settings."""
        ...


# Every effect of :data:`EFFECT_SPECS` and its batch function.
EFFECTS: Mapping[str, EffectFn] = MappingProxyType(
    {
        "rotate": rotate_batch,
        "warp": warp_batch,
        "shift": shift_batch,
        "bold": bold_batch,
        "dilate": dilate_batch,
        "erode": erode_batch,
        "erodedilate": erodedilate_batch,
        "scratches": scratches_batch,
        "blotches": blotches_batch,
        "all": all_batch,
        "all2": all2_batch,
        "flip": flip_batch,
        "translate": translate_batch,
        "affine": affine_batch,
        "erase": erase_batch,
        "jitter": jitter_batch,
        "garments": garments_batch,
    }
)
"""Effect name -> batch function, read-only (the same names as :data:`EFFECT_SPECS`)."""


def get_effect(name: str) -> EffectFn:
    """Return the batch function registered as ``name``.

    Raises:
        UnknownEffectError: if ``name`` is not registered (the message lists the
            known names).
    """
    effect_spec(name)
    return EFFECTS[name]


def apply_effect(
    name: str,
    images: UInt8Batch,
    source_ids: ArrayLike,
    copy_index: int | ArrayLike,
    run_seed: int,
    *,
    params: object | None = None,
) -> UInt8Batch:
    """Apply effect ``name`` to a batch with per-row reproducible randomness.

    Row ``i`` of the result depends only on ``(run_seed, source_ids[i],
    copy_index[i], name)`` and ``images[i]``, not on the rest of the batch.

    Args:
        name: a registered effect (see :func:`known_effects`).
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        source_ids: ``(N,)`` ``int64`` ids of the source images.
        copy_index: which copy each row is: one int, or ``(N,)`` ints ``>= 0``.
        run_seed: the job's seed, ``0 <= run_seed < 2**64``.
        params: the effect's settings (instance of :func:`effect_params_type`);
            ``None`` uses the recipe's defaults.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch.

    Raises:
        UnknownEffectError: if ``name`` is not registered.
        TypeError: if ``params`` is not the effect's settings class.
        ValueError: on a malformed batch, ids, copy indices or seed, or when the
            number of ids differs from the number of images.
    """
    params_type = effect_spec(name).params_type
    function = EFFECTS[name]
    if params is not None and not isinstance(params, params_type):
        raise TypeError(f"effect {name!r} takes {params_type.__name__} settings, got {type(params).__name__}")
    images = validate_batch(images)
    ids = np.asarray(source_ids)
    if ids.shape != (images.shape[0],):
        raise ValueError(f"source_ids must have shape ({images.shape[0]},), one id per image, got {ids.shape}")
    started = time.perf_counter()
    keys = row_keys(run_seed, ids, copy_index, name)
    out = function(images, keys) if params is None else function(images, keys, params)
    logger.debug(
        "effect %s: %d rows in %.3f s",
        name,
        images.shape[0],
        time.perf_counter() - started,
    )
    return out
