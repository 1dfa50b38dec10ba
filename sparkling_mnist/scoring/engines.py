"""Score new images through a stored run: every autoencoder, then the team.

Two engines, same output:

- `h2o`: the run's binary models loaded from the store into this job's H2O cluster;
  deep features with H2O, member probabilities with H2O.
- `spark`: no H2O cluster at all: the stored run as a Spark ML PipelineModel
  (`pipeline_model`): the autoencoders' encoders as a vectorized numpy forward pass
  inside the executors (`mapInArrow`), the members as Sparkling Water MOJO models (the
  jar, no H2O nodes), the team's rule. The predictions are written from the executors;
  nothing but counts comes back to the driver.

The output (Parquet) has per row: `id`, `label` (as ingested), `predict` (by the
team's rule), `vote`, the team's probability of every class `p0..p9`,
`low_confidence`, `members_right` and each member's class; and, when the run was
stored with out-of-distribution detectors, `anomaly_score`, `anomaly_flag`,
`reconstruction_error`, `reconstruction_flag` (absent for runs stored without them).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sparkling_mnist.data.h2o_frames import images_to_h2o
from sparkling_mnist.evaluate.h2o_classifier import predict_probabilities
from sparkling_mnist.features.autoencoders import deep_features
from sparkling_mnist.ood.flags import ANOMALY_FLAG, ood_columns
from sparkling_mnist.ood.h2o_detectors import anomaly_scores, reconstruction_errors
from sparkling_mnist.scoring import ENGINES
from sparkling_mnist.scoring.pipeline_model import build_pipeline_model, load_stored_pipeline
from sparkling_mnist.scoring.plan import ScoringPlan, combine
from sparkling_mnist.store.model_store import ModelStore

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)


# The h2o engine


def score_with_h2o(plan: ScoringPlan, store: ModelStore, hc: Any, images: DataFrame) -> pd.DataFrame:
    """Score with the binary models loaded from the store into this H2O cluster."""
    loaded = store.load_run(plan.run_id)
    pixels = images_to_h2o(hc, images, "score_pixels")
    frames: dict[str, Any] = {"pixels": pixels}
    for ae in plan.autoencoders:
        frames[ae.name] = deep_features(loaded[ae.model_id], frames[ae.input], ae.name, ae.hidden)
    table = pixels[["id", "label", *plan.passthrough]]
    for name in plan.features:
        table = table.cbind(frames[name])
    ids_labels = pixels[["id", "label"]].as_data_frame(use_multi_thread=False)
    classes = [str(c) for c in plan.classes]
    probabilities = {
        member.name: predict_probabilities(
            loaded[member.model_id], pixels if member.input == "pixels" else table, classes
        )
        for member in plan.members
    }
    result = combine(
        plan,
        ids_labels["id"].to_numpy(np.int64),
        ids_labels["label"].astype(int).to_numpy(np.int64),
        probabilities,
    )
    if plan.ood is None:
        return result
    forest = loaded[plan.ood.isolation_forest]
    autoencoder = loaded[plan.autoencoder(plan.ood.autoencoder).model_id]
    flags = ood_columns(anomaly_scores(forest, table), reconstruction_errors(autoencoder, pixels), plan.ood.thresholds)
    return result.assign(**flags)


# The spark engine (no H2O cluster): the run as a PipelineModel


@dataclass(frozen=True)
class ScoredCounts:
    """How many rows were scored, how many of them with low confidence, and how many the
    isolation forest flagged out of distribution (None: the run has no such detector)."""

    rows: int
    low_confidence: int
    anomalies: int | None = None


@contextmanager
def spark_predictions(plan: ScoringPlan, store: ModelStore, images: DataFrame) -> Iterator[DataFrame]:
    """The team's predictions of `images` as a lazy Spark DataFrame: the PipelineModel
    the store stage saved beside the run's models (built from the stored networks and
    MOJOs when the run has none), computed on the executors when an action runs, inside
    the `with` block (its files live in a temporary folder until then)."""
    with tempfile.TemporaryDirectory(prefix="sparkling-mnist-score-") as folder:
        model = load_stored_pipeline(plan, store, Path(folder))
        if model is None:
            log.info("score: run %s has no stored pipeline; building it from its models", plan.run_id)
            model = build_pipeline_model(plan, store, Path(folder))
        yield model.transform(images)


def write_spark_predictions(plan: ScoringPlan, store: ModelStore, images: DataFrame, out: Path) -> ScoredCounts:
    """Score on the executors and write the predictions there (a Parquet dataset at
    `out`): only the counts come back to the driver."""
    from pyspark.sql.functions import col, count
    from pyspark.sql.functions import sum as total

    with spark_predictions(plan, store, images) as predictions:
        predictions.write.mode("overwrite").parquet(str(out))
    written = images.sparkSession.read.parquet(str(out))
    counts = [count("*").alias("rows"), total(col("low_confidence").cast("long")).alias("low")]
    if plan.ood is not None:
        counts.append(total(col(ANOMALY_FLAG).cast("long")).alias("anomalies"))
    row = written.agg(*counts).first()
    anomalies = int(row["anomalies"] or 0) if plan.ood is not None else None
    return ScoredCounts(rows=int(row["rows"]), low_confidence=int(row["low"] or 0), anomalies=anomalies)


def score_images(
    plan: ScoringPlan, store: ModelStore, images: DataFrame, *, engine: str, hc: Any = None
) -> pd.DataFrame:
    """Score with the named engine, timing it.

    Raises:
        ValueError: an unknown engine.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
    started = time.monotonic()
    if engine == "h2o":
        result = score_with_h2o(plan, store, hc, images)
    else:
        with spark_predictions(plan, store, images) as predictions:
            result = predictions.toPandas()
    seconds = time.monotonic() - started
    log.info(
        "score (%s): %d rows in %.1f s (%.0f rows/s)", engine, len(result), seconds, len(result) / max(seconds, 1e-9)
    )
    return result
