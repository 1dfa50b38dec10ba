"""The recipe's claim, measured: the baseline's deep-learning classifier, same data and
parameters, trained on the autoencoder features instead of the raw pixels."""

from __future__ import annotations

from typing import Any

from sparkling_mnist.baseline.classifier import train_classifier_on
from sparkling_mnist.config.training import BaselineSettings
from sparkling_mnist.data.frames import RunFrames


def train_features_classifier(
    settings: BaselineSettings, frames: RunFrames, *, seed: int, model_id: str, feature_names: list[str]
) -> dict[str, Any]:
    """The features_classifier stage: the baseline's classifier, on the baseline's rows,
    on the feature columns; evaluated on its training rows, valid and test."""
    return train_classifier_on(settings, frames, "features", feature_names, seed=seed, model_id=model_id)


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
