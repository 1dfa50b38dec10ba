"""Which rows a supervised model trains on: the originals of the train split, the
augmented rows, or both, with the augmented rows narrowed to some effects and to a
seeded fraction. Pure numpy and pyarrow: the Spark stages apply `select_batch` to
partitions, and tests call it directly.

A selection depends only on each row's id, so it is the same in every partitioning,
task retry and rerun: the effect is read from the id itself (augmented ids carry
their effect code, see `augment.arrow`), and the fraction keeps the rows whose
SplitMix64 hash of `(seed, id)` falls below it. Different seeds give different,
independent subsets, which is how members of one team can train on different rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from sparkling_mnist.augment.ids import EFFECT_CODES, effect_codes_of
from sparkling_mnist.augment.mixing import GOLDEN_GAMMA, mix64


def splitmix64(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64 of each value: the augmentation streams' `mix64` of `value + golden`. Pure."""
    return mix64(np.asarray(values, dtype=np.uint64) + GOLDEN_GAMMA)


def subset_seed(run_seed: int, model: str) -> int:
    """The default subset seed of one model: the run seed and the model's name, hashed
    (stable across processes, unlike Python's `hash`)."""
    digest = hashlib.sha256(f"{run_seed}|{model}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@dataclass(frozen=True)
class RowSelection:
    """A resolved selection: which augmented rows go with (or without) the originals.

    Attributes:
        originals: the train split's own rows are included.
        augmented: augmented rows are included.
        effects: the effects whose rows are kept (empty: every effect).
        fraction: the share of those augmented rows kept (1.0: all).
        seed: the seed of the fraction's hash (ignored when `fraction` is 1).
    """

    originals: bool
    augmented: bool
    effects: tuple[str, ...] = ()
    fraction: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.originals or self.augmented):
            raise ValueError("a row selection needs the originals, the augmented rows or both")
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")
        unknown = [name for name in self.effects if name not in EFFECT_CODES]
        if unknown:
            raise ValueError(f"unknown effects {unknown}; known: {', '.join(EFFECT_CODES)}")

    @property
    def augmented_key(self) -> str:
        """A short stable name of the augmented part alone (effects, fraction, seed)."""
        text = f"{sorted(self.effects)}|{self.fraction!r}|{self.seed if self.fraction < 1 else 0}"
        return "aug_" + hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def key(self) -> str:
        """A short stable name of the whole selection (for frame keys and fingerprints)."""
        if not self.augmented:
            return "originals"
        return ("orig_" if self.originals else "") + self.augmented_key

    def describe(self) -> str:
        """In words, for logs and metrics."""
        if not self.augmented:
            return "originals"
        effects = "+".join(self.effects) if self.effects else "every effect"
        share = "" if self.fraction >= 1 else f", {self.fraction:g} of them (seed {self.seed})"
        return f"{'originals + ' if self.originals else ''}augmented rows ({effects}{share})"


def augmented_mask(ids: NDArray[np.int64], selection: RowSelection) -> NDArray[np.bool_]:
    """Which of these augmented row ids the selection keeps. Pure.

    Raises:
        ValueError: an id that is not an augmented id (no known effect code).
    """
    ids = np.asarray(ids, dtype=np.int64)
    if not selection.augmented:
        return np.zeros(ids.shape, dtype=bool)
    codes = effect_codes_of(ids)
    known = np.isin(codes, np.fromiter(EFFECT_CODES.values(), dtype=np.int64))
    if not known.all():
        bad = int(np.flatnonzero(~known)[0])
        raise ValueError(f"id {int(ids[bad])} is not an augmented row id (its effect code {codes[bad]} is unknown)")
    mask = np.ones(ids.shape, dtype=bool)
    if selection.effects:
        mask &= np.isin(codes, np.array([EFFECT_CODES[name] for name in selection.effects], dtype=np.int64))
    if selection.fraction < 1.0:
        hashed = splitmix64(ids.view(np.uint64) ^ np.uint64(selection.seed))
        mask &= (hashed >> np.uint64(11)).astype(np.float64) * 2.0**-53 < selection.fraction
    return mask


def select_batch(batch: pa.RecordBatch, selection: RowSelection) -> pa.RecordBatch:
    """The augmented rows of one Arrow batch (any columns, with `id`) the selection keeps. Pure."""
    ids = batch.column("id").to_numpy(zero_copy_only=False).astype(np.int64)
    return batch.filter(pa.array(augmented_mask(ids, selection)))


def select_batches(batches: Iterator[pa.RecordBatch], selection: RowSelection) -> Iterator[pa.RecordBatch]:
    """`select_batch` over one Spark partition."""
    for batch in batches:
        yield select_batch(batch, selection)
