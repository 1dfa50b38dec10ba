"""Combined effects ``all`` and ``all2``.

Both pick, per row, a plan over the same ordered steps, then run the steps in
that fixed order: shift, rotate, warp (geometry), bold, erodedilate (stroke
width), scratches, blotches (noise). Geometry goes first so that interpolation
never blurs added scratches; noise goes last so that it stays crisp.

* ``all``: every step is taken independently with its own probability (a random
  subset); a row whose draw took
  no step gets one step chosen uniformly (about 2 steps per row on average with
  the defaults), so no copy is left untouched by design.
* ``all2``: a milder, fixed-size mix of exactly two steps: one geometric
  distortion (rotate or warp) followed by one stroke or noise effect (bold,
  erodedilate, scratches or blotches, by weight); never shift.

Randomness: a row's generator first gives its plan, then is handed to each step
the row takes, in step order. A row's output thus depends on its own generator
only, whichever rows share its batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sparkling_mnist.augment.batch import (
    UInt8Batch,
    validate_batch,
    validate_generators,
)
from sparkling_mnist.augment.geometry import (
    RotateParams,
    ShiftParams,
    WarpParams,
    rotate_batch,
    shift_batch,
    warp_batch,
)
from sparkling_mnist.augment.morphology import (
    BoldParams,
    ErodeDilateParams,
    bold_batch,
    erodedilate_batch,
)
from sparkling_mnist.augment.noise import (
    BlotchesParams,
    ScratchesParams,
    blotches_batch,
    scratches_batch,
)

COMPOSITE_STEPS: tuple[str, ...] = (
    "shift",
    "rotate",
    "warp",
    "bold",
    "erodedilate",
    "scratches",
    "blotches",
)
"""The steps of ``all`` and ``all2``, in the order they run."""

_Step = Callable[[UInt8Batch, Sequence[np.random.Generator]], UInt8Batch]


def _check_probability(owner: str, name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{owner}.{name} must be in [0, 1], got {value}")


@dataclass(frozen=True)
class AllParams:
    """Settings of ``all``: each step taken independently with its probability.

    Attributes:
        shift_prob: chance of ``shift`` (default 0.3).
        rotate_prob: chance of ``rotate`` (default 0.5).
        warp_prob: chance of ``warp`` (default 0.3).
        bold_prob: chance of ``bold`` (default 0.15).
        erodedilate_prob: chance of ``erodedilate`` (default 0.3).
        scratches_prob: chance of ``scratches`` (default 0.2).
        blotches_prob: chance of ``blotches`` (default 0.2).
        shift, rotate, warp, bold, erodedilate, scratches, blotches: the settings
            each step runs with.
    """

    shift_prob: float = 0.3
    rotate_prob: float = 0.5
    warp_prob: float = 0.3
    bold_prob: float = 0.15
    erodedilate_prob: float = 0.3
    scratches_prob: float = 0.2
    blotches_prob: float = 0.2
    shift: ShiftParams = field(default_factory=ShiftParams)
    rotate: RotateParams = field(default_factory=RotateParams)
    warp: WarpParams = field(default_factory=WarpParams)
    bold: BoldParams = field(default_factory=BoldParams)
    erodedilate: ErodeDilateParams = field(default_factory=ErodeDilateParams)
    scratches: ScratchesParams = field(default_factory=ScratchesParams)
    blotches: BlotchesParams = field(default_factory=BlotchesParams)

    def __post_init__(self) -> None:
        for step in COMPOSITE_STEPS:
            _check_probability("AllParams", f"{step}_prob", getattr(self, f"{step}_prob"))

    def probabilities(self) -> NDArray[np.float64]:
        """Return the step probabilities in :data:`COMPOSITE_STEPS` order."""
        return np.array([getattr(self, f"{step}_prob") for step in COMPOSITE_STEPS])


@dataclass(frozen=True)
class All2Params:
    """Settings of ``all2``: one geometric step, then one stroke or noise step.

    Attributes:
        rotate_prob: chance that the geometric step is ``rotate`` rather than
            ``warp`` (default 0.5).
        bold_weight: relative chance of ``bold`` as second step (default 1).
        erodedilate_weight: relative chance of ``erodedilate`` (default 1).
        scratches_weight: relative chance of ``scratches`` (default 1).
        blotches_weight: relative chance of ``blotches`` (default 1). The four
            weights must be >= 0 with a positive sum.
        rotate, warp, bold, erodedilate, scratches, blotches: the settings each
            step runs with.
    """

    rotate_prob: float = 0.5
    bold_weight: float = 1.0
    erodedilate_weight: float = 1.0
    scratches_weight: float = 1.0
    blotches_weight: float = 1.0
    rotate: RotateParams = field(default_factory=RotateParams)
    warp: WarpParams = field(default_factory=WarpParams)
    bold: BoldParams = field(default_factory=BoldParams)
    erodedilate: ErodeDilateParams = field(default_factory=ErodeDilateParams)
    scratches: ScratchesParams = field(default_factory=ScratchesParams)
    blotches: BlotchesParams = field(default_factory=BlotchesParams)

    def __post_init__(self) -> None:
        _check_probability("All2Params", "rotate_prob", self.rotate_prob)
        weights = self.second_step_weights()
        if weights.min() < 0 or weights.sum() <= 0:
            raise ValueError(
                "All2Params: bold_weight, erodedilate_weight, scratches_weight and "
                "blotches_weight must be >= 0 with a positive sum, got "
                f"{weights.tolist()}"
            )

    def second_step_weights(self) -> NDArray[np.float64]:
        """Weights of bold, erodedilate, scratches, blotches (in that order)."""
        return np.array(
            [
                self.bold_weight,
                self.erodedilate_weight,
                self.scratches_weight,
                self.blotches_weight,
            ]
        )


DEFAULT_ALL = AllParams()
DEFAULT_ALL2 = All2Params()

_SECOND_STEPS = ("bold", "erodedilate", "scratches", "blotches")


def draw_all_plan(rng: np.random.Generator, params: AllParams) -> NDArray[np.bool_]:
    """Draw one row's ``all`` plan: a mask over :data:`COMPOSITE_STEPS`.

    Seven uniforms decide the steps; if none is taken, one more draw picks one.
    """
    plan: NDArray[np.bool_] = rng.random(len(COMPOSITE_STEPS)) < params.probabilities()
    if not plan.any():
        plan[int(rng.integers(len(COMPOSITE_STEPS)))] = True
    return plan


def draw_all2_plan(rng: np.random.Generator, params: All2Params) -> NDArray[np.bool_]:
    """Draw one row's ``all2`` plan: rotate or warp, then one weighted second step."""
    plan = np.zeros(len(COMPOSITE_STEPS), dtype=np.bool_)
    plan[COMPOSITE_STEPS.index("rotate" if rng.random() < params.rotate_prob else "warp")] = True
    weights = params.second_step_weights()
    u = rng.random() * weights.sum()
    second = min(
        int(np.searchsorted(np.cumsum(weights), u, side="right")),
        len(_SECOND_STEPS) - 1,
    )
    plan[COMPOSITE_STEPS.index(_SECOND_STEPS[second])] = True
    return plan


