"""SplitMix64's constants and finaliser, in plain numpy (Steele, Lea and Flood 2014).

One formula for every hash of the augmentation: :mod:`.stream` compiles :func:`mix64`
for the kernels' random streams, :mod:`.selection` runs it over whole id arrays in numpy
(so that a job config can build row selections without importing numba).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)

Words = TypeVar("Words", np.uint64, NDArray[np.uint64])


def mix64(value: Words) -> Words:
    """SplitMix64's finaliser: a bijective avalanche of 64 bits (one word or an array)."""
    z = value
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))
