"""The recipe's claim, measured: the baseline's deep-learning classifier, same data and
parameters, trained on the autoencoder features instead of the raw pixels."""

from __future__ import annotations

from typing import Any

from sparkling_mnist.baseline import classifier_parameters, train_deep_learning_classifier
from sparkling_mnist.config import JobConfig
from sparkling_mnist.run_frames import RunFrames
from sparkling_mnist.schema import SPLITS


def train_features_classifier(
    cfg: JobConfig, frames: RunFrames, *, model_id: str, feature_names: list[str]
) -> dict[str, Any]:
    """Train the baseline's classifier on the given feature columns; evaluate valid/test."""
    tables = {split: frames.features(split) for split in SPLITS}
    description = f"autoencoder features ({len(feature_names)})"
    return train_deep_learning_classifier(model_id, classifier_parameters(cfg), feature_names, tables, description)


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
