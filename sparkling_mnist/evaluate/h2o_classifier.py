"""An H2O classifier's class probabilities as numpy, and its metrics on a frame with a
`label`: the thin H2O layer every stage that evaluates a classifier shares.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from sparkling_mnist.errors import InputDataError, TeamError
from sparkling_mnist.evaluate.classification import classification_summary, multiclass_logloss


def response_classes(model: Any) -> list[str]:
    """The class labels a classifier predicts, in H2O's domain order."""
    domain = model._model_json["output"]["domains"][-1]
    if not domain:
        raise TeamError(f"model {model.model_id} is not a classifier (its response has no classes)")
    return [str(level) for level in domain]


def predict_probabilities(model: Any, frame: Any, classes: Sequence[str]) -> np.ndarray:
    """Class probabilities of every row of `frame`, shape (rows, classes), columns in
    `classes` order; the `predict` column is dropped."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # h2o: single-threaded conversion of a small frame
        predicted = model.predict(frame).as_data_frame(use_multi_thread=False)
    columns = []
    for level in classes:
        name = level if level in predicted.columns else f"p{level}"
        if name not in predicted.columns:
            raise TeamError(f"model {model.model_id}: no probability column for class {level} in {list(predicted)}")
        columns.append(name)
    return np.asarray(predicted[columns].to_numpy(dtype=np.float64))


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
