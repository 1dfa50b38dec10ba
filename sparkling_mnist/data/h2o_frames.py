"""Spark image rows -> H2OFrames through Sparkling Water.

The binary pixel column is expanded into 784 small-integer columns on the executors
with a vectorized Arrow function (no per-row Python), then `asH2OFrame` converts the
DataFrame inside the JVMs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from sparkling_mnist.schema import PIXEL_COLUMNS, pixels_from_arrow

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

WIDE_ARROW_SCHEMA = pa.schema(
    [pa.field("id", pa.int64()), pa.field("label", pa.int32())] + [pa.field(name, pa.int16()) for name in PIXEL_COLUMNS]
)


def expand_pixel_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """One Arrow batch of (id, label, pixels) -> id, label and 784 int16 pixel columns. Pure."""
    pixels = pixels_from_arrow(batch.column("pixels")).astype(np.int16)
    columns: list[pa.Array] = [batch.column("id").cast(pa.int64()), batch.column("label").cast(pa.int32())]
    columns.extend(pa.array(pixels[:, i]) for i in range(pixels.shape[1]))
    return pa.RecordBatch.from_arrays(columns, schema=WIDE_ARROW_SCHEMA)


def _expand_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield expand_pixel_batch(batch)


def wide_images(images: DataFrame) -> DataFrame:
    """Id, label and one numeric column per pixel (px0..px783), computed on the executors."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return images.select("id", "label", "pixels").mapInArrow(_expand_partition, from_arrow_schema(WIDE_ARROW_SCHEMA))


def images_to_h2o(hc: Any, images: DataFrame, name: str) -> Any:
    """Convert image rows to an H2OFrame: `id`, a categorical `label`, 784 pixel columns.

    Args:
        hc: the H2OContext.
        images: rows with at least `id`, `label` and `pixels`.
        name: the H2O key of the frame (replaced if it exists).
    """
    started = time.monotonic()
    frame = hc.asH2OFrame(wide_images(images), h2oFrameName=name)
    frame["label"] = frame["label"].asfactor()
    log_conversion(name, frame, time.monotonic() - started)
    return frame


def log_conversion(name: str, frame: Any, seconds: float) -> None:
    """One line per conversion into H2O: `to h2o: NAME N rows x C cols in S s (R rows/s)`."""
    rows = frame.nrows
    log.info(
        "to h2o: %s %d rows x %d cols in %.1f s (%.0f rows/s)",
        name,
        rows,
        frame.ncols,
        seconds,
        rows / max(seconds, 1e-9),
    )
