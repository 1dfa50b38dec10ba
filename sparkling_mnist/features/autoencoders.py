"""H2O deep-learning autoencoders: train (or reload), deep features, score history.

A thin layer over the `h2o` API: the pysparkling.ml API and MOJOs give no hidden-layer
features, so deep features, stacking and reloading go through `h2o` directly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sparkling_mnist.config.h2o_params import check_parameters
from sparkling_mnist.errors import H2OParameterError
from sparkling_mnist.torch_trainer.fit import H2O, FitRequest, TorchRows, TrainerChoice, TrainerRecord

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ("epochs", "samples", "training_mse", "validation_mse", "duration_seconds")


@dataclass(frozen=True)
class AutoencoderInputs:
    """What an autoencoder reads (the pixels or another one's features): its columns and
    the H2OFrame of each split, plus `fit`, the rows it trains on."""

    columns: list[str]
    frames: dict[str, Any]


def feature_columns(name: str, hidden: int) -> list[str]:
    """Column names of an autoencoder's hidden layer: `AE200_0` ... `AE200_199`."""
    return [f"{name}_{i}" for i in range(hidden)]


def nonconstant_columns(frame: Any, columns: Sequence[str]) -> list[str]:
    """The columns of an H2OFrame whose standard deviation is above zero."""
    deviations = frame[list(columns)].sd()
    return [name for name, sd in zip(columns, deviations, strict=True) if sd > 0]


def check_autoencoder_parameters(params: dict[str, Any], where: str) -> dict[str, Any]:
    """Check parameters against H2O's deep-learning estimator (autoencoder is set by us).

    Raises:
        H2OParameterError: an unknown or reserved name, with the key path.
    """
    from h2o.estimators import H2ODeepLearningEstimator

    checked = check_parameters(H2ODeepLearningEstimator, params, where)
    for reserved in ("autoencoder", "hidden"):
        if reserved in checked:
            raise H2OParameterError(f"{where}.{reserved}: set by the autoencoder spec itself, remove it from params")
    return checked


def autoencoder_request(
    model_id: str,
    hidden: int,
    *,
    params: dict[str, Any],
    x: Sequence[str],
    training_frame: Any,
    validation_frame: Any | None,
    trainer: TrainerChoice = H2O,
    where: str = "features",
    seed: int = 0,
    rows: TorchRows | None = None,
) -> FitRequest:
    """The fit of one single-hidden-layer autoencoder.

    Args:
        model_id: the H2O key (and the saved file's name).
        hidden: units of the hidden layer.
        params: H2ODeepLearningEstimator parameters by their H2O names (checked before).
        x: input columns.
        training_frame, validation_frame: H2OFrames holding `x`.
        trainer, where, seed, rows: who learns the weights; the config key of `params`,
            the run seed and torch's rows (torch only).
    """
    from h2o.estimators import H2ODeepLearningEstimator

    return FitRequest(
        model_id,
        H2ODeepLearningEstimator,
        {**params, "hidden": [hidden]},
        list(x),
        None,
        training_frame,
        validation_frame,
        trainer,
        where,
        seed,
        rows,
    )


def log_autoencoder_fit(request: FitRequest, model: Any, fitted: TrainerRecord) -> None:
    """One line per trained autoencoder: size, rows, epochs, time, speed, training MSE."""
    history = score_history(model)
    epochs = float(history["epochs"].iloc[-1]) if len(history) else 0.0
    rows = request.training_frame.nrows
    seconds = fitted.seconds
    log.info(
        "autoencoder %s (%s): %d inputs -> %s hidden, %d rows x %.1f epochs in %.1f s (%.0f samples/s), "
        "training mse %.5f",
        request.model_id,
        fitted.trainer,
        len(request.x),
        request.params["hidden"][0],
        rows,
        epochs,
        seconds,
        rows * epochs / seconds if seconds else float("nan"),
        float(history["training_mse"].iloc[-1]) if len(history) else float("nan"),
    )


def deep_features(model: Any, frame: Any, name: str, hidden: int) -> Any:
    """The hidden-layer activations of `frame` as an H2OFrame with columns `name_0..`."""
    features = model.deepfeatures(frame, 0)
    features.columns = feature_columns(name, hidden)
    return features


def score_history(model: Any) -> pd.DataFrame:
    """Per-scoring-event history of an autoencoder: epochs, samples, mse (valid when given)."""
    raw = model.scoring_history()
    history = pd.DataFrame(
        {
            "epochs": raw["epochs"].astype(float),
            "samples": raw["samples"].astype(float),
            "training_mse": raw["training_mse"].astype(float),
        }
    )
    history["validation_mse"] = raw["validation_mse"].astype(float) if "validation_mse" in raw else float("nan")
    history["duration_seconds"] = [parse_duration(str(text)) for text in raw["duration"]]
    return history[list(HISTORY_COLUMNS)]


_DURATION_UNITS = {
    "ms": 0.001,
    "sec": 1.0,
    "min": 60.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "day": 86400.0,
    "days": 86400.0,
}


def parse_duration(text: str) -> float:
    """Seconds in an H2O duration such as ' 1 min 2.345 sec' or '0.120 sec' (nan if unreadable)."""
    matches = re.findall(r"([\d.]+)\s*([a-z]+)", text.strip().lower())
    if not matches:
        return float("nan")
    return sum(float(value) * _DURATION_UNITS.get(unit, float("nan")) for value, unit in matches)
