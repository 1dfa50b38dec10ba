"""Combined effects ``all`` and ``all2`` (digits) and ``garments`` (Fashion-MNIST).

``all`` and ``all2`` pick, per row, a plan over the same ordered steps, then run the steps in
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

``garments`` runs its own ordered steps, :data:`GARMENT_STEPS`: flip, translate or
affine (one of the two, always), erase, jitter. Geometry first, then the erased
rectangle (so that it stays a crisp rectangle), then the photometric jitter (which
also shades the rectangle, as light would shade a real occluder). The digit composites never
flip: a mirrored digit is not the same digit (or not a digit at all).

Randomness: a row's stream first gives its plan, then is handed to each step the
row takes, in step order. A row's output thus depends on its own stream only,
whichever rows share its batch. :mod:`.effects` runs a row's whole plan in two
small buffers, calling the same per-image kernels as the single effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numba import njit
from numpy.typing import NDArray

from sparkling_mnist.augment.geometry import (
    AffineParams,
    RotateParams,
    ShiftParams,
    TranslateParams,
    WarpParams,
)
from sparkling_mnist.augment.morphology import (
    BoldParams,
    ErodeDilateParams,
)
from sparkling_mnist.augment.noise import (
    BlotchesParams,
    EraseParams,
    ScratchesParams,
)
from sparkling_mnist.augment.photometric import JitterParams
from sparkling_mnist.augment.stream import RowStream, StreamState, next_integer, next_uniform

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

GARMENT_STEPS: tuple[str, ...] = ("flip", "translate", "affine", "erase", "jitter")
"""The steps of ``garments``, in the order they run."""


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


@dataclass(frozen=True)
class GarmentsParams:
    """Settings of ``garments``: flip, one geometric step, then erase and jitter.

    Per row: a left-right flip with chance ``flip_prob``; then ``translate`` (chance
    ``translate_prob``) or else ``affine``; then ``erase`` with chance ``erase_prob``
    and ``jitter`` with chance ``jitter_prob``, independently. A step taken is the
    plain effect with the settings below, except that a flip or an erase taken always
    happens: ``flip_prob`` and ``erase_prob`` are their chances (``erase.probability``
    is not used, and setting it is an error, so that it cannot be mistaken for one).

    Attributes:
        flip_prob: chance of the mirror image (default 0.5).
        translate_prob: chance that the geometric step is ``translate`` rather than
            ``affine`` (default 0.5).
        erase_prob: chance of ``erase`` (default 0.3).
        jitter_prob: chance of ``jitter`` (default 0.3).
        translate, affine, erase, jitter: the settings each step runs with.
    """

    flip_prob: float = 0.5
    translate_prob: float = 0.5
    erase_prob: float = 0.3
    jitter_prob: float = 0.3
    translate: TranslateParams = field(default_factory=TranslateParams)
    affine: AffineParams = field(default_factory=AffineParams)
    erase: EraseParams = field(default_factory=EraseParams)
    jitter: JitterParams = field(default_factory=JitterParams)

    def __post_init__(self) -> None:
        for name in ("flip_prob", "translate_prob", "erase_prob", "jitter_prob"):
            _check_probability("GarmentsParams", name, getattr(self, name))
        if self.erase.probability != EraseParams().probability:
            raise ValueError(
                "GarmentsParams.erase.probability is not used by garments (erase_prob is the chance of "
                f"erasing), got {self.erase.probability}: set erase_prob instead"
            )

    def erase_step(self) -> EraseParams:
        """The settings the erase step runs with once the plan took it: it always erases."""
        return replace(self.erase, probability=1.0)

    def choice(self) -> NDArray[np.float64]:
        """``(flip_prob, translate_prob, erase_prob, jitter_prob)``, as :func:`next_garments_plan` takes them."""
        return np.array([self.flip_prob, self.translate_prob, self.erase_prob, self.jitter_prob])


DEFAULT_ALL = AllParams()
DEFAULT_ALL2 = All2Params()
DEFAULT_GARMENTS = GarmentsParams()

_SECOND_STEPS = ("bold", "erodedilate", "scratches", "blotches")


_STEPS = len(COMPOSITE_STEPS)
_ROTATE, _WARP, _FIRST_SECOND_STEP = 1, 2, 3


@njit(cache=True, nogil=True)
def next_all_plan(state: StreamState, probabilities: NDArray[np.float64], plan: NDArray[np.bool_]) -> None:
    """Draw one row's ``all`` plan: seven uniforms; if none took a step, one more picks one."""
    for step in range(_STEPS):
        plan[step] = next_uniform(state) < probabilities[step]
    if not plan.any():
        plan[next_integer(state, 0, _STEPS)] = True


@njit(cache=True, nogil=True)
def next_all2_plan(state: StreamState, choice: NDArray[np.float64], plan: NDArray[np.bool_]) -> None:
    """Draw one row's ``all2`` plan; ``choice`` is ``rotate_prob`` then the four weights."""
    plan[:] = False
    plan[_ROTATE if next_uniform(state) < choice[0] else _WARP] = True
    weights = choice[1:]
    u = next_uniform(state) * weights.sum()
    second = 0  # searchsorted(cumsum(weights), u, side="right"), at most the last step
    running = weights[0]
    while second < weights.size - 1 and running <= u:
        second += 1
        running += weights[second]
    plan[_FIRST_SECOND_STEP + second] = True


def draw_all_plan(stream: RowStream, params: AllParams) -> NDArray[np.bool_]:
    """Draw one row's ``all`` plan: a mask over :data:`COMPOSITE_STEPS`."""
    plan = np.zeros(_STEPS, dtype=np.bool_)
    next_all_plan(stream.state, params.probabilities(), plan)
    return plan


def draw_all2_plan(stream: RowStream, params: All2Params) -> NDArray[np.bool_]:
    """Draw one row's ``all2`` plan: rotate or warp, then one weighted second step."""
    plan = np.zeros(_STEPS, dtype=np.bool_)
    next_all2_plan(stream.state, all2_choice(params), plan)
    return plan


def all2_choice(params: All2Params) -> NDArray[np.float64]:
    """``rotate_prob`` then the four second-step weights, as :func:`next_all2_plan` takes them."""
    return np.concatenate([[params.rotate_prob], params.second_step_weights()])


_FLIP, _TRANSLATE, _AFFINE, _ERASE, _JITTER = range(len(GARMENT_STEPS))


@njit(cache=True, nogil=True)
def next_garments_plan(state: StreamState, choice: NDArray[np.float64], plan: NDArray[np.bool_]) -> None:
    """Draw one row's ``garments`` plan over :data:`GARMENT_STEPS`: four uniforms, always.

    ``choice`` is ``(flip_prob, translate_prob, erase_prob, jitter_prob)``.
    """
    plan[:] = False
    plan[_FLIP] = next_uniform(state) < choice[0]
    plan[_TRANSLATE if next_uniform(state) < choice[1] else _AFFINE] = True
    plan[_ERASE] = next_uniform(state) < choice[2]
    plan[_JITTER] = next_uniform(state) < choice[3]


def draw_garments_plan(stream: RowStream, params: GarmentsParams) -> NDArray[np.bool_]:
    """Draw one row's ``garments`` plan: a mask over :data:`GARMENT_STEPS`."""
    plan = np.zeros(len(GARMENT_STEPS), dtype=np.bool_)
    next_garments_plan(stream.state, params.choice(), plan)
    return plan
