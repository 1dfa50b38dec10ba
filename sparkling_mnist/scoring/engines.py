"""Score new images through a stored run: every autoencoder, then the team.

Two engines, same output:

- `h2o`: the run's binary models loaded from the store into this job's H2O cluster;
  deep features with H2O, member probabilities with H2O.
- `spark`: no H2O cluster at all. The autoencoders' encoders run as a vectorized numpy
  forward pass (weights and input standardization exported at save time) inside the
  Spark executors (`mapInArrow`); the members run as MOJOs through Sparkling Water's
  `H2OMOJOModel` transformer, which needs the jar but no H2O nodes.

The output (Parquet) has per row: `id`, `label` (as ingested), `predict` (summed
probabilities), `vote`, the team's mean probability of every class `p0..p9`,
`low_confidence`, and each member's class.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sparkling_mnist.data.h2o_frames import images_to_h2o
from sparkling_mnist.evaluate.h2o_classifier import predict_probabilities
from sparkling_mnist.export.encoder_chain import ChainLink, feature_batch, feature_schema
from sparkling_mnist.export.network_spec import NetworkSpec
from sparkling_mnist.features.autoencoders import deep_features
from sparkling_mnist.schema import PIXEL_COLUMNS
from sparkling_mnist.scoring.plan import ScoringPlan, combine
from sparkling_mnist.store.model_store import ModelStore
from sparkling_mnist.team.cube import align_to

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

ENGINES = ("h2o", "spark")


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
    return combine(
        plan,
        ids_labels["id"].to_numpy(np.int64),
        ids_labels["label"].astype(int).to_numpy(np.int64),
        probabilities,
    )


# The spark engine (no H2O cluster)


def _chain(plan: ScoringPlan) -> list[ChainLink]:
    return [ChainLink(ae.name, ae.input, ae.hidden) for ae in plan.autoencoders]


def _kept_pixels(plan: ScoringPlan, with_pixels: bool) -> list[str]:
    return list(PIXEL_COLUMNS) if with_pixels else list(plan.passthrough)


def encoder_schema(plan: ScoringPlan, with_pixels: bool) -> pa.Schema:
    """The Arrow schema of the numpy encoders' output (id, label, pixels kept, features)."""
    return feature_schema(_chain(plan), plan.features, _kept_pixels(plan, with_pixels))


def score_without_h2o(plan: ScoringPlan, store: ModelStore, images: DataFrame) -> pd.DataFrame:
    """Score in plain Spark executors: numpy encoders, then the members' MOJOs."""
    from pyspark.sql.functions import col
    from pyspark.sql.pandas.types import from_arrow_schema
    from pysparkling.ml import H2OMOJOModel

    manifest = store.manifest(plan.run_id)
    with tempfile.TemporaryDirectory(prefix="sparkling-mnist-score-") as folder:
        specs = {
            ae.name: NetworkSpec.load(store.artifact(manifest, ae.model_id, "network", Path(folder)))
            for ae in plan.autoencoders
        }
        with_pixels = any(member.input == "pixels" for member in plan.members)
        schema = encoder_schema(plan, with_pixels)
        links, kept = _chain(plan), _kept_pixels(plan, with_pixels)

        def encode_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                yield feature_batch(batch, links, specs, plan.features, kept)

        table = images.select("id", "label", "pixels").mapInArrow(encode_partition, from_arrow_schema(schema)).cache()
        probabilities: dict[str, np.ndarray] = {}
        ids = labels = np.empty(0)
        for member in plan.members:
            mojo = H2OMOJOModel.createFromMojo(
                "file://" + str(store.artifact(manifest, member.model_id, "mojo", Path(folder)))
            )
            scored = mojo.transform(table).select(
                "id",
                "label",
                *[col("detailed_prediction.probabilities").getItem(str(c)).alias(f"p{c}") for c in plan.classes],
            )
            frame = scored.toPandas()
            if not ids.size:
                ids, labels = frame["id"].to_numpy(np.int64), frame["label"].to_numpy(np.int64)
            order = align_to(ids, frame["id"].to_numpy(np.int64))
            probabilities[member.name] = frame[[f"p{c}" for c in plan.classes]].to_numpy(np.float64)[order]
        table.unpersist()
    return combine(plan, ids, labels, probabilities)


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
    result = score_with_h2o(plan, store, hc, images) if engine == "h2o" else score_without_h2o(plan, store, images)
    seconds = time.monotonic() - started
    log.info(
        "score (%s): %d rows in %.1f s (%.0f rows/s)", engine, len(result), seconds, len(result) / max(seconds, 1e-9)
    )
    return result
