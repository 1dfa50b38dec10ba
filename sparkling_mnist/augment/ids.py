"""What the augment job makes (:class:`AugmentPlan`) and the ids of the rows it makes.

Augmented ids pack the provenance into one positive 64-bit integer::

    id = effect_code << 52 | copy << 40 | source_id

with ``effect_code = EFFECT_CODES[effect]`` in 1..1023, ``copy`` in 0..4095 and
``source_id`` in 0..2**40-1. Distinct ``(source, effect, copy)`` give distinct ids,
and since effect codes start at 1 an augmented id is never a source id (those are
below 2**40), so augmented and original rows can share one table.
:func:`decode_augmented_id` reverses it.

Pure Python and numpy: a job config builds its plan without the kernels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from sparkling_mnist.augment.params import EFFECT_SPECS, effect_params_type, known_effects
from sparkling_mnist.errors import UnknownEffectError

SOURCE_ID_BITS = 40
COPY_BITS = 12
EFFECT_CODE_BITS = 10
MAX_SOURCE_ID = (1 << SOURCE_ID_BITS) - 1
MAX_COPIES = 1 << COPY_BITS
_EFFECT_SHIFT = SOURCE_ID_BITS + COPY_BITS

EFFECT_CODES: Mapping[str, int] = MappingProxyType(
    {
        "rotate": 1,
        "warp": 2,
        "shift": 3,
        "bold": 4,
        "dilate": 5,
        "erode": 6,
        "erodedilate": 7,
        "scratches": 8,
        "blotches": 9,
        "all": 10,
        "all2": 11,
        "flip": 12,
        "translate": 13,
        "affine": 14,
        "erase": 15,
        "jitter": 16,
        "garments": 17,
    }
)
"""The code of each effect inside augmented ids. Fixed forever: a new effect takes the next
free code, an existing code is never reused (ids written before would change meaning)."""

_EFFECT_NAMES = {code: name for name, code in EFFECT_CODES.items()}


def augmented_ids(source_ids: NDArray[np.int64], effect: str, copy: int) -> NDArray[np.int64]:
    """The ids of copy `copy` of effect `effect` of each source row (formula in the module doc).

    Raises:
        UnknownEffectError: an effect without a code.
        ValueError: a copy outside 0..4095 or a source id outside 0..2**40-1.
    """
    if effect not in EFFECT_CODES:
        raise UnknownEffectError(effect, sorted(EFFECT_CODES))
    if not 0 <= copy < MAX_COPIES:
        raise ValueError(f"copy must be in [0, {MAX_COPIES}), got {copy}")
    ids = np.asarray(source_ids, dtype=np.int64)
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) > MAX_SOURCE_ID):
        bad = int(ids.min()) if int(ids.min()) < 0 else int(ids.max())
        raise ValueError(f"source id {bad} is outside [0, 2**{SOURCE_ID_BITS}): augmented ids cannot encode it")
    prefix = (EFFECT_CODES[effect] << _EFFECT_SHIFT) | (copy << SOURCE_ID_BITS)
    return ids | np.int64(prefix)


def effect_codes_of(ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """The effect code carried by each id (0 for a source id, which carries none). Pure."""
    return np.asarray(ids, dtype=np.int64) >> _EFFECT_SHIFT


def decode_augmented_id(augmented_id: int) -> tuple[int, str, int]:
    """Split an augmented id into ``(source_id, effect, copy)``.

    Raises:
        ValueError: the id does not carry a known effect code (e.g. it is a source id).
    """
    code = augmented_id >> _EFFECT_SHIFT
    if code not in _EFFECT_NAMES:
        raise ValueError(f"{augmented_id} is not an augmented id (effect code {code} is unknown)")
    return augmented_id & MAX_SOURCE_ID, _EFFECT_NAMES[code], (augmented_id >> SOURCE_ID_BITS) & (MAX_COPIES - 1)


@dataclass(frozen=True)
class AugmentPlan:
    """What the augment job makes of every training image; small, picklable, shipped to executors.

    Attributes:
        effects: effect names, each applied to every image, in output order.
        copies: copies per source image per effect (copy indices 0..copies-1).
        run_seed: the run's seed, part of every row's random stream.
        params: effect name -> its settings dataclass; a missing effect uses the recipe's defaults.

    Raises:
        UnknownEffectError: an effect that is not registered.
        ValueError: no effects, a repeated effect, copies outside 1..4096, or settings of
            the wrong class for their effect.
    """

    effects: tuple[str, ...]
    copies: int
    run_seed: int
    params: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.effects:
            raise ValueError("an augment plan needs at least one effect")
        for name in self.effects:
            if name not in EFFECT_SPECS:
                raise UnknownEffectError(name, known_effects())
        if len(set(self.effects)) != len(self.effects):
            raise ValueError(f"each effect may appear once in a plan, got {list(self.effects)}")
        if not 1 <= self.copies <= MAX_COPIES:
            raise ValueError(f"copies must be in [1, {MAX_COPIES}], got {self.copies}")
        for name, settings in self.params.items():
            expected = effect_params_type(name)
            if not isinstance(settings, expected):
                raise ValueError(f"settings of {name!r} must be {expected.__name__}, got {type(settings).__name__}")

    @property
    def rows_per_source(self) -> int:
        """Output rows per source image: effects x copies."""
        return len(self.effects) * self.copies
