"""The augment stage: the train split -> augmented rows with provenance, on the executors.

extract (the ingested train split) -> transform (:func:`augment_images`: ``mapInArrow``
of the pure batch function :func:`sparkling_mnist.augment.arrow.augment_batches` over
the binary pixel column; no per-row Python) -> load (Parquet under ``data/augmented``),
then the pictures under ``plots/`` and the counts in ``data/augment.json``.

    sparkling-mnist augment --config conf/local.yaml --set augment.copies=2

Only the train split is augmented: valid and test stay untouched so that their metrics
measure real images. Output rows do not depend on partitioning, batch size or task
retries (see :mod:`sparkling_mnist.augment.arrow`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from sparkling_mnist.augment.arrow import AUGMENTED_ARROW_SCHEMA, augment_batches
from sparkling_mnist.augment.ids import AugmentPlan
from sparkling_mnist.augment.params import RotateParams
from sparkling_mnist.augment.plots import (
    effect_grid_figure,
    rotation_sharpen_stages,
    save_png,
    sharpen_histogram_figure,
)
from sparkling_mnist.rundir import RunDir, committed, write_json_atomic
from sparkling_mnist.schema import SIDE, pixels_from_arrow

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

ARROW_BATCH_CONF = "spark.sql.execution.arrow.maxRecordsPerBatch"
GRID_SAMPLES_PER_LABEL = 1
HISTOGRAM_SAMPLES = 1000
GRID_PLOT = "augment_grid.png"
HISTOGRAM_PLOT = "sharpen_histograms.png"
SHARPENING_EFFECTS = frozenset({"rotate", "warp", "all", "all2"})
"""The effects whose rotation or warp is sharpened: the histograms are drawn only for them."""


@dataclasses.dataclass(frozen=True)
class AugmentCounts:
    """What the augment stage did: rows in and out, per effect, and how fast.

    `partitions` is the number of tasks; `seconds` times the Spark job that reads the
    train split, augments and writes Parquet (not the counting and pictures after it);
    `rows_per_s` is `rows_out / seconds`.
    """

    rows_in: int
    rows_out: int
    effects: list[str]
    copies: int
    per_effect: dict[str, int]
    partitions: int
    seconds: float
    rows_per_s: float


def _partition_function(plan: AugmentPlan) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def augment_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return augment_batches(batches, plan)

    return augment_partition


def augment_images(images: DataFrame, plan: AugmentPlan) -> DataFrame:
    """Augmented rows of `images` (columns id, label, pixels): a transform, no I/O.

    Every source row gives ``len(plan.effects) * plan.copies`` rows with the columns of
    ``AUGMENTED_ARROW_SCHEMA``, computed on the executors batch by batch.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    return images.select("id", "label", "pixels").mapInArrow(
        _partition_function(plan), from_arrow_schema(AUGMENTED_ARROW_SCHEMA)
    )


def pixels_of(frame: pd.DataFrame) -> NDArray[np.uint8]:
    """The `pixels` column of a collected pandas frame as an ``(N, 28, 28)`` uint8 array."""
    column = pa.array(frame["pixels"].tolist(), pa.binary())
    return pixels_from_arrow(column).reshape(-1, SIDE, SIDE)


def _sample_rows(labels: NDArray[np.integer], per_label: int) -> NDArray[np.intp]:
    """Positions of the first `per_label` rows of each label, in label order."""
    return np.concatenate([np.flatnonzero(labels == label)[:per_label] for label in np.unique(labels)])


