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
