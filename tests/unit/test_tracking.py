"""What tracking sends to MLflow, computed without MLflow. No JVM."""

from __future__ import annotations

import math
from pathlib import Path

from sparkling_mnist.config import validate_config
from sparkling_mnist.tracking.mlflow_run import artifact_location, flatten, metrics_of, params_of


def test_config_leaves_become_parameters() -> None:
    params = params_of(validate_config({"run": {"seed": 3}, "augment": {"effects": ["rotate", "warp"]}}))
    assert params["run.seed"] == "3"
    assert params["augment.effects"] == '["rotate", "warp"]'  # a list of values stays one parameter
    assert params["team.members.0.name"] == "dl_rectifier"  # a list of sections is numbered
    assert all(len(value) <= 6000 for value in params.values())


def test_every_finite_number_of_the_metrics_is_a_metric() -> None:
    metrics = {
        "team": {"test": {"team": {"error": 0.028, "errors": 28}, "no_member_right": [3, 9]}, "kept": ["a"]},
        "features": {"augmented": {"agreement": {"tolerance": 1e-6, "max_abs_difference": {"AE200 (written)": 0.0}}}},
        "store": {"complete": True, "nan": math.nan},
    }
    assert metrics_of(metrics) == {
        "team.test.team.error": 0.028,
        "team.test.team.errors": 28.0,
        "features.augmented.agreement.tolerance": 1e-6,
        "features.augmented.agreement.max_abs_difference.AE200 _written_": 0.0,
    }
    assert dict(flatten({"a": [{"b": 1}, {"b": 2}]})) == {"a.0.b": 1, "a.1.b": 2}


def test_artifacts_go_beside_a_sqlite_store() -> None:
    assert artifact_location("sqlite:////tmp/run/mlflow.db") == Path("/tmp/run/mlartifacts").as_uri()
    assert artifact_location("http://127.0.0.1:5000") is None  # a server decides
