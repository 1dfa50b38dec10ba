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

import numpy as np
from numba import njit
from numpy.typing import NDArray

from sparkling_mnist.augment.params import COMPOSITE_STEPS, GARMENT_STEPS, All2Params, AllParams, GarmentsParams
from sparkling_mnist.augment.stream import RowStream, StreamState, next_integer, next_uniform

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
