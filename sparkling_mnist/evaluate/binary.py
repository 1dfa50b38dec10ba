"""ROC and precision-recall for binary tasks, pure numpy: one class against the rest
of the team's probabilities, and an autoencoder's reconstruction error as an anomaly
score. Tied scores form one step (no order-dependent staircase)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _check(scores: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    if scores.ndim != 1 or scores.shape != positives.shape:
        raise ValueError(f"scores {scores.shape} and positives {positives.shape} must be equal 1-D shapes")
    if np.isnan(scores).any():
        raise ValueError(f"scores contain {int(np.isnan(scores).sum())} NaN value(s)")
    if positives.all() or not positives.any():
        which = "positive" if positives.all() else "negative"
        raise ValueError(f"every one of the {positives.size} rows is {which}: a binary metric needs both classes")
    return scores, positives


def _counts(scores: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positives at each distinct threshold, highest score first."""
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], positives[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(ranked)), ranked.size - 1]
    true_pos = np.cumsum(hits)[last_of_tie]
    false_pos = (last_of_tie + 1) - true_pos
    return true_pos.astype(np.float64), false_pos.astype(np.float64), ranked[last_of_tie]


def roc_curve(scores: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive rates, starting at (0, 0), and the thresholds (inf first)."""
    scores, positives = _check(scores, positives)
    true_pos, false_pos, thresholds = _counts(scores, positives)
    tpr = np.r_[0.0, true_pos / positives.sum()]
    fpr = np.r_[0.0, false_pos / (~positives).sum()]
    return fpr, tpr, np.r_[np.inf, thresholds]


def roc_auc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids; a tie counts half)."""
    fpr, tpr, _ = roc_curve(scores, positives)
    return float(np.trapezoid(tpr, fpr))


def precision_recall_curve(scores: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall at each distinct threshold (highest first), and the thresholds."""
    scores, positives = _check(scores, positives)
    true_pos, false_pos, thresholds = _counts(scores, positives)
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / positives.sum()
    return precision, recall, thresholds


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """AUCPR as the step-wise average precision: sum of (recall step) x precision."""
    precision, recall, _ = precision_recall_curve(scores, positives)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def binary_summary(scores: np.ndarray, positives: np.ndarray) -> dict[str, Any]:
    """AUC, AUCPR and the positive rate (the PR curve's chance level), JSON-ready."""
    positives = np.asarray(positives, dtype=bool)
    return {
        "auc": roc_auc(scores, positives),
        "aucpr": average_precision(scores, positives),
        "positive_rate": float(positives.mean()),
        "rows": int(positives.size),
    }


def one_vs_rest(probabilities: np.ndarray, labels: np.ndarray) -> dict[int, dict[str, Any]]:
    """For each class present with others: its probability as the score of "is this class"."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels)
    if probabilities.ndim != 2 or probabilities.shape[0] != labels.shape[0]:
        raise ValueError(f"probabilities {probabilities.shape} do not match {labels.shape[0]} labels")
    result = {}
    for klass in range(probabilities.shape[1]):
        positives = labels == klass
        if positives.any() and not positives.all():
            result[klass] = binary_summary(probabilities[:, klass], positives)
    return result


def anomaly_detection_summary(reconstruction_error: np.ndarray, is_anomaly: np.ndarray) -> dict[str, Any]:
    """How well reconstruction error (higher = more anomalous) ranks the anomalies."""
    return binary_summary(reconstruction_error, is_anomaly)
