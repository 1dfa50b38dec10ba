"""Per-row stream keys that make augmentation reproducible.

The random stream of one output row depends only on ``(run seed, source id, copy
index, effect name)``. A rerun of the job, a retried Spark task or a different
partitioning (other batch composition or order) therefore produces the same bytes.

The key is a chain of SplitMix64 finalisers over fixed-width words: a scheme
version, the run seed, the source id, the copy index and the CRC-32 of the effect
name (never Python's salted ``hash()``). Each link ``mix64((h ^ word) + gamma)`` is
a bijection of the word, so two rows that differ in one part never share a key;
:mod:`.stream` turns a key into the row's numbers.
"""

from __future__ import annotations

import zlib

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from sparkling_mnist.augment.mixing import GOLDEN_GAMMA
from sparkling_mnist.augment.stream import RowStream, mix64

SEED_SCHEME_VERSION = 2
"""Part of every row's entropy. Change it only to deliberately change all outputs."""

_UINT64_LIMIT = 1 << 64


def effect_key(effect: str) -> int:
    """Return the stable 32-bit key of an effect name (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(effect.encode("utf-8"))


def _as_source_ids(source_ids: ArrayLike) -> NDArray[np.uint64]:
    """Validate source ids and return their two's complement ``uint64`` view.

    Negative ids (e.g. from a 64-bit hash column) are accepted: the view keeps
    every distinct ``int64`` distinct.
    """
    ids = np.asarray(source_ids)
    if ids.ndim != 1:
        raise ValueError(f"source_ids must be a 1-D integer array, got shape {ids.shape}")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"source_ids must be integers (int64), got dtype {ids.dtype}")
    return ids.astype(np.int64).view(np.uint64)


def _as_copy_indices(copy_index: int | ArrayLike, n_rows: int) -> NDArray[np.uint64]:
    """Validate copy indices (one int, or one per row) and broadcast them."""
    copies = np.asarray(copy_index)
    if copies.size and not np.issubdtype(copies.dtype, np.integer):
        raise ValueError(f"copy_index must be an integer or integer array, got dtype {copies.dtype}")
    if copies.ndim == 0:
        copies = np.full(n_rows, int(copies), dtype=np.int64)
    elif copies.shape != (n_rows,):
        raise ValueError(
            f"copy_index must be an int or an array of shape ({n_rows},) matching source_ids, got shape {copies.shape}"
        )
    if copies.size and int(copies.min()) < 0:
        raise ValueError(f"copy_index must be >= 0, got {int(copies.min())}")
    return copies.astype(np.uint64)


@njit(cache=True, nogil=True)
def _link(chain: np.uint64, word: np.uint64) -> np.uint64:
    return mix64((chain ^ word) + GOLDEN_GAMMA)


@njit(cache=True, nogil=True)
def _chain_keys(head: NDArray[np.uint64], ids: NDArray[np.uint64], copies: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """``head`` is ``[version, run seed, effect key]``; numba keeps every step in uint64."""
    prefix = _link(_link(np.uint64(0), head[0]), head[1])
    effect = head[2]
    keys = np.empty(ids.shape[0], dtype=np.uint64)
    for i in range(ids.shape[0]):
        keys[i] = _link(_link(_link(prefix, ids[i]), copies[i]), effect)
    return keys


def row_keys(
    run_seed: int,
    source_ids: ArrayLike,
    copy_index: int | ArrayLike,
    effect: str,
) -> NDArray[np.uint64]:
    """Return one stream key per row.

    Args:
        run_seed: the job's seed, ``0 <= run_seed < 2**64``.
        source_ids: ``(N,)`` integer ids of the source images (``int64``; any
            sign).
        copy_index: which augmented copy of its source each row is (``>= 0``);
            one int for the whole batch or an ``(N,)`` array.
        effect: the effect name; it is part of the key so that different effects
            draw unrelated numbers for the same source and copy.

    Returns:
        ``(N,)`` ``uint64`` keys; key ``i`` depends only on ``(run_seed,
        source_ids[i], copy_index[i], effect)``.

    Raises:
        TypeError: if ``run_seed`` is not an integer.
        ValueError: on a negative or too large ``run_seed``, non-integer or
            non-1-D ``source_ids``, or a negative or mis-shaped ``copy_index``.
    """
    if isinstance(run_seed, bool) or not isinstance(run_seed, (int, np.integer)):
        raise TypeError(f"run_seed must be an int, got {type(run_seed).__name__}")
    if not 0 <= int(run_seed) < _UINT64_LIMIT:
        raise ValueError(f"run_seed must be in [0, 2**64), got {run_seed}")
    ids = _as_source_ids(source_ids)
    copies = _as_copy_indices(copy_index, ids.shape[0])
    head = np.array([SEED_SCHEME_VERSION, int(run_seed), effect_key(effect)], dtype=np.uint64)
    keys: NDArray[np.uint64] = _chain_keys(head, ids, copies)
    return keys


def row_streams(
    run_seed: int,
    source_ids: ArrayLike,
    copy_index: int | ArrayLike,
    effect: str,
) -> list[RowStream]:
    """One :class:`RowStream` per row, for Python code that replays an effect's draws.

    Same arguments and errors as :func:`row_keys`.
    """
    return [RowStream(int(key)) for key in row_keys(run_seed, source_ids, copy_index, effect)]