def _run_plan(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    plans: NDArray[np.bool_],
    steps: Mapping[str, _Step],
) -> UInt8Batch:
    """Run each step on the rows whose plan takes it, in :data:`COMPOSITE_STEPS` order.

    ``plans`` is ``(N, len(COMPOSITE_STEPS))``; steps missing from ``steps`` must
    not be planned for any row.
    """
    out = images.copy()
    for column, name in enumerate(COMPOSITE_STEPS):
        rows = np.flatnonzero(plans[:, column])
        if rows.size:
            out[rows] = steps[name](out[rows], [rngs[i] for i in rows.tolist()])
    return out


def all_batch(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    params: AllParams = DEFAULT_ALL,
) -> UInt8Batch:
    """Apply a random subset of all effects to each row (see the module docstring).

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        rngs: one generator per row (see ``row_generators``).
        params: step probabilities and each step's settings.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch.

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if ``images`` is not ``(N, 28, 28)`` ``uint8`` or ``len(rngs) != N``.
    """
    images = validate_batch(images)
    validate_generators(rngs, images.shape[0])
    plans = np.array([draw_all_plan(rng, params) for rng in rngs], dtype=np.bool_)
    steps: dict[str, _Step] = {
        "shift": lambda x, r: shift_batch(x, r, params.shift),
        "rotate": lambda x, r: rotate_batch(x, r, params.rotate),
        "warp": lambda x, r: warp_batch(x, r, params.warp),
        "bold": lambda x, r: bold_batch(x, r, params.bold),
        "erodedilate": lambda x, r: erodedilate_batch(x, r, params.erodedilate),
        "scratches": lambda x, r: scratches_batch(x, r, params.scratches),
        "blotches": lambda x, r: blotches_batch(x, r, params.blotches),
    }
    return _run_plan(images, rngs, plans.reshape(-1, len(COMPOSITE_STEPS)), steps)


def all2_batch(
    images: UInt8Batch,
    rngs: Sequence[np.random.Generator],
    params: All2Params = DEFAULT_ALL2,
) -> UInt8Batch:
    """Apply rotate or warp, then one of bold / erodedilate / scratches / blotches.

    Args:
        images: ``(N, 28, 28)`` ``uint8`` batch (not modified).
        rngs: one generator per row (see ``row_generators``).
        params: step choice and each step's settings.

    Returns:
        A new ``(N, 28, 28)`` ``uint8`` batch.

    Raises:
        TypeError: if ``images`` is not a numpy array.
        ValueError: if ``images`` is not ``(N, 28, 28)`` ``uint8`` or ``len(rngs) != N``.
    """
    images = validate_batch(images)
    validate_generators(rngs, images.shape[0])
    plans = np.array([draw_all2_plan(rng, params) for rng in rngs], dtype=np.bool_)
    steps: dict[str, _Step] = {
        "rotate": lambda x, r: rotate_batch(x, r, params.rotate),
        "warp": lambda x, r: warp_batch(x, r, params.warp),
        "bold": lambda x, r: bold_batch(x, r, params.bold),
        "erodedilate": lambda x, r: erodedilate_batch(x, r, params.erodedilate),
        "scratches": lambda x, r: scratches_batch(x, r, params.scratches),
        "blotches": lambda x, r: blotches_batch(x, r, params.blotches),
    }
    return _run_plan(images, rngs, plans.reshape(-1, len(COMPOSITE_STEPS)), steps)
