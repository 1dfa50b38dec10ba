"""A network classifier evaluated where its rows are: the numpy forward pass of its spec
(`network.forward`, the one the PipelineModel scores with, checked against H2O to 1e-6)
run on the executors over Spark rows of pixels or of the feature table. The figures are
`evaluate_h2o_classifier`'s (error, logloss, confusion), without an H2O frame made only to
report them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sparkling_mnist.data.frames import TrainingFrames
from sparkling_mnist.errors import InputDataError
from sparkling_mnist.evaluate.classification import classification_summary
from sparkling_mnist.evaluate.h2o_classifier import evaluate_h2o_classifier
from sparkling_mnist.network.forward import forward
from sparkling_mnist.network.h2o_reader import read_network
from sparkling_mnist.network.spec import NetworkSpec
from sparkling_mnist.schema import PIXEL_COLUMNS, pixels_from_arrow

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

LOGLOSS_EPS = 1e-15
"""Probabilities below are clipped before the log, as `classification.multiclass_logloss`."""

SCORED_SCHEMA = pa.schema(
    [pa.field("label", pa.int64()), pa.field("predicted", pa.int64()), pa.field("loss", pa.float64())]
)
"""One row per input row: its label, the most probable class, -log of the label's probability."""


def _inputs(batch: pa.RecordBatch, columns: Sequence[str]) -> pd.DataFrame:
    """The network's input columns of one batch: the pixels unpacked, or the named columns."""
    if list(columns) == list(PIXEL_COLUMNS) and "pixels" in batch.schema.names:
        pixels = pixels_from_arrow(batch.column("pixels")).astype(np.float64)
        return pd.DataFrame(pixels, columns=list(PIXEL_COLUMNS))
    return pd.DataFrame({name: batch.column(name).to_numpy(zero_copy_only=False) for name in columns})


def score_batch(batch: pa.RecordBatch, spec: NetworkSpec, columns: Sequence[str]) -> pa.RecordBatch:
    """Label, predicted class and per-row log loss of one batch. Pure.

    Raises:
        InputDataError: a label outside the network's classes.
    """
    levels = np.array(sorted(int(label) for label in spec.class_labels), dtype=np.int64)
    order = [spec.class_labels.index(str(level)) for level in levels]
    probabilities = forward(spec, _inputs(batch, columns))[:, order]
    truth = batch.column("label").to_numpy(zero_copy_only=False).astype(np.int64)
    index = np.searchsorted(levels, truth)
    inside = (index < len(levels)) & (levels[index.clip(0, len(levels) - 1)] == truth)
    if not inside.all():
        bad = int(truth[np.flatnonzero(~inside)[0]])
        raise InputDataError(f"model {spec.model_id}: label {bad} is not one of its classes {levels.tolist()}")
    chosen = probabilities[np.arange(len(truth)), index]
    return pa.RecordBatch.from_arrays(
        [
            pa.array(truth),
            pa.array(levels[np.argmax(probabilities, axis=1)]),
            pa.array(-np.log(np.clip(chosen, LOGLOSS_EPS, 1.0))),
        ],
        schema=SCORED_SCHEMA,
    )


def evaluate_network_rows(spec: NetworkSpec, rows: DataFrame, columns: Sequence[str], name: str) -> dict[str, Any]:
    """Error, logloss and confusion of a network classifier on Spark rows with `label`
    and its input columns (`pixels` for the 784 pixels), scored on the executors.

    Raises:
        InputDataError: a label outside the network's classes.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    started = time.monotonic()
    needed = ["label", "pixels"] if list(columns) == list(PIXEL_COLUMNS) else ["label", *columns]

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield score_batch(batch, spec, columns)

    scored = rows.select(*needed).mapInArrow(score, from_arrow_schema(SCORED_SCHEMA)).toPandas()
    if scored.empty:
        raise InputDataError(f"model {spec.model_id}: no rows to evaluate {name} on")
    summary = classification_summary(
        scored["label"].to_numpy(np.int64), scored["predicted"].to_numpy(np.int64), float(scored["loss"].mean())
    )
    log.info(
        "%s: %s error %.4f on %d rows, numpy forward pass on the executors in %.1f s (no H2O frame)",
        spec.model_id,
        name,
        summary["error"],
        summary["rows"],
        time.monotonic() - started,
    )
    return summary


def augmented_error(model: Any, algorithm: str, training: TrainingFrames, x: Sequence[str]) -> dict[str, Any]:
    """A classifier's figures on its selected augmented rows: a deep-learning network by
    its numpy forward pass on the executors (no H2O frame of those rows), any other
    algorithm by H2O on their frame (converted now if it was not).

    Raises:
        ValueError: the selection has no augmented rows.
    """
    if training.augmented_rows is None:
        raise ValueError("the training rows have no augmented part")
    if algorithm == "deeplearning":
        return evaluate_network_rows(read_network(model), training.augmented_rows, x, "augmented")
    return evaluate_h2o_classifier(model, training.augmented)
