"""Deterministic train/valid/test assignment. Pure numpy."""

from __future__ import annotations

import numpy as np

SPLIT_SEED_SALT = 0x5EED_5B11


def assign_splits(
    ids: np.ndarray,
    *,
    in_test_part: np.ndarray,
    given: np.ndarray,
    valid_fraction: float,
    test_fraction: float,
    seed: int,
    source_has_test: bool,
) -> np.ndarray:
    """Assign "train", "valid" or "test" to every accepted row.

    Rows whose split is given (Parquet `split` column) keep it. Rows of the source's
    test part are "test". The remaining training-part rows are ordered by a seeded
    permutation of their ids (sorted first, so input order does not matter) and the
    first round(n * valid_fraction) become "valid"; when the source has no test part,
    the next round(n * test_fraction) become "test".

    Args:
        ids: (N,) int64 row ids, unique.
        in_test_part: (N,) bool, rows read from the source's test files.
        given: (N,) object array of split names or None.
        valid_fraction, test_fraction: fractions of the training-part pool.
        seed: run seed.
        source_has_test: whether the source has a test part of its own.

    Returns:
        (N,) object array of split names.
    """
    splits = np.where(in_test_part, "test", "train").astype(object)
    has_given = np.asarray([value is not None for value in given], dtype=bool)
    splits[has_given] = given[has_given]
    pool = np.flatnonzero(~in_test_part & ~has_given)
    pool = pool[np.argsort(ids[pool], kind="stable")]
    rng = np.random.default_rng([seed, SPLIT_SEED_SALT])
    shuffled = pool[rng.permutation(len(pool))]
    n_valid = round(len(pool) * valid_fraction)
    n_test = 0 if source_has_test else round(len(pool) * test_fraction)
    splits[shuffled[:n_valid]] = "valid"
    splits[shuffled[n_valid : n_valid + n_test]] = "test"
    return splits
