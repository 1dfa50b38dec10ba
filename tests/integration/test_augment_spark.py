"""The augment stage on Spark local mode: exact output, provenance, counts, determinism
across runs, partitionings, batch sizes and a retried task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparkling_mnist.augment import RotateParams, apply_effect
from sparkling_mnist.augment.ids import AugmentPlan, augmented_ids
from sparkling_mnist.augment.stage import ARROW_BATCH_CONF, augment_images, pixels_of, run_augment
from sparkling_mnist.config import JobConfig
from sparkling_mnist.data.ingest import read_split, run_ingest
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from tests.conftest import ROOT, make_config
from tests.integration import augment_retry_job
from tests.sample_data import make_images, write_idx_pair

pytestmark = pytest.mark.spark

EFFECTS = ["rotate", "shift", "all2"]
COPIES = 2
ROTATE_SIGMA = 25.0  # far from the default 8: the settings must reach the executors


@pytest.fixture(scope="module")
def ingested(jvm_session: SparkH2OSession, tmp_path_factory: pytest.TempPathFactory) -> tuple[JobConfig, RunDir]:
    """A run with 40 synthetic digits ingested (30 in the train split)."""
    folder = tmp_path_factory.mktemp("augment")
    images, labels = make_images(40, seed=8)
    train_images, train_labels = write_idx_pair(folder, images, labels, "train")
    cfg = make_config(
        folder / "run",
        source={"format": "idx", "train": {"images": str(train_images), "labels": str(train_labels)}},
        split={"valid_fraction": 0.125, "test_fraction": 0.125},
        augment={
            "enabled": True,
            "effects": EFFECTS,
            "copies": COPIES,
            "params": {"rotate": {"sigma_degrees": ROTATE_SIGMA}},
        },
    )
    run = RunDir.at(cfg.run.dir)
    run_ingest(cfg.source, cfg.split, cfg.ingest, jvm_session.spark, run, seed=cfg.run.seed)
    return cfg, run


def collect(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by id with pixels as bytes, for exact comparisons."""
    rows = frame.sort_values("id").reset_index(drop=True)
    rows["pixels"] = rows["pixels"].map(bytes)
    return rows


def test_stage_writes_the_effects_applied_locally_with_provenance(
    jvm_session: SparkH2OSession, ingested: tuple[JobConfig, RunDir]
) -> None:
    cfg, run = ingested
    counts = run_augment(
        cfg.augment.plan(cfg.run.seed),
        jvm_session.spark,
        run,
        partitions=cfg.augment.partitions,
        rows_per_batch=cfg.augment.rows_per_batch,
    )
    train = read_split(jvm_session.spark, run, "train").orderBy("id").toPandas()
    rows_in = len(train)
    assert rows_in == 30
    assert (counts.rows_in, counts.rows_out) == (rows_in, rows_in * len(EFFECTS) * COPIES)
    assert counts.per_effect == dict.fromkeys(EFFECTS, rows_in * COPIES)

    out = collect(jvm_session.spark.read.parquet(str(run.augmented)).toPandas())
    assert list(out.columns) == ["id", "label", "pixels", "source_id", "effect", "copy"]
    assert len(out) == counts.rows_out and out["id"].is_unique
    source_ids = train["id"].to_numpy()
    images = pixels_of(train)
    for effect in EFFECTS:
        params = RotateParams(sigma_degrees=ROTATE_SIGMA) if effect == "rotate" else None
        for copy in range(COPIES):
            got = out[(out["effect"] == effect) & (out["copy"] == copy)].sort_values("source_id")
            assert got["source_id"].tolist() == source_ids.tolist()
            assert got["label"].tolist() == train["label"].tolist()
            assert got["id"].tolist() == augmented_ids(source_ids, effect, copy).tolist()
            expected = apply_effect(effect, images, source_ids, copy, cfg.run.seed, params=params)
            np.testing.assert_array_equal(pixels_of(got), expected)

    summary = json.loads(run.augment_summary.read_text())
    assert summary["rows_out"] == counts.rows_out and summary["rows_per_s"] > 0
    for name in ("augment_grid.png", "sharpen_histograms.png"):
        assert run.plot(name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["plots"] == [str(run.plot("augment_grid.png")), str(run.plot("sharpen_histograms.png"))]


def test_same_bytes_across_runs_partitionings_and_batch_sizes(
    jvm_session: SparkH2OSession, ingested: tuple[JobConfig, RunDir]
) -> None:
    cfg, run = ingested
    spark = jvm_session.spark
    plan = cfg.augment.plan(cfg.run.seed)
    train = read_split(spark, run, "train")
    reference = collect(augment_images(train.repartition(1), plan).toPandas())
    assert len(reference) == 30 * len(EFFECTS) * COPIES
    previous = spark.conf.get(ARROW_BATCH_CONF)
    try:
        spark.conf.set(ARROW_BATCH_CONF, "4")  # several batches per task, of other compositions
        for frame in (augment_images(train.repartition(3), plan), augment_images(train.repartition(1), plan)):
            pd.testing.assert_frame_equal(collect(frame.toPandas()), reference)
    finally:
        spark.conf.set(ARROW_BATCH_CONF, previous)
    other_seed = AugmentPlan(plan.effects, plan.copies, plan.run_seed + 1, plan.params)
    changed = collect(augment_images(train, other_seed).toPandas())
    assert not changed["pixels"].equals(reference["pixels"])  # the comparison above can fail


def test_empty_input_gives_no_rows(jvm_session: SparkH2OSession, ingested: tuple[JobConfig, RunDir]) -> None:
    cfg, run = ingested
    train = read_split(jvm_session.spark, run, "train")
    assert augment_images(train.where("id < 0").repartition(2), cfg.augment.plan(cfg.run.seed)).count() == 0


def test_a_task_that_fails_midway_is_retried_to_the_same_bytes(
    jvm_session: SparkH2OSession, ingested: tuple[JobConfig, RunDir], tmp_path: Path
) -> None:
    _, run = ingested
    markers = tmp_path / "markers"
    markers.mkdir()
    output = tmp_path / "retried"
    script = Path(augment_retry_job.__file__).relative_to(ROOT)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    result = subprocess.run(
        [sys.executable, str(script), str(run.split("train")), str(output), str(markers)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "injected failure of the first attempt" in result.stderr  # Spark logged the failed attempt
    assert {p.name for p in markers.iterdir()} >= {"failed-p0-a0", "done-p0-a1"}
    assert "done-p0-a0" not in {p.name for p in markers.iterdir()}

    spark = jvm_session.spark
    retried = collect(spark.read.parquet(str(output)).toPandas())
    expected = collect(augment_images(read_split(spark, run, "train"), augment_retry_job.PLAN).toPandas())
    assert len(expected) == 30 * augment_retry_job.PLAN.rows_per_source
    pd.testing.assert_frame_equal(retried, expected)
