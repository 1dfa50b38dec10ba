"""Effect names, the functions behind them, the kinds of image each suits, and a seeded
one-call entry point."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sparkling_mnist.augment.batch import UInt8Batch, validate_batch
from sparkling_mnist.augment.composite import All2Params, AllParams, GarmentsParams
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
    AffineParams,
    FlipParams,
    RotateParams,
    ShiftParams,
    TranslateParams,
    WarpParams,
)
from sparkling_mnist.augment.morphology import BoldParams, DilateParams, ErodeDilateParams, ErodeParams
from sparkling_mnist.augment.noise import BlotchesParams, EraseParams, ScratchesParams
from sparkling_mnist.augment.photometric import JitterParams
from sparkling_mnist.augment.seeding import row_keys
from sparkling_mnist.errors import UnknownEffectError

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


ImageKind = Literal["digits", "garments"]
"""What the images show: handwritten digits (MNIST) or garments (Fashion-MNIST)."""

_DIGITS: frozenset[ImageKind] = frozenset({"digits"})
_GARMENTS: frozenset[ImageKind] = frozenset({"garments"})
_BOTH: frozenset[ImageKind] = _DIGITS | _GARMENTS


@dataclass(frozen=True)
class _Entry:
    function: EffectFn
    params_type: type
    kinds: frozenset[ImageKind]


# Stroke, pen and elastic effects make sense for handwriting only; a mirrored digit is
# not a digit; moves, small affine maps, occlusion and lighting suit both.
_ENTRIES: Mapping[str, _Entry] = MappingProxyType(
    {
        "rotate": _Entry(rotate_batch, RotateParams, _DIGITS),
        "warp": _Entry(warp_batch, WarpParams, _DIGITS),
        "shift": _Entry(shift_batch, ShiftParams, _BOTH),
        "bold": _Entry(bold_batch, BoldParams, _DIGITS),
        "dilate": _Entry(dilate_batch, DilateParams, _DIGITS),
        "erode": _Entry(erode_batch, ErodeParams, _DIGITS),
        "erodedilate": _Entry(erodedilate_batch, ErodeDilateParams, _DIGITS),
        "scratches": _Entry(scratches_batch, ScratchesParams, _DIGITS),
        "blotches": _Entry(blotches_batch, BlotchesParams, _DIGITS),
        "all": _Entry(all_batch, AllParams, _DIGITS),
        "all2": _Entry(all2_batch, All2Params, _DIGITS),
        "flip": _Entry(flip_batch, FlipParams, _GARMENTS),
        "translate": _Entry(translate_batch, TranslateParams, _BOTH),
        "affine": _Entry(affine_batch, AffineParams, _BOTH),
        "erase": _Entry(erase_batch, EraseParams, _BOTH),
        "jitter": _Entry(jitter_batch, JitterParams, _BOTH),
        "garments": _Entry(garments_batch, GarmentsParams, _GARMENTS),
    }
)

EFFECTS: Mapping[str, EffectFn] = MappingProxyType({name: entry.function for name, entry in _ENTRIES.items()})
"""Effect name -> batch function, read-only."""

PRESET_EFFECTS: Mapping[ImageKind, tuple[str, ...]] = MappingProxyType(
    {
        "digits": (
            "rotate",
            "warp",
            "shift",
            "bold",
            "dilate",
            "erode",
            "erodedilate",
            "scratches",
            "blotches",
            "all",
            "all2",
        ),
        "garments": ("garments",),
    }
)
"""The effects made for each kind of image when none are named (digits: the recipe's list)."""


def known_effects() -> list[str]:
    """Return the registered effect names, sorted."""
    return sorted(_ENTRIES)


def _entry(name: str) -> _Entry:
    try:
        return _ENTRIES[name]
    except KeyError:
        raise UnknownEffectError(name, known_effects()) from None


def get_effect(name: str) -> EffectFn:
    """Return the batch function registered as ``name``.

    Raises:
        UnknownEffectError: if ``name`` is not registered (the message lists the
            known names).
    """
    return _entry(name).function


def effect_suits(name: str, kind: ImageKind) -> bool:
    """Whether effect ``name`` makes sense on images of ``kind``.

    Raises:
        UnknownEffectError: if ``name`` is not registered.
    """
    return kind in _entry(name).kinds


def effect_params_type(name: str) -> type:
    """Return the frozen dataclass holding the settings of effect ``name``.

    Raises:
        UnknownEffectError: if ``name`` is not registered.
    """
    return _entry(name).params_type


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
    entry = _entry(name)
    if params is not None and not isinstance(params, entry.params_type):
        raise TypeError(f"effect {name!r} takes {entry.params_type.__name__} settings, got {type(params).__name__}")
    images = validate_batch(images)
    ids = np.asarray(source_ids)
    if ids.shape != (images.shape[0],):
        raise ValueError(f"source_ids must have shape ({images.shape[0]},), one id per image, got {ids.shape}")
    started = time.perf_counter()
    keys = row_keys(run_seed, ids, copy_index, name)
    out = entry.function(images, keys) if params is None else entry.function(images, keys, params)
    logger.debug(
        "effect %s: %d rows in %.3f s",
        name,
        images.shape[0],
        time.perf_counter() - started,
    )
    return out
