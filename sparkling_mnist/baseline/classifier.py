"""The raw-pixel baseline: an H2O deep-learning classifier on the 784 pixels.

This is the figure every later stage (autoencoder features, the team) must beat.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sparkling_mnist.augment.selection import RowSelection
from sparkling_mnist.config.h2o_params import check_parameters
from sparkling_mnist.config.training import BaselineSettings
from sparkling_mnist.data.frames import InputKind, RunFrames, TrainingFrames
from sparkling_mnist.evaluate.h2o_classifier import evaluate_h2o_classifier, record_training_insight
from sparkling_mnist.evaluate.network_rows import augmented_error
from sparkling_mnist.schema import PIXEL_COLUMNS
from sparkling_mnist.torch_trainer import TrainingData, checked_plan, label_classes, run_rows
from sparkling_mnist.torch_trainer.fit import FitRequest, TrainerChoice, classifier_rows, fit_model

log = logging.getLogger(__name__)


def training_errors(model: Any, training: TrainingFrames, x: list[str]) -> dict[str, Any]:
    """Error on the train split's originals (`train`) and, when the model trained on
    some, on its augmented rows (`augmented`, by the network's numpy forward pass where
    the rows are), each with error, logloss and confusion."""
    result = {"train": evaluate_h2o_classifier(model, training.originals)}
    if training.has_augmented:
        result["augmented"] = augmented_error(model, "deeplearning", training, x)
    return result


def train_deep_learning_classifier(
    model_id: str,
    params: dict[str, Any],
    x: list[str],
    frames: Mapping[str, Any],
    *,
    training: TrainingFrames,
    features: str,
    trainer: TrainerChoice,
    torch_data: tuple[TrainingData, TrainingData | None] | None = None,
    spark: Any = None,
    seed: int = 0,
    where: str = "baseline.params",
) -> tuple[Any, dict[str, Any]]:
    """Train a deep-learning classifier on `training`'s rows (H2O, or torch) and evaluate it.

    Args:
        model_id: the H2O key of the model.
        params: checked H2ODeepLearningEstimator parameters.
        x: input columns.
        frames: H2OFrames "valid" and "test", each with a categorical `label`.
        training: the training rows (originals and augmented rows of the selection).
        features: what `x` is, for the metrics ("raw pixels (784)").
        trainer: who learns the weights; torch_data: torch's training and validation
            rows, read on the executors of `spark` (torch only).
        seed, where: the run seed and the config key of `params` (torch).

    Returns:
        The model, and a metrics section: ids, parameters, rows by origin, timings, and
        error/logloss/confusion on the originals, the augmented rows, valid and test.
    """
    from h2o.estimators import H2ODeepLearningEstimator

    if trainer.torch is not None and torch_data is not None:
        frame, torch_rows = classifier_rows(training, torch_data, trainer.torch, spark)
    else:  # H2O trains on every row: the one frame of them (converted now if it was not)
        frame, torch_rows = training.fit, None
    request = FitRequest(
        model_id, H2ODeepLearningEstimator, params, x, "label", frame, frames["valid"], trainer, where, seed, torch_rows
    )
    model, fitted = fit_model(request)
    seconds = fitted.seconds
    record = fitted.torch
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
        "trainer": fitted.trainer,
        "epochs_trained": float(model.scoring_history()["epochs"].iloc[-1])
        if record is None
        else float(record["history"][-1]["epochs"]) + float(record["h2o_epochs"]),
    }
    if record is not None:
        result["torch"] = record
    result.update(training_errors(model, training, x))
    for split in ("valid", "test"):
        result[split] = evaluate_h2o_classifier(model, frames[split])
    for split in ("train", "augmented", "valid", "test"):
        if split in result:
            log.info(
                "%s: %s error %.4f, logloss %.4f", model_id, split, result[split]["error"], result[split]["logloss"]
            )
    return model, result


def classifier_parameters(settings: BaselineSettings, seed: int) -> dict[str, Any]:
    """The baseline's checked parameters, with the run seed unless one is given.

    Raises:
        H2OParameterError: a parameter in `baseline.params` is not one of H2O's.
    """
    from h2o.estimators import H2ODeepLearningEstimator

    params = check_parameters(H2ODeepLearningEstimator, settings.params, "baseline.params")
    params.setdefault("seed", seed)
    if settings.trainer == "torch":
        checked_plan(params, autoencoder=False, where="baseline.params", seed=seed)
    return params


def train_baseline(settings: BaselineSettings, frames: RunFrames, *, seed: int, model_id: str) -> dict[str, Any]:
    """The baseline stage: the raw-pixel deep-learning classifier, evaluated on its
    training rows, valid and test.

    Returns:
        The `baseline` section of metrics.json.

    Raises:
        H2OParameterError: a parameter in `baseline.params` is not one of H2O's.
    """
    return train_classifier_on(settings, frames, "pixels", list(PIXEL_COLUMNS), seed=seed, model_id=model_id)


def train_classifier_on(
    settings: BaselineSettings, frames: RunFrames, kind: InputKind, x: list[str], *, seed: int, model_id: str
) -> dict[str, Any]:
    """The baseline's classifier, on its rows, over the pixels or the feature table."""
    params = classifier_parameters(settings, seed)
    selection = baseline_rows(settings, seed)
    training = frames.training(kind, selection)
    trainer = TrainerChoice.of((settings.trainer, settings.torch))
    torch_data = None
    if trainer.name == "torch":
        torch_data = run_rows(frames.run, kind, selection, x, label_classes(training.originals))
    model, result = train_deep_learning_classifier(
        model_id,
        params,
        x,
        {split: frames.split(kind, split) for split in ("valid", "test")},
        training=training,
        features="raw pixels (784)" if kind == "pixels" else f"autoencoder features ({len(x)})",
        trainer=trainer,
        torch_data=torch_data,
        spark=frames.spark,
        seed=seed,
    )
    name = "baseline" if kind == "pixels" else "features_classifier"
    result["training"] = record_training_insight(model, "deeplearning", name, frames.run, result.get("torch"))
    return result


def baseline_rows(settings: BaselineSettings, seed: int) -> RowSelection:
    """The baseline's training rows; the feature classifier uses the same ones."""
    return settings.rows.selection(seed, "baseline")
