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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sparkling_mnist import team_math
from sparkling_mnist.autoencoders import deep_features
from sparkling_mnist.encoder_chain import ChainLink, feature_batch, feature_schema
from sparkling_mnist.errors import StoreError
from sparkling_mnist.export.network_spec import NetworkSpec
from sparkling_mnist.h2o_frames import images_to_h2o
from sparkling_mnist.members import predict_probabilities
from sparkling_mnist.schema import PIXEL_COLUMNS
from sparkling_mnist.store.model_store import ModelStore
from sparkling_mnist.team import align_to

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

ENGINES = ("h2o", "spark")


@dataclass(frozen=True)
class Autoencoder:
    """One autoencoder of the chain: name, stored model id, input ('pixels' or a name)."""

    name: str
    model_id: str
    input: str
    hidden: int


@dataclass(frozen=True)
class Member:
    """One team member: name, stored model id, input kind."""

    name: str
    model_id: str
    input: str


@dataclass(frozen=True)
class ScoringPlan:
    """What scoring a run needs, read from its manifest's lineage. Pure."""

    run_id: str
    autoencoders: tuple[Autoencoder, ...]  # dependency order
    features: tuple[str, ...]
    passthrough: tuple[str, ...]
    members: tuple[Member, ...]  # the team only
    classes: tuple[int, ...]
    threshold: float

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> ScoringPlan:
        """Read the plan.

        Raises:
            StoreError: the run has no team or no autoencoders in its lineage.
        """
        lineage = manifest["lineage"]
        if not lineage.get("team") or not lineage.get("autoencoders"):
            raise StoreError(f"run {manifest['run_id']}: the manifest has no team or no autoencoders to score with")
        autoencoders = {
            name: Autoencoder(name, ae["model_id"], ae["input"], int(ae["hidden"]))
            for name, ae in lineage["autoencoders"].items()
        }
        ordered: list[Autoencoder] = []
        while len(ordered) < len(autoencoders):
            ready = [
                ae
                for ae in autoencoders.values()
                if ae not in ordered and (ae.input == "pixels" or autoencoders[ae.input] in ordered)
            ]
            if not ready:
                raise StoreError(f"run {manifest['run_id']}: the autoencoders' lineage has a cycle")
            ordered.extend(ready)
        members = tuple(
            Member(name, lineage["members"][name]["model_id"], lineage["members"][name]["input"])
            for name in lineage["team"]
        )
        return cls(
            run_id=str(manifest["run_id"]),
            autoencoders=tuple(ordered),
            features=tuple(lineage["features"]),
            passthrough=tuple(lineage.get("passthrough", [])),
            members=members,
            classes=tuple(int(c) for c in lineage["classes"]),
            threshold=float(lineage.get("low_confidence_threshold") or 0.5),
        )

    def feature_columns(self) -> list[str]:
        """The feature table's feature columns, in order."""
        hidden = {ae.name: ae.hidden for ae in self.autoencoders}
        return [f"{name}_{i}" for name in self.features for i in range(hidden[name])]


def combine(
    plan: ScoringPlan, ids: np.ndarray, labels: np.ndarray, probabilities: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """The team's predictions from each member's (rows, classes) probabilities. Pure."""
    names = [member.name for member in plan.members]
    cube = team_math.probability_cube([team_math.fill_empty_rows(probabilities[name])[0] for name in names], names)
    mean = team_math.team_probabilities(cube)
    table = pd.DataFrame({"id": ids, "label": labels})
    table["predict"] = team_math.summed_prediction(cube)
    table["vote"] = team_math.vote_prediction(cube)
    for index, klass in enumerate(plan.classes):
        table[f"p{klass}"] = mean[:, index]
    table["low_confidence"] = team_math.low_confidence(cube, plan.threshold)
    for position, name in enumerate(names):
        table[f"predict_{name}"] = np.asarray(plan.classes)[cube[:, :, position].argmax(axis=1)]
    return table


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
