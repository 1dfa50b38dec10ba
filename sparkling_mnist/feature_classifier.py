"""The recipe's claim, measured: the baseline's deep-learning classifier, same data and
parameters, trained on the autoencoder features instead of the raw pixels."""

from __future__ import annotations

from typing import Any

from sparkling_mnist.baseline import (
    baseline_rows,
    baseline_torch,
    classifier_parameters,
    train_deep_learning_classifier,
)
from sparkling_mnist.config import JobConfig
from sparkling_mnist.run_frames import RunFrames


def train_features_classifier(
    cfg: JobConfig, frames: RunFrames, *, model_id: str, feature_names: list[str]
) -> dict[str, Any]:
    """Train the baseline's classifier, on the baseline's rows, on the given feature
    columns; evaluate it on its training rows, valid and test."""
    tables = {split: frames.features(split) for split in ("valid", "test")}
    training = frames.training("features", baseline_rows(cfg))
    description = f"autoencoder features ({len(feature_names)})"
    params = classifier_parameters(cfg)
    return train_deep_learning_classifier(
        model_id,
        params,
        feature_names,
        tables,
        training=training,
        features=description,
        torch=baseline_torch(cfg, frames, "features", feature_names, training),
    )


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
