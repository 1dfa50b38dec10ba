"""What a model says about its training, as data: cross-validation, early stopping,
score history and importances (pure; the H2O side is in test_team.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sparkling_mnist.evaluate import training_insight as insight


def test_cross_validation_summary_reads_h2o_s_table() -> None:
    # The shape of H2O's cross_validation_metrics_summary().as_data_frame().
    table = pd.DataFrame(
        {
            "": ["accuracy", "err", "err_count", "logloss", "mse"],
            "mean": [0.8, 0.2, 12.0, 0.61, 0.1],
            "sd": [0.02, 0.02, 1.0, 0.05, 0.01],
            "cv_1_valid": [0.78, 0.22, 13.0, 0.66, 0.11],
            "cv_2_valid": [0.82, 0.18, 11.0, 0.56, 0.09],
        }
    )
    summary = insight.cross_validation_summary(table, 2)
    assert summary == {
        "nfolds": 2,
        "error": {"mean": 0.2, "sd": 0.02, "folds": [0.22, 0.18]},
        "logloss": {"mean": 0.61, "sd": 0.05, "folds": [0.66, 0.56]},
    }
    assert "logloss" not in insight.cross_validation_summary(table[table[""] != "logloss"], 2)


def test_progress_says_when_early_stopping_ended_training() -> None:
    history = pd.DataFrame({"epochs": [0.0, 1.0, 2.0, 3.01]})
    stopped = insight.progress_summary(
        "deeplearning",
        {"epochs": 20, "stopping_rounds": 2, "stopping_metric": "logloss", "stopping_tolerance": 0.1},
        history,
    )
    assert stopped["unit"] == "epochs" and stopped["reached"] == 3.01 and stopped["limit"] == 20
    assert stopped["stopped_early"]
    # Reaching the limit (H2O's counter lands a hair short), or no stopping rule: not early.
    full = pd.DataFrame({"epochs": [0.0, 10.0, 19.9]})
    assert not insight.progress_summary("deeplearning", {"epochs": 20, "stopping_rounds": 2}, full)["stopped_early"]
    assert not insight.progress_summary("deeplearning", {"epochs": 20, "stopping_rounds": 0}, history)["stopped_early"]
    trees = insight.progress_summary(
        "gbm", {"ntrees": 50, "stopping_rounds": 1}, pd.DataFrame({"number_of_trees": [0, 1, 2, 3]})
    )
    assert (trees["unit"], trees["reached"], trees["stopped_early"]) == ("trees", 3.0, True)
    assert insight.progress_summary("glm", {}, None)["unit"] is None
    assert math.isnan(insight.progress_summary("drf", {"ntrees": 5}, None)["reached"])


def test_history_table_keeps_the_x_axis_and_the_classifier_metrics() -> None:
    raw = pd.DataFrame(
        {
            "timestamp": ["a", "b"],
            "number_of_trees": [0, 5],
            "training_logloss": [2.3, 0.4],
            "training_classification_error": [0.9, 0.1],
            "validation_logloss": [2.3, 0.6],
            "training_rmse": [0.9, 0.2],
        }
    )
    table = insight.history_table(raw)
    assert table.attrs["x"] == "number_of_trees"
    assert list(table.columns) == ["step", "training_classification_error", "training_logloss", "validation_logloss"]
    assert table["step"].tolist() == [0.0, 5.0]


def test_importances_and_the_pixel_map() -> None:
    rows = insight.importance_rows(["px0", "px783", "px30", "AE200_3"], [1.0, 4.0, 2.0, 1.0])
    assert [r["variable"] for r in rows] == ["px783", "px30", "px0", "AE200_3"]
    assert rows[0]["scaled_importance"] == 1.0 and rows[1]["scaled_importance"] == 0.5
    assert sum(r["percentage"] for r in rows) == pytest.approx(100.0)
    grid = insight.pixel_importance_grid(rows)
    assert grid is not None and grid.shape == (28, 28)
    assert grid[27, 27] == 1.0 and grid[1, 2] == 0.5 and grid[0, 0] == 0.25
    assert np.count_nonzero(grid) == 3  # a dropped (constant) pixel stays 0
    assert insight.pixel_importance_grid(insight.importance_rows(["AE200_3"], [1.0])) is None
