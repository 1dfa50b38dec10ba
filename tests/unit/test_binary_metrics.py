"""ROC and precision-recall against hand-worked cases and scikit-learn (ties included)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from sparkling_mnist.evaluate import binary
from sparkling_mnist.evaluate.charts import plot_roc_pr
from sparkling_mnist.team.plots import plot_correctness_table, plot_gallery


def test_hand_worked_curve() -> None:
    scores = np.array([0.9, 0.8, 0.8, 0.3])
    positives = np.array([True, False, True, False])
    fpr, tpr, thresholds = binary.roc_curve(scores, positives)
    # The tie at 0.8 is one step: (0, 0) -> (0, .5) -> (.5, 1) -> (1, 1).
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])
    assert thresholds.tolist() == [np.inf, 0.9, 0.8, 0.3]
    assert binary.roc_auc(scores, positives) == pytest.approx(0.875)
    precision, recall, _ = binary.precision_recall_curve(scores, positives)
    np.testing.assert_allclose(precision, [1, 2 / 3, 0.5])
    np.testing.assert_allclose(recall, [0.5, 1, 1])
    assert binary.average_precision(scores, positives) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_scikit_learn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    positives = rng.random(500) < 0.3
    scores = np.round(rng.random(500) + positives * 0.3, 1)  # many ties
    assert binary.roc_auc(scores, positives) == pytest.approx(roc_auc_score(positives, scores), abs=1e-12)
    assert binary.average_precision(scores, positives) == pytest.approx(
        average_precision_score(positives, scores), abs=1e-12
    )


def test_one_vs_rest_and_anomaly() -> None:
    probabilities = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    labels = np.array([0, 1, 1, 1])
    result = binary.one_vs_rest(probabilities, labels)
    assert set(result) == {0, 1}
    assert result[0]["positive_rate"] == 0.25 and result[0]["auc"] == pytest.approx(1.0)
    summary = binary.anomaly_detection_summary(np.array([0.1, 0.5, 0.2, 0.9]), np.array([0, 1, 0, 1]))
    assert summary == {"auc": 1.0, "aucpr": 1.0, "positive_rate": 0.5, "rows": 4}


def test_errors() -> None:
    with pytest.raises(ValueError, match="every one of the 3 rows is negative"):
        binary.roc_auc(np.array([0.1, 0.2, 0.3]), np.array([False, False, False]))
    with pytest.raises(ValueError, match="every one of the 2 rows is positive"):
        binary.average_precision(np.array([0.1, 0.2]), np.array([True, True]))
    with pytest.raises(ValueError, match="1 NaN"):
        binary.roc_auc(np.array([0.1, np.nan]), np.array([True, False]))
    with pytest.raises(ValueError, match="equal 1-D shapes"):
        binary.roc_auc(np.array([0.1, 0.2]), np.array([True, False, True]))


def test_plots_are_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    positives = rng.random(200) < 0.2
    roc = plot_roc_pr({"x": (rng.random(200) + positives, positives)}, tmp_path / "roc.png", title="t")
    images = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    gallery = plot_gallery(images, np.array([1, 2, 3]), np.array([3, 2, 1]), tmp_path / "g.png", title="g")
    empty = plot_gallery(images[:0], np.array([]), np.array([]), tmp_path / "e.png", title="none")
    table = plot_correctness_table({0: 5, 1: 0, 2: 95}, tmp_path / "t.png")
    for path in (roc, gallery, empty, table):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000
