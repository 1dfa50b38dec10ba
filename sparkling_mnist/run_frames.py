"""The run's H2O frames, converted from its Parquet once per session.

The baseline, the autoencoders, the feature classifier and the team all read the
same splits; converting 784 pixel columns through Sparkling Water is the slow part,
so every stage of one session shares the frames made here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sparkling_mnist.h2o_frames import images_to_h2o
from sparkling_mnist.rundir import RunDir

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def features_to_h2o(hc: Any, spark: SparkSession, run: RunDir, split: str) -> Any:
    """One split of the feature table as an H2OFrame with a categorical label."""
    frame = hc.asH2OFrame(spark.read.parquet(str(run.features_split(split))), h2oFrameName=f"features_table_{split}")
    frame["label"] = frame["label"].asfactor()
    return frame


class RunFrames:
    """Lazily converted H2OFrames of one run: pixels and feature table, per split."""

    def __init__(self, spark: SparkSession, hc: Any, run: RunDir) -> None:
        self._spark = spark
        self._hc = hc
        self._run = run
        self._pixels: dict[str, Any] = {}
        self._features: dict[str, Any] = {}

    def pixels(self, split: str) -> Any:
        """`id`, categorical `label` and px0..px783 of one split."""
        if split not in self._pixels:
            images = self._spark.read.parquet(str(self._run.split(split)))
            self._pixels[split] = images_to_h2o(self._hc, images, f"images_{split}")
        return self._pixels[split]

    def features(self, split: str) -> Any:
        """The feature table of one split (id, label, passthrough, features)."""
        if split not in self._features:
            self._features[split] = features_to_h2o(self._hc, self._spark, self._run, split)
        return self._features[split]

    def forget_features(self) -> None:
        """Drop the feature frames (the features stage is rewriting the table)."""
        import h2o

        if self._features:
            h2o.remove(list(self._features.values()))
        self._features.clear()
