"""A garment-preset config end to end on a few hundred Fashion-MNIST images: the garment
effects on the executors, torch members with a learning-rate schedule, weight decay and
label smoothing, the team by a rule fitted on valid, and the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from sparkling_mnist.augment import apply_effect
from sparkling_mnist.augment.batch import IMAGE_SIDE
from sparkling_mnist.config.recipe import FASHION_MNIST_DIR
from sparkling_mnist.pipeline.runner import StageRunner
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.schema import pixels_from_arrow
from tests.conftest import make_config

pytestmark = pytest.mark.spark

TORCH = {"batch_size": 16, "schedule": "onecycle", "weight_decay": 1e-4, "label_smoothing": 0.1}


@pytest.fixture(scope="module")
def garments_run(jvm_session: SparkH2OSession, tmp_path_factory: pytest.TempPathFactory) -> StageRunner:
    if not Path(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST is not installed in {FASHION_MNIST_DIR} (Debian: dataset-fashion-mnist)")
    cfg = make_config(
        tmp_path_factory.mktemp("garments") / "run",
        source={"format": "fashion-mnist", "limit": 300},
        augment={"enabled": True, "preset": "garments", "copies": 2},
        baseline={"enabled": False},
        features={
            "autoencoders": [{"name": "Small", "hidden": 12}],
            "defaults": {"activation": "Tanh", "epochs": 1, "seed": 5},
            "trainer": "torch",
            "compare": False,
        },
        team={
            "trainer": "torch",
            "torch": TORCH,
            "rows": {"augmented": True},
            "members": [
                {
                    "name": "pixels",
                    "algorithm": "deeplearning",
                    "input": "pixels",
                    "params": {"hidden": [32], "epochs": 6, "activation": "RectifierWithDropout"},
                },
                {
                    "name": "originals",
                    "algorithm": "deeplearning",
                    "input": "features+passthrough",
                    "rows": {"augmented": False},
                    "params": {"hidden": [16], "epochs": 10, "activation": "Tanh"},
                },
                {"name": "gbm", "algorithm": "gbm", "params": {"ntrees": 5, "max_depth": 3}},
            ],
            "keep": None,
            "rule": "selected",
        },
        ood={"enabled": False},
    )
    runner = StageRunner(cfg, jvm_session, RunDir.at(cfg.run.dir))
    for stage in ("ingest", "augment", "features", "team", "report"):
        getattr(runner, stage)()
    return runner


def test_a_garment_preset_run_trains_on_garment_copies_and_picks_its_team_on_valid(garments_run: StageRunner) -> None:
    run = garments_run.run
    augmented = pq.read_table(run.augmented, columns=["effect", "source_id", "copy", "pixels"])
    train = pq.read_table(run.split("train"), columns=["id", "pixels"])
    assert set(augmented.column("effect").to_pylist()) == {"garments"}  # the preset's effect, no digit effect
    assert augmented.num_rows == 2 * train.num_rows  # 2 copies of every training image
    # Each copy is its garment through the garments kernel, row by row (seeded per row).
    order = np.argsort(train.column("id").to_numpy())
    source_ids = augmented.column("source_id").to_numpy()
    at = order[np.searchsorted(train.column("id").to_numpy(), source_ids, sorter=order)]
    originals = pixels_from_arrow(train.column("pixels"))[at].reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    copies = pixels_from_arrow(augmented.column("pixels")).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    copy_index = augmented.column("copy").to_numpy().astype(np.int64)
    expected = apply_effect("garments", originals, source_ids, copy_index, garments_run.cfg.run.seed)
    np.testing.assert_array_equal(copies, expected)
    mirrored = (copies == originals[:, :, ::-1]).all(axis=(1, 2))
    assert (copies == originals).all(axis=(1, 2)).mean() < 0.1 and mirrored.mean() < 0.5

    metrics = run.read_metrics()
    team = metrics["team"]
    assert team["rule"]["name"] == "selected" and set(team["rule"]["members"]) <= {"pixels", "originals", "gbm"}
    assert set(team["valid"]["rules"]) == {"summed", "weighted", "selected", "vote"}
    for member in ("pixels", "originals"):
        record = team["members"][member]
        assert record["trainer"] == "torch" and record["torch"]["steps"] >= 100
    assert team["members"]["pixels"]["test"]["error"] < 0.5, team["members"]["pixels"]  # chance: 0.9
    assert team["members"]["pixels"]["rows"]["augmented"] == augmented.num_rows
    assert team["members"]["originals"]["rows"]["augmented"] == 0
    weights = team["valid"]["rules"]["selected"]["weights"]
    assert np.isclose(sum(weights.values()), 1.0) and min(weights.values()) >= 0
    chosen = [name for name, weight in weights.items() if weight > 0]
    assert sorted(chosen) == sorted(team["rule"]["members"])  # the stored team: the members the rule weighs
    assert team["test"]["team"]["error"] == team["test"]["rules"]["selected"]["error"]
    # Fitted on valid: no rule does worse there than the summed probabilities by log-loss.
    rules = team["valid"]["rules"]
    assert rules["selected"]["logloss"] <= rules["summed"]["logloss"] + 1e-9
    assert rules["weighted"]["logloss"] <= rules["summed"]["logloss"] + 1e-9
    assert (run.root / "report.html").is_file()
