"""The user's entry points as separate processes: the console script and spark-submit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparkling_mnist.runtime.spark_conf import JAVA17_FLAGS
from tests.conftest import ROOT

pytestmark = pytest.mark.spark

BIN = Path(sys.executable).parent
TINY = [
    "--set",
    "source.limit=300",
    "--set",
    "baseline.params.hidden=[16]",
    "--set",
    "baseline.params.epochs=1",
    "--set",
    "spark.conf.spark.driver.memory=2g",
]


def _run(args: list[str], timeout: int = 400) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_main_job_runs_then_resumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    command = [str(BIN / "sparkling-mnist"), "run", "--config", "conf/local.yaml", "--set", f"run.dir={run_dir}", *TINY]
    first = _run(command)
    assert first.returncode == 0, first.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["baseline"]["test"]["rows"] == 60 and 0 <= metrics["baseline"]["test"]["error"] < 0.9
    assert "read = accepted + rejected: 300 = 300 + 0" in first.stderr
    augment = json.loads((run_dir / "data" / "augment.json").read_text())
    assert augment["rows_out"] == augment["rows_in"] * 11  # conf/local.yaml: 11 effects x 1 copy
    assert (run_dir / "plots" / "augment_grid.png").is_file()

    second = _run(command)
    assert second.returncode == 0, second.stderr[-3000:]
    assert all(f"stage {stage}: already done" in second.stderr for stage in ("ingest", "augment", "baseline"))
    assert "cloud up" not in second.stderr  # nothing left to do: H2O is never started


def test_bad_config_fails_fast_with_the_key_path(tmp_path: Path) -> None:
    result = _run([str(BIN / "sparkling-mnist"), "ingest", "--set", "split.valid_fraktion=0.1"], timeout=60)
    assert result.returncode == 2
    assert "split.valid_fraktion: unknown key" in result.stderr
    params = _run(
        [
            str(BIN / "sparkling-mnist"),
            "train-baseline",
            "--set",
            f"run.dir={tmp_path}",
            "--set",
            "baseline.params.epoch=1",
        ],
        timeout=120,
    )
    assert params.returncode == 2
    assert "stage 'ingest' has not finished" in params.stderr or "baseline.params.epoch" in params.stderr


def test_spark_submit_runs_the_same_job(tmp_path: Path) -> None:
    import pyspark

    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    run_dir = tmp_path / "run"
    flags = " ".join(JAVA17_FLAGS)
    command = [
        str(spark_submit),
        "--master",
        "local[1]",
        "--conf",
        f"spark.driver.extraJavaOptions={flags}",
        "--conf",
        "spark.ui.enabled=false",
        "jobs/ingest.py",
        "--config",
        "conf/local.yaml",
        "--set",
        f"run.dir={run_dir}",
        "--set",
        "source.limit=100",
    ]
    result = _run(command)
    output = result.stdout + result.stderr  # spark-submit relays the Python driver's stderr to stdout
    assert result.returncode == 0, output[-3000:]
    assert "master=local[1]" in output  # spark-submit's --master wins over the YAML's local[2]
    spark_info = [line for line in output.splitlines() if " INFO " in line and "sparkling_mnist" not in line]
    assert len(spark_info) <= 5, spark_info[:20]  # spark.log.level WARN under spark-submit too
    summary = json.loads((run_dir / "data" / "ingest.json").read_text())
    assert summary["accepted"] == 100

    without_flags = _run([str(spark_submit), "--master", "local[1]", "jobs/ingest.py", "--set", f"run.dir={run_dir}"])
    assert without_flags.returncode == 2
    assert "without the Java 17 flags" in without_flags.stdout + without_flags.stderr
