"""The raw-pixel baseline: an H2O deep-learning classifier on the 784 pixels.

This is the figure every later stage (autoencoder features, the team) must beat.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from sparkling_mnist.config import JobConfig
from sparkling_mnist.errors import InputDataError
from sparkling_mnist.estimators import check_parameters
from sparkling_mnist.evaluate import classification_summary
from sparkling_mnist.members import predict_probabilities, response_classes
from sparkling_mnist.run_frames import InputKind, RunFrames, TrainingFrames
from sparkling_mnist.schema import PIXEL_COLUMNS
from sparkling_mnist.team_math import multiclass_logloss
from sparkling_mnist.torch_trainer import TorchRequest, checked_plan, label_classes, train_classifier_with_torch
from sparkling_mnist.training_rows import RowSelection

log = logging.getLogger(__name__)


def evaluate_h2o_classifier(model: Any, frame: Any) -> dict[str, Any]:
    """Error, logloss and confusion matrix of an H2O classifier on a frame with `label`,
    from one scoring pass (the predicted class is the most probable one, as H2O's)."""
    classes = sorted(response_classes(model), key=int)
    probabilities = predict_probabilities(model, frame, classes)
    with warnings.catch_warnings():
        # h2o warns that it converts single-threaded; this is one small column.
        warnings.simplefilter("ignore")
        labels = frame["label"].as_data_frame(use_multi_thread=False)
    levels = np.array([int(level) for level in classes])
    truth = labels["label"].astype(int).to_numpy()
    index = np.searchsorted(levels, truth)
    if np.any(index >= len(levels)) or np.any(levels[index.clip(0, len(levels) - 1)] != truth):
        raise InputDataError(f"model {model.model_id}: labels outside its classes {classes}")
    predicted = levels[np.argmax(probabilities, axis=1)]
    logloss = multiclass_logloss(probabilities, index)
    return classification_summary(np.asarray(truth), np.asarray(predicted), logloss)


def training_errors(model: Any, training: TrainingFrames) -> dict[str, Any]:
    """Error on the train split's originals (`train`) and, when the model trained on
    some, on its augmented rows (`augmented`), each with error, logloss and confusion."""
    result = {"train": evaluate_h2o_classifier(model, training.originals)}
    if training.augmented is not None:
        result["augmented"] = evaluate_h2o_classifier(model, training.augmented)
    return result


def train_deep_learning_classifier(
    model_id: str,
    params: dict[str, Any],
    x: list[str],
    frames: Mapping[str, Any],
    *,
    training: TrainingFrames,
    features: str,
    torch: TorchRequest | None = None,
) -> dict[str, Any]:
    """Train a deep-learning classifier on `training`'s rows (H2O, or torch) and evaluate it.

    Args:
        model_id: the H2O key of the model.
        params: checked H2ODeepLearningEstimator parameters.
        x: input columns.
        frames: H2OFrames "valid" and "test", each with a categorical `label`.
        training: the training rows (originals and augmented rows of the selection).
        features: what `x` is, for the metrics ("raw pixels (784)").
        torch: train the weights with torch (`trainer: torch`), on these rows.

    Returns:
        A metrics section: ids, parameters, rows by origin, timings, and
        error/logloss/confusion on the originals, the augmented rows, valid and test.
    """
    from h2o.estimators import H2ODeepLearningEstimator

    started = time.monotonic()
    record: dict[str, Any] | None = None
    if torch is not None:
        model, record = train_classifier_with_torch(
            torch, model_id, params, x, training=training, valid=frames["valid"]
        )
    else:
        model = H2ODeepLearningEstimator(model_id=model_id, **params)
        model.train(x=x, y="label", training_frame=training.fit, validation_frame=frames["valid"])
    seconds = time.monotonic() - started
    rows = training.rows()
    log.info(
        "%s: trained on %d rows (%s) x %d inputs in %.1f s", model_id, rows["total"], rows["selection"], len(x), seconds
    )
    result: dict[str, Any] = {
        "model_id": model_id,
        "algorithm": "deeplearning",
        "features": features,
        "params": params,
        "train_rows": rows["total"],
        "rows": rows,
        "train_seconds": round(seconds, 2),
        "trainer": "h2o" if record is None else "torch",
        "epochs_trained": float(model.scoring_history()["epochs"].iloc[-1])
        if record is None
        else float(record["history"][-1]["epochs"]) + float(record["h2o_epochs"]),
    }
    if record is not None:
        result["torch"] = record
    result.update(training_errors(model, training))
    for split in ("valid", "test"):
        result[split] = evaluate_h2o_classifier(model, frames[split])
    for split in ("train", "augmented", "valid", "test"):
        if split in result:
            log.info(
                "%s: %s error %.4f, logloss %.4f", model_id, split, result[split]["error"], result[split]["logloss"]
            )
    return result


def classifier_parameters(cfg: JobConfig) -> dict[str, Any]:
    """The baseline's checked parameters, with the run seed unless one is given.

    Raises:
        H2OParameterError: a parameter in `baseline.params` is not one of H2O's.
    """
    from h2o.estimators import H2ODeepLearningEstimator

    params = check_parameters(H2ODeepLearningEstimator, cfg.baseline.params, "baseline.params")
    params.setdefault("seed", cfg.run.seed)
    if cfg.baseline.trainer == "torch":
        checked_plan(params, autoencoder=False, where="baseline.params", seed=cfg.run.seed)
    return params


def train_baseline(cfg: JobConfig, frames: RunFrames, model_id: str) -> dict[str, Any]:
    """Train the raw-pixel deep-learning classifier and evaluate it on valid and test.

    Returns:
        The `baseline` section of metrics.json.

    Raises:
        H2OParameterError: a parameter in `baseline.params` is not one of H2O's.
    """
    params = classifier_parameters(cfg)
    pixels = {split: frames.pixels(split) for split in ("valid", "test")}
    training = frames.training("pixels", baseline_rows(cfg))
    x = list(PIXEL_COLUMNS)
    return train_deep_learning_classifier(
        model_id,
        params,
        x,
        pixels,
        training=training,
        features="raw pixels (784)",
        torch=baseline_torch(cfg, frames, "pixels", x, training),
    )


def baseline_torch(
    cfg: JobConfig, frames: RunFrames, kind: InputKind, x: list[str], training: TrainingFrames
) -> TorchRequest | None:
    """How the baseline's classifier (and the feature classifier) trains with torch,
    when `baseline.trainer` is torch."""
    if cfg.baseline.trainer != "torch":
        return None
    data = frames.training_data(kind, baseline_rows(cfg), x, label_classes(training.originals))
    return TorchRequest(cfg.baseline.torch, data, frames.spark, cfg.run.seed, "baseline.params")


def baseline_rows(cfg: JobConfig) -> RowSelection:
    """The baseline's training rows; the feature classifier uses the same ones."""
    return cfg.baseline.rows.selection(cfg.run.seed, "baseline")
