"""Counter-based random numbers: one independent stream per output row.

A row's stream is ``(key, counter)``: draw ``n`` of the stream is
``splitmix64(key + (n + 1) * golden)`` (Steele, Lea and Flood's SplitMix64, the
generator Java's ``SplittableRandom`` uses), a pure function of the key and the
position. Nothing is allocated per row, so deriving a million streams costs a
million hashes instead of a million ``numpy.random.Generator`` objects (9 us each
here, more than a whole effect at the target rate).

The kernels hold a stream as a ``(2,)`` ``uint64`` state array ``[key, counter]``
and every ``next_*`` function advances the counter; :class:`RowStream` wraps the
same state for Python code (tests, notebooks, the plots), so the ``draw_*``
functions the kernels use are the ones a reference implementation replays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import numpy as np
from numba import njit
from numpy.typing import NDArray

from sparkling_mnist.augment.mixing import GOLDEN_GAMMA
from sparkling_mnist.augment.mixing import mix64 as splitmix_finaliser

_ONE = np.uint64(1)
_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_TWO_PI = 2.0 * math.pi

StreamState = NDArray[np.uint64]
"""A ``(2,)`` ``uint64`` array: the row's key, then how many numbers it has drawn."""


mix64 = cast("Callable[[np.uint64], np.uint64]", njit(cache=True, nogil=True)(splitmix_finaliser))
"""SplitMix64's finaliser (:func:`.mixing.mix64`), compiled for the kernels."""


@njit(cache=True, nogil=True)
def next_bits(state: StreamState) -> np.uint64:
    """The stream's next 64 random bits."""
    state[1] += _ONE
    return mix64(state[0] + state[1] * GOLDEN_GAMMA)


@njit(cache=True, nogil=True)
def next_uniform(state: StreamState) -> float:
    """The next Uniform[0, 1) number, with 53 random bits."""
    return float(next_bits(state) >> np.uint64(11)) * _UNIT


@njit(cache=True, nogil=True)
def next_between(state: StreamState, low: float, high: float) -> float:
    """The next Uniform[low, high) number."""
    return low + (high - low) * next_uniform(state)


@njit(cache=True, nogil=True)
def next_integer(state: StreamState, low: int, high: int) -> int:
    """The next integer uniform in ``low .. high - 1`` (``high > low``)."""
    span = high - low
    return low + min(int(next_uniform(state) * span), span - 1)


@njit(cache=True, nogil=True)
def next_normal_pair(state: StreamState) -> tuple[float, float]:
    """The next two independent standard normal numbers (Box-Muller; two draws)."""
    u1 = (float(next_bits(state) >> np.uint64(11)) + 1.0) * _UNIT  # (0, 1]: log is finite
    u2 = next_uniform(state)
    radius = math.sqrt(-2.0 * math.log(u1))
    return radius * math.cos(_TWO_PI * u2), radius * math.sin(_TWO_PI * u2)


@njit(cache=True, nogil=True)
def next_normal(state: StreamState) -> float:
    """The next standard normal number: the first of a pair (two draws)."""
    return next_normal_pair(state)[0]


class RowStream:
    """One row's stream for Python code; draws exactly what the kernels draw.

    Example::

        stream = RowStream(int(row_keys(42, ids, 0, "rotate")[0]))
        angle = draw_rotate_angle(stream, RotateParams())
    """

    def __init__(self, key: int) -> None:
        self.state: StreamState = np.array([key, 0], dtype=np.uint64)

    @property
    def drawn(self) -> int:
        """How many 64-bit numbers the stream has produced."""
        return int(self.state[1])

    def random(self) -> float:
        """A Uniform[0, 1) number."""
        return float(next_uniform(self.state))

    def uniform(self, low: float, high: float) -> float:
        """A Uniform[low, high) number."""
        return float(next_between(self.state, low, high))

    def integers(self, low: int, high: int) -> int:
        """An integer uniform in ``low .. high - 1``."""
        return int(next_integer(self.state, low, high))

    def normal(self) -> float:
        """A standard normal number."""
        return float(next_normal(self.state))
