"""Out-of-distribution flags without a JVM: thresholds and flags, the detectors'
evaluation, the mixed set's files, the config section, the stored lineage, the plan
`score` reads, the fingerprint and the report's section."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sparkling_mnist.config import validate_config
from sparkling_mnist.config.ood import OodEvaluationSettings
from sparkling_mnist.errors import ConfigError, H2OParameterError
from sparkling_mnist.evaluate.ood_section import ood_section
from sparkling_mnist.evaluate.report import embedded_png, table
from sparkling_mnist.ood.evaluation import evaluate_detectors, mixed_set, others_files, read_others
from sparkling_mnist.ood.flags import OOD_COLUMNS, Thresholds, flag, ood_columns, threshold_at
from sparkling_mnist.ood.stage import check_ood_settings
from sparkling_mnist.pipeline.fingerprints import stage_fingerprints
from sparkling_mnist.pipeline.stages import STAGES
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.scoring.plan import ScoringPlan
from sparkling_mnist.store.manifest import model_roles, run_lineage
from tests.sample_data import make_images, write_idx_pair


def test_threshold_is_an_observed_quantile_and_flags_at_most_the_rest() -> None:
    scores = np.arange(1.0, 101.0)  # 1..100
    assert threshold_at(scores, 0.9) == 91.0  # the lowest score at or above the 0.9 rank
    assert flag(scores, 91.0).sum() == 9  # strictly above: at most 10 % of the training rows
    assert threshold_at(np.full(5, 2.0), 0.5) == 2.0 and not flag(np.full(5, 2.0), 2.0).any()  # ties not flagged
    with pytest.raises(ValueError, match="NaN"):
        threshold_at(np.array([1.0, np.nan]), 0.5)
    with pytest.raises(ValueError, match="non-empty"):
        threshold_at(np.array([]), 0.5)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        threshold_at(scores, 1.0)


def test_ood_columns_flag_each_score_against_its_own_threshold() -> None:
    columns = ood_columns(np.array([0.2, 0.7, 0.5]), np.array([3.0, 1.0, 9.0]), Thresholds(0.5, 2.0))
    assert tuple(columns) == OOD_COLUMNS
    np.testing.assert_array_equal(columns["anomaly_flag"], [False, True, False])
    np.testing.assert_array_equal(columns["reconstruction_flag"], [True, False, True])
    np.testing.assert_array_equal(columns["reconstruction_error"], [3.0, 1.0, 9.0])
    with pytest.raises(ValueError, match="must be equal 1-D"):
        ood_columns(np.zeros(2), np.zeros(3), Thresholds(0.5, 2.0))


def test_evaluation_of_a_perfect_a_useless_and_a_backwards_detector() -> None:
    is_other = np.array([False, False, False, True, True])
    scores = {
        "perfect": np.array([0.1, 0.2, 0.3, 0.8, 0.9]),
        "constant": np.full(5, 0.5),
        "backwards": np.array([0.9, 0.8, 0.7, 0.2, 0.1]),
    }
    result = evaluate_detectors(scores, is_other, {"perfect": 0.25, "constant": 0.5, "backwards": 0.75})
    assert result["perfect"]["auc"] == 1.0 and result["perfect"]["aucpr"] == 1.0
    assert result["perfect"]["flagged_digits"] == pytest.approx(1 / 3) and result["perfect"]["flagged_others"] == 1.0
    assert result["constant"]["auc"] == 0.5 and result["constant"]["aucpr"] == pytest.approx(0.4)  # chance
    assert result["constant"]["positive_rate"] == pytest.approx(0.4)
    assert result["backwards"]["auc"] == 0.0 and result["backwards"]["flagged_digits"] == pytest.approx(2 / 3)
    assert result["backwards"]["flagged_others"] == 0.0 and result["backwards"]["threshold"] == 0.75


def test_mixed_set_puts_the_digits_first() -> None:
    pixels, is_other = mixed_set(np.zeros((3, 784), np.uint8), np.full((2, 784), 7, np.uint8))
    assert pixels.shape == (5, 784) and pixels[3:].min() == 7
    np.testing.assert_array_equal(is_other, [False, False, False, True, True])


def test_the_other_images_are_read_or_missing_never_faked(tmp_path: Path) -> None:
    settings = OodEvaluationSettings(dir=str(tmp_path), items=4)
    assert read_others(settings) is None  # absent: the stage records the evaluation as skipped
    assert others_files(settings) == [
        str(tmp_path / "t10k-images-idx3-ubyte.gz"),
        str(tmp_path / "t10k-labels-idx1-ubyte.gz"),
    ]
    images, labels = make_images(6, seed=3)
    write_idx_pair(tmp_path, images, labels, "t10k")
    others = read_others(settings)
    assert others is not None and others.source == str(tmp_path / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(others.pixels, images[:4].reshape(4, 784))
    np.testing.assert_array_equal(others.labels, labels[:4])


def test_config_section_is_checked_with_key_paths() -> None:
    cfg = validate_config({"ood": {"flag_quantile": 0.95, "params": {"ntrees": 10}, "evaluation": {"items": 50}}})
    assert (cfg.ood.enabled, cfg.ood.flag_quantile, cfg.ood.evaluation.items) == (True, 0.95, 50)
    with pytest.raises(ConfigError, match=r"ood.flag_quantile"):
        validate_config({"ood": {"flag_quantile": 1.0}})
    with pytest.raises(ConfigError, match=r"ood.evaluation.item: unknown key"):
        validate_config({"ood": {"evaluation": {"item": 5}}})
    with pytest.raises(H2OParameterError, match=r"ood.params.ntree: .*did you mean ntrees"):
        check_ood_settings(validate_config({"ood": {"params": {"ntree": 5}}}).ood, cfg.features, 1)
    stacked = validate_config({"ood": {"autoencoder": "AE128"}})
    with pytest.raises(ConfigError, match=r"ood.autoencoder: 'AE128' is not an autoencoder on the pixels"):
        check_ood_settings(stacked.ood, stacked.features, 1)
    check_ood_settings(validate_config({"ood": {"autoencoder": "AE32"}}).ood, cfg.features, 1)


def test_ood_is_a_stage_after_the_team_with_its_own_fingerprint() -> None:
    assert STAGES.index("team") < STAGES.index("ood") < STAGES.index("store")
    base = stage_fingerprints(validate_config({}))
    other = stage_fingerprints(validate_config({"ood": {"flag_quantile": 0.9}}))
    assert other["ood"] != base["ood"] and other["store"] != base["store"]  # the store saves the forest
    assert {key: other[key] for key in ("features", "team")} == {key: base[key] for key in ("features", "team")}
    assert stage_fingerprints(validate_config({"run": {"seed": 1}}))["ood"] != base["ood"]


def _ood_metrics(status: str = "done") -> dict[str, Any]:
    detectors = {
        "isolation forest": {"auc": 0.9, "aucpr": 0.8, "positive_rate": 0.5, "rows": 20, "threshold": 0.6},
        "AE200 reconstruction error": {"auc": 0.97, "aucpr": 0.95, "positive_rate": 0.5, "rows": 20, "threshold": 0.1},
    }
    for values in detectors.values():
        values.update(flagged_digits=0.05, flagged_others=0.7)
    evaluation: dict[str, Any] = {"status": "skipped", "reason": "/nowhere/t10k-images-idx3-ubyte.gz not found"}
    if status == "done":
        evaluation = {"status": "done", "digits": 10, "others": 10, "others_source": "/f/t10k", "detectors": detectors}
    return {
        "isolation_forest": {
            "model_id": "isolation_forest_abc",
            "algorithm": "isolationforest",
            "params": {"ntrees": 5, "seed": 7},
            "features": 16,
            "train_rows": 380,
            "threshold": 0.6,
        },
        "reconstruction": {"autoencoder": "AE200", "threshold": 0.1},
        "flag_quantile": 0.99,
        "thresholds": {"isolation forest": 0.6, "AE200 reconstruction error": 0.1},
        "training_flagged": {"isolation forest": 0.01, "AE200 reconstruction error": 0.0},
        "evaluation": evaluation,
    }


def _metrics(ood: dict[str, Any] | None) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "features": {
            "autoencoders": {
                "AE200": {
                    "model_id": "AE200_x",
                    "input": "pixels",
                    "hidden": 4,
                    "training_mse": 0.1,
                    "validation_mse": 0.1,
                }
            },
            "used": ["AE200"],
        },
        "team": {
            "members": {
                "gbm": {
                    "model_id": "gbm_x",
                    "algorithm": "gbm",
                    "input": "features",
                    "params": {},
                    "valid": {"error": 0.1, "logloss": 0.3},
                    "test": {"error": 0.1, "logloss": 0.3},
                }
            },
            "kept": ["gbm"],
            "classes": [0, 1],
            "low_confidence_threshold": 0.5,
        },
    }
    if ood is not None:
        metrics["ood"] = ood
    return metrics


def test_the_store_saves_the_forest_with_its_mojo_and_the_thresholds_in_the_lineage() -> None:
    metrics = _metrics(_ood_metrics())
    role = model_roles(metrics)["isolation_forest_abc"]
    assert role["role"] == "ood isolation forest" and role["artifacts"] == ["mojo"]
    assert role["metrics"] == {"threshold": 0.6, "flag_quantile": 0.99, "auc": 0.9, "aucpr": 0.8}
    lineage = run_lineage(metrics)
    assert lineage["ood"] == {
        "isolation_forest": "isolation_forest_abc",
        "anomaly_threshold": 0.6,
        "autoencoder": "AE200",
        "reconstruction_threshold": 0.1,
        "flag_quantile": 0.99,
    }
    plan = ScoringPlan.from_manifest({"run_id": "r", "lineage": lineage})
    assert plan.ood is not None and plan.ood.thresholds == Thresholds(anomaly=0.6, reconstruction=0.1)
    assert plan.autoencoder(plan.ood.autoencoder).model_id == "AE200_x"
    skipped = model_roles(_metrics(_ood_metrics("skipped")))["isolation_forest_abc"]
    assert "auc" not in skipped["metrics"]  # an evaluation that did not run has no figures


def test_a_run_without_ood_stores_and_scores_as_before() -> None:
    metrics = _metrics(None)
    assert set(model_roles(metrics)) == {"AE200_x", "gbm_x"}
    lineage = run_lineage(metrics)
    assert lineage["ood"] is None
    assert ScoringPlan.from_manifest({"run_id": "r", "lineage": lineage}).ood is None
    older = {key: value for key, value in lineage.items() if key != "ood"}  # a manifest from before the stage
    assert ScoringPlan.from_manifest({"run_id": "r", "lineage": older}).ood is None


def test_report_section_shows_the_detectors_or_why_not(tmp_path: Path) -> None:
    run = RunDir.at(tmp_path)
    assert ood_section(run, {}, table=table, image=embedded_png) == ""
    done = ood_section(run, {"ood": _ood_metrics()}, table=table, image=embedded_png)
    assert "<h2>Out of distribution</h2>" in done and "AE200 reconstruction error" in done
    assert re.search(r"<td>isolation forest</td><td>0\.9000</td><td>0\.8000</td><td>0\.5000</td>", done)
    assert "(ROC and PR of the out-of-distribution detectors: not produced by this run)" in done  # no plot here
    skipped = ood_section(run, {"ood": _ood_metrics("skipped")}, table=table, image=embedded_png)
    assert "Evaluation skipped: /nowhere/t10k-images-idx3-ubyte.gz not found" in skipped
    assert "<td>AE200 reconstruction error</td><td>0.1000</td><td>0.0000</td>" in skipped
