"""The ingest stage: source files -> validated, split images and rejects as Parquet.

Files are read and validated on the driver with vectorized numpy/pyarrow readers
(IDX, CSV and Parquet sources are single files of MNIST size); the rows go to Spark
as Arrow batches with the pixels kept as one binary column, and Spark writes them.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sparkling_mnist.config.data import IngestSettings, SourceSettings, SplitSettings
from sparkling_mnist.data.assemble import AssembledImages, IngestCounts, assemble
from sparkling_mnist.data.records import RejectedRow
from sparkling_mnist.data.sources import read_source, source_has_test_part
from sparkling_mnist.errors import RejectThresholdError
from sparkling_mnist.rundir import RunDir, committed, write_json_atomic
from sparkling_mnist.schema import (
    IMAGE_ARROW_SCHEMA,
    REJECT_ARROW_SCHEMA,
    image_spark_schema,
    pixels_from_arrow,
    pixels_to_arrow,
    reject_spark_schema,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)


def images_table(images: AssembledImages) -> pa.Table:
    """The accepted rows as an Arrow table in the image schema."""
    return pa.Table.from_arrays(
        [
            pa.array(images.ids, pa.int64()),
            pa.array(images.labels, pa.int32()),
            pixels_to_arrow(images.pixels),
            pa.array(images.splits.astype(str), pa.string()),
        ],
        schema=IMAGE_ARROW_SCHEMA,
    )


def rejects_table(rejects: list[RejectedRow]) -> pa.Table:
    """Rejected rows as an Arrow table in the reject schema."""
    columns = {name: [getattr(r, name) for r in rejects] for name in REJECT_ARROW_SCHEMA.names}
    return pa.Table.from_pydict(columns, schema=REJECT_ARROW_SCHEMA)


def to_spark(spark: SparkSession, table: pa.Table, schema_kind: str) -> DataFrame:
    """An Arrow table as a Spark DataFrame through Arrow (never row-by-row pickling)."""
    schema = image_spark_schema() if schema_kind == "images" else reject_spark_schema()
    frame: pd.DataFrame = table.to_pandas()
    return spark.createDataFrame(frame, schema=schema)


def check_reject_fraction(counts: IngestCounts, max_fraction: float, rejects_path: str) -> None:
    """Fail when too many rows were rejected (after the rejects were written).

    Raises:
        RejectThresholdError: naming the counts, the limit and where the rejects are.
    """
    if counts.read == 0 or counts.reject_fraction <= max_fraction:
        return
    reasons = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.reject_reasons.items()))
    raise RejectThresholdError(
        f"{counts.rejected} of {counts.read} rows rejected ({counts.reject_fraction:.2%}), above "
        f"ingest.max_reject_fraction={max_fraction:g} ({reasons}); rejected rows with reasons are in "
        f"{rejects_path}"
    )


def run_ingest(
    source: SourceSettings,
    split: SplitSettings,
    settings: IngestSettings,
    spark: SparkSession,
    run: RunDir,
    *,
    seed: int,
    one_split: str | None = None,
) -> IngestCounts:
    """The ingest stage: read, validate and split the source; write images and rejects.

    `one_split` puts every accepted row in that one split (the `score` job's input is
    one set: `one_split="score"`).

    Returns:
        The counts, also written to `data/ingest.json`.

    Raises:
        InputDataError: a source file cannot be read (names the file and offset).
        RejectThresholdError: more rejected rows than `ingest.max_reject_fraction`.
    """
    started = time.monotonic()
    images = assemble(
        read_source(source),
        valid_fraction=split.valid_fraction,
        test_fraction=split.test_fraction,
        seed=seed,
        source_has_test=source_has_test_part(source),
        one_split=one_split,
    )
    counts = images.counts
    read_seconds = time.monotonic() - started
    log.info(
        "ingest: read = accepted + rejected: %d = %d + %d (%.1f s)",
        counts.read,
        counts.accepted,
        counts.rejected,
        read_seconds,
    )
    with committed(run.rejects) as tmp:
        to_spark(spark, rejects_table(images.rejects), "rejects").coalesce(1).write.parquet(str(tmp))
    write_json_atomic(run.ingest_summary, dataclasses.asdict(counts) | {"reject_fraction": counts.reject_fraction})
    check_reject_fraction(counts, settings.max_reject_fraction, str(run.rejects))
    if counts.accepted == 0:
        raise RejectThresholdError(f"no rows accepted out of {counts.read} read; rejects are in {run.rejects}")

    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(settings.rows_per_batch))
    frame = to_spark(spark, images_table(images), "images")
    with committed(run.images) as tmp:
        frame.write.partitionBy("split").parquet(str(tmp))
    elapsed = time.monotonic() - started
    log.info(
        "ingest: wrote %d rows (%s) to %s in %.1f s (%.0f rows/s)",
        counts.accepted,
        ", ".join(f"{k} {v}" for k, v in counts.per_split.items()),
        run.images,
        elapsed,
        counts.read / elapsed if elapsed else float("nan"),
    )
    return counts


def read_split(spark: SparkSession, run: RunDir, split: str) -> DataFrame:
    """One split of the ingested images (id, label, pixels)."""
    return spark.read.parquet(str(run.split(split)))


def split_images(run: RunDir, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One split of the ingested images read on the driver: ids, labels (int64) and
    (n, 784) uint8 pixels, in the stored order."""
    table = pq.read_table(run.split(split), columns=["id", "label", "pixels"])
    pixels = pixels_from_arrow(table.column("pixels").combine_chunks())
    return table.column("id").to_numpy().astype(np.int64), table.column("label").to_numpy().astype(np.int64), pixels
