"""Classification metrics from labels and predictions. Pure numpy."""

from __future__ import annotations

from typing import Any

import numpy as np

from sparkling_mnist.schema import NUM_CLASSES


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int = NUM_CLASSES) -> np.ndarray:
    """Counts of (true label, predicted label) pairs as a (classes, classes) int64 array."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    if labels.shape != predicted.shape:
        raise ValueError(f"labels {labels.shape} and predictions {predicted.shape} differ in shape")
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def classification_summary(labels: np.ndarray, predicted: np.ndarray, logloss: float | None = None) -> dict[str, Any]:
    """Rows, error (misclassified fraction), per-class error and confusion matrix, JSON-ready."""
    matrix = confusion_matrix(labels, predicted)
    rows = int(matrix.sum())
    correct = int(np.trace(matrix))
    per_class_rows = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = 1.0 - np.diag(matrix) / per_class_rows
    summary: dict[str, Any] = {
        "rows": rows,
        "errors": rows - correct,
        "error": (rows - correct) / rows if rows else None,
        "per_class_error": [None if np.isnan(e) else round(float(e), 6) for e in per_class],
        "confusion": matrix.tolist(),
    }
    if logloss is not None:
        summary["logloss"] = float(logloss)
    return summary


def check_labels(labels: np.ndarray, classes: int) -> np.ndarray:
    """Labels as int64, each in 0..classes-1.

    Raises:
        ValueError: non-integer labels, or labels outside the classes (names one).
    """
    array = np.asarray(labels)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"labels must be a 1-D integer array, got {array.dtype} {array.shape}")
    outside = array[(array < 0) | (array >= classes)]
    if outside.size:
        raise ValueError(f"label {int(outside[0])} is not one of the {classes} classes (0..{classes - 1})")
    return array.astype(np.int64)


def multiclass_logloss(probabilities: np.ndarray, labels: np.ndarray, eps: float = 1e-15) -> float:
    """Mean negative log of the probability given to the true class (clipped at eps)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = check_labels(labels, probabilities.shape[1])
    if labels.shape[0] != probabilities.shape[0]:
        raise ValueError(f"{labels.shape[0]} labels for {probabilities.shape[0]} rows of probabilities")
    if not labels.size:
        raise ValueError("logloss of zero rows")
    chosen = probabilities[np.arange(labels.shape[0]), labels]
    return float(-np.mean(np.log(np.clip(chosen, eps, 1.0))))
