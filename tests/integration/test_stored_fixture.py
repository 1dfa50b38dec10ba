"""A run stored by an older version of the code (tests/fixtures/stored_run, made by
tests/fixtures/make_stored_run.py with commit a8f080f) still verifies, loads into H2O and
scores exactly as it did then: moving modules must not break what users have stored
(Spark ML saves each stage's Python class path; the manifest names every model)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparkling_mnist.config import StoreSettings
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.scoring.plan import ScoringPlan
from tests.conftest import ROOT

pytestmark = pytest.mark.spark

FIXTURE = ROOT / "tests" / "fixtures" / "stored_run"
RUN_ID = "stored-v1"


def test_a_run_stored_by_older_code_loads_and_scores_the_same(jvm_session: SparkH2OSession, tmp_path: Path) -> None:
    from pyspark.ml import PipelineModel

    from sparkling_mnist.scoring.engines import score_images
    from sparkling_mnist.store import open_store

    root = tmp_path / "store"
    shutil.copytree(FIXTURE / "store", root)
    store = open_store(StoreSettings(uri=str(root), run_id=RUN_ID))
    assert store.verify(RUN_ID).ok
    plan = ScoringPlan.from_manifest(store.manifest(RUN_ID))
    assert sorted(member.name for member in plan.members) == ["dl", "gbm"]
    _ = jvm_session.h2o  # H2O starts on first use
    loaded = store.load_run(RUN_ID)  # every model into H2O
    assert {model.algo for model in loaded.values()} >= {"deeplearning", "gbm", "isolationforest"}

    images = jvm_session.spark.read.parquet(str(FIXTURE / "images.parquet"))
    expected = pd.read_parquet(FIXTURE / "expected.parquet").sort_values("id").reset_index(drop=True)
    pipelined = PipelineModel.load(str(root / RUN_ID / "pipeline")).transform(images).toPandas()
    by_engine = score_images(plan, store, images, engine="spark")
    for unsorted in (pipelined, by_engine):
        scored = unsorted.sort_values("id").reset_index(drop=True)
        assert list(scored.columns) == list(expected.columns)
        probabilities = [f"p{c}" for c in range(10)] + ["anomaly_score", "reconstruction_error"]
        assert np.abs(scored[probabilities].to_numpy() - expected[probabilities].to_numpy()).max() <= 1e-9
        exact = [column for column in expected.columns if column not in probabilities]
        pd.testing.assert_frame_equal(scored[exact], expected[exact], check_dtype=False)
