"""Thresholds and flags of the out-of-distribution detectors, and the per-row columns
`score` writes. Pure numpy.

A detector's threshold is a quantile of its scores on the training rows; a row is
flagged when its score is strictly above it, so at most `1 - quantile` of the training
rows are flagged (ties at the threshold are not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ANOMALY_SCORE = "anomaly_score"
ANOMALY_FLAG = "anomaly_flag"
RECONSTRUCTION_ERROR = "reconstruction_error"
RECONSTRUCTION_FLAG = "reconstruction_flag"
OOD_COLUMNS = (ANOMALY_SCORE, ANOMALY_FLAG, RECONSTRUCTION_ERROR, RECONSTRUCTION_FLAG)
"""What `score` writes per row when the stored run has out-of-distribution detectors."""


def reconstruction_detector(autoencoder: str) -> str:
    """The detector name of an autoencoder's reconstruction error."""
    return f"{autoencoder} reconstruction error"


def threshold_at(training_scores: np.ndarray, quantile: float) -> float:
    """The flag threshold: the `quantile` of the training rows' scores (an observed
    score, the lowest at or above that rank).

    Raises:
        ValueError: no scores, a NaN among them, or a quantile outside (0, 1).
    """
    scores = np.asarray(training_scores, dtype=np.float64)
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError(f"threshold: expected a non-empty 1-D array of training scores, got shape {scores.shape}")
    if np.isnan(scores).any():
        raise ValueError(f"threshold: {int(np.isnan(scores).sum())} training score(s) are NaN")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"threshold: quantile {quantile} must lie strictly between 0 and 1")
    return float(np.quantile(scores, quantile, method="higher"))


def flag(scores: np.ndarray, threshold: float) -> np.ndarray:
    """True where a score is above the threshold (higher scores are more anomalous)."""
    return np.asarray(np.asarray(scores, dtype=np.float64) > threshold)


@dataclass(frozen=True)
class Thresholds:
    """The thresholds `score` flags with: the isolation forest's anomaly score and the
    reconstruction error of one pixel autoencoder."""

    anomaly: float
    reconstruction: float

    def as_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"anomaly": self.anomaly, "reconstruction": self.reconstruction}


def ood_columns(anomaly_score: np.ndarray, reconstruction_error: np.ndarray, thresholds: Thresholds) -> dict[str, Any]:
    """The per-row columns `score` writes (`OOD_COLUMNS`, in that order): each score
    and whether it is above its threshold."""
    anomaly = np.asarray(anomaly_score, dtype=np.float64)
    error = np.asarray(reconstruction_error, dtype=np.float64)
    if anomaly.shape != error.shape or anomaly.ndim != 1:
        raise ValueError(f"anomaly scores {anomaly.shape} and reconstruction errors {error.shape} must be equal 1-D")
    return {
        ANOMALY_SCORE: anomaly,
        ANOMALY_FLAG: flag(anomaly, thresholds.anomaly),
        RECONSTRUCTION_ERROR: error,
        RECONSTRUCTION_FLAG: flag(error, thresholds.reconstruction),
    }
