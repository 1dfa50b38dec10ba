"""The recipe's claim, measured: the baseline's deep-learning classifier, same data and
parameters, trained on the autoencoder features instead of the raw pixels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sparkling_mnist.baseline import classifier_parameters, train_deep_learning_classifier
from sparkling_mnist.config import JobConfig
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.schema import SPLITS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NON_FEATURE_COLUMNS = ("id", "label")


def features_to_h2o(hc: Any, spark: SparkSession, run: RunDir, split: str) -> Any:
    """One split of the feature table as an H2OFrame with a categorical label."""
    frame = hc.asH2OFrame(spark.read.parquet(str(run.features_split(split))), h2oFrameName=f"features_table_{split}")
    frame["label"] = frame["label"].asfactor()
    return frame


def train_features_classifier(
    cfg: JobConfig, spark: SparkSession, hc: Any, run: RunDir, *, model_id: str, feature_names: list[str]
) -> dict[str, Any]:
    """Train the baseline's classifier on the given feature columns; evaluate valid/test."""
    frames = {split: features_to_h2o(hc, spark, run, split) for split in SPLITS}
    description = f"autoencoder features ({len(feature_names)})"
    return train_deep_learning_classifier(model_id, classifier_parameters(cfg), feature_names, frames, description)


def compare_with_baseline(baseline: dict[str, Any], features: dict[str, Any]) -> dict[str, Any]:
    """Both test errors side by side (negative difference: the features help)."""
    raw = baseline["test"]["error"]
    learned = features["test"]["error"]
    return {
        "raw_pixels_test_error": raw,
        "features_test_error": learned,
        "difference": learned - raw,
        "raw_pixels_valid_error": baseline["valid"]["error"],
        "features_valid_error": features["valid"]["error"],
        "same_params": baseline["params"] == features["params"],
    }