def write_augment_plots(spark: SparkSession, run: RunDir, plan: AugmentPlan) -> list[str]:
    """Draw the effect grid (read back from the written output) and, when an effect of the
    plan sharpens (`SHARPENING_EFFECTS`), the sharpen histograms.

    Up to 1,000 training images are sampled in a fixed pseudo-random order (by a hash of
    the id, so every class shows up whatever the source's order). The grid shows one
    image per label beside copy 0 of each effect, as the job wrote them; the histograms
    replay `rotate` (copy 0, the plan's settings) on the whole sample, on the driver.

    Returns:
        The paths of the PNG files written.
    """
    from pyspark.sql.functions import col, xxhash64

    train = spark.read.parquet(str(run.split("train")))
    sample = train.orderBy(xxhash64("id"), "id").limit(HISTOGRAM_SAMPLES).toPandas()
    if sample.empty:
        log.warning("augment: the train split is empty, no pictures drawn")
        return []
    images = pixels_of(sample)
    ids = sample["id"].to_numpy(dtype=np.int64)
    labels = sample["label"].to_numpy()
    shown = _sample_rows(labels, GRID_SAMPLES_PER_LABEL)
    grid_ids = ids[shown]
    rows = (
        spark.read.parquet(str(run.augmented))
        .where(col("source_id").isin([int(i) for i in grid_ids]) & (col("copy") == 0))
        .select("source_id", "effect", "pixels")
        .toPandas()
    )
    augmented = {}
    for effect in plan.effects:
        chosen = rows[rows["effect"] == effect].set_index("source_id").loc[grid_ids]
        augmented[effect] = pixels_of(chosen)
    grid = save_png(effect_grid_figure(images[shown], labels[shown], augmented), run.plot(GRID_PLOT))
    if not SHARPENING_EFFECTS.intersection(plan.effects):  # garments: nothing is sharpened
        log.info("augment: picture in %s (no effect of this plan sharpens: no sharpen histograms)", grid)
        return [str(grid)]
    rotate_params = plan.params.get("rotate")
    stages = rotation_sharpen_stages(
        images, ids, plan.run_seed, rotate_params if isinstance(rotate_params, RotateParams) else None
    )
    histograms = save_png(sharpen_histogram_figure(stages), run.plot(HISTOGRAM_PLOT))
    log.info("augment: pictures in %s and %s", grid, histograms)
    return [str(grid), str(histograms)]


def _spread(images: DataFrame, partitions: int | None) -> DataFrame:
    """Deal the source rows evenly over `partitions` tasks (default: one per core).

    Always a round-robin repartition: the ingested files are often of very unequal
    size (one split's rows come from few Spark partitions), and one long task would
    leave the other cores idle. The shuffle moves only the source rows, a small
    fraction of the output, and never changes an output row.
    """
    return images.repartition(partitions or images.sparkSession.sparkContext.defaultParallelism)


def run_augment(
    plan: AugmentPlan,
    spark: SparkSession,
    run: RunDir,
    *,
    partitions: int | None = None,
    rows_per_batch: int = 8192,
) -> AugmentCounts:
    """The augment stage: augment the ingested train split by `plan` (the config's
    `augment` section with the run seed: `AugmentSettings.plan`); write Parquet,
    pictures and counts under the run dir.

    Args:
        partitions: tasks the train split is dealt over (default: one per core).
        rows_per_batch: rows per Arrow batch handed to the effects.

    Returns:
        The counts, also written to ``data/augment.json``.

    Raises:
        RuntimeError: the written row count differs from rows_in x effects x copies (a bug).
    """
    train = spark.read.parquet(str(run.split("train")))
    rows_in = train.count()
    source = _spread(train, partitions)
    partitions = source.rdd.getNumPartitions()
    log.info(
        "augment: %d training rows x %d effect(s) (%s) x %d copies over %d tasks",
        rows_in,
        len(plan.effects),
        ", ".join(plan.effects),
        plan.copies,
        partitions,
    )
    previous_batch = spark.conf.get(ARROW_BATCH_CONF)
    spark.conf.set(ARROW_BATCH_CONF, str(rows_per_batch))
    started = time.monotonic()
    try:
        with committed(run.augmented) as tmp:
            augment_images(source, plan).write.parquet(str(tmp))
    finally:
        spark.conf.set(ARROW_BATCH_CONF, previous_batch)
    seconds = time.monotonic() - started

    written = spark.read.parquet(str(run.augmented))
    per_effect = {row["effect"]: int(row["count"]) for row in written.groupBy("effect").count().collect()}
    rows_out = sum(per_effect.values())
    if rows_out != rows_in * plan.rows_per_source:
        raise RuntimeError(
            f"augment wrote {rows_out} rows, expected {rows_in} x {plan.rows_per_source} = "
            f"{rows_in * plan.rows_per_source} ({run.augmented})"
        )
    counts = AugmentCounts(
        rows_in=rows_in,
        rows_out=rows_out,
        effects=list(plan.effects),
        copies=plan.copies,
        per_effect=per_effect,
        partitions=partitions,
        seconds=round(seconds, 3),
        rows_per_s=round(rows_out / seconds, 1) if seconds > 0 else 0.0,
    )
    log.info(
        "augment: %d rows in -> %d rows out in %.1f s (%.0f rows/s) to %s",
        rows_in,
        rows_out,
        seconds,
        counts.rows_per_s,
        run.augmented,
    )
    plots = write_augment_plots(spark, run, plan)
    write_json_atomic(run.augment_summary, dataclasses.asdict(counts) | {"plots": plots})
    return counts
