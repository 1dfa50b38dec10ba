"""The detectors judged on a mixed set: the run's test digits (in distribution) and
images that are not digits (out of distribution: Fashion-MNIST items). Numpy only: the
other images are read from their IDX file on the driver, the metrics are
`evaluate.binary`'s, with "not a digit" as the positive class.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sparkling_mnist.config.data import FashionMnistSource, IdxPart
from sparkling_mnist.config.ood import OodEvaluationSettings
from sparkling_mnist.data.idx import read_idx_pair
from sparkling_mnist.evaluate.binary import binary_summary
from sparkling_mnist.ood.flags import flag

log = logging.getLogger(__name__)

OTHERS_NAME = "fashion-mnist"


@dataclass(frozen=True)
class OtherImages:
    """Images that are not digits: (n, 784) uint8 pixels, their own labels, their file."""

    pixels: np.ndarray
    labels: np.ndarray
    source: str


def _others_part(settings: OodEvaluationSettings) -> IdxPart:
    part = FashionMnistSource(format="fashion-mnist", dir=settings.dir).as_idx().test
    assert part is not None  # the fashion-mnist source always has its test part
    return part


def others_files(settings: OodEvaluationSettings) -> list[str]:
    """The IDX image and label files the other images come from (Fashion-MNIST's test part)."""
    part = _others_part(settings)
    return [part.images, part.labels]


def read_others(settings: OodEvaluationSettings) -> OtherImages | None:
    """The first `settings.items` Fashion-MNIST test images, or None when the files are
    absent (the evaluation is then skipped; a file that is there but unreadable raises).

    Raises:
        InputDataError: a file is corrupt or truncated, naming it.
    """
    part = _others_part(settings)
    if not (Path(part.images).is_file() and Path(part.labels).is_file()):
        return None
    batch = read_idx_pair(part.images, part.labels, "test", settings.items)
    return OtherImages(np.ascontiguousarray(batch.pixels), batch.labels.astype(np.int64), part.images)


def mixed_set(digits: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The digits then the other images as one (n, 784) array, and which rows are
    out of distribution (the positives of the evaluation)."""
    pixels = np.concatenate([np.asarray(digits, dtype=np.uint8), np.asarray(others, dtype=np.uint8)])
    is_other = np.r_[np.zeros(len(digits), dtype=bool), np.ones(len(others), dtype=bool)]
    return pixels, is_other


def evaluate_detectors(
    scores: Mapping[str, np.ndarray], is_other: np.ndarray, thresholds: Mapping[str, float]
) -> dict[str, dict[str, Any]]:
    """Per detector: AUC, AUCPR (chance: the positive rate) and, at its threshold, the
    share of digits flagged (false alarms) and of other images flagged (detections).

    Args:
        scores: detector name -> its score per row of the mixed set (higher: less like
            the training digits).
        is_other: True for the rows that are not digits.
        thresholds: detector name -> its flag threshold.

    Raises:
        ValueError: a score array of the wrong shape, a NaN, or a set of one class only.
    """
    is_other = np.asarray(is_other, dtype=bool)
    result = {}
    for name, values in scores.items():
        flagged = flag(values, thresholds[name])
        result[name] = {
            **binary_summary(values, is_other),
            "threshold": float(thresholds[name]),
            "flagged_digits": float(flagged[~is_other].mean()),
            "flagged_others": float(flagged[is_other].mean()),
        }
    return result
