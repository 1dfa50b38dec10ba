"""The user's entry points as separate processes: the console script and spark-submit."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from sparkling_mnist.pipeline.stages import STAGES
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
    "--set",
    "augment.effects=[rotate, all]",  # 2 of the 11: the same stages, a fifth of the rows
]


def _run(args: list[str], timeout: int = 400) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _main_job(run_dir: Path) -> list[str]:
    return [str(BIN / "sparkling-mnist"), "run", "--config", "conf/local.yaml", "--set", f"run.dir={run_dir}", *TINY]


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The main job on the tiny data, run once from start to end (shared by two tests)."""
    run_dir = tmp_path_factory.mktemp("undisturbed") / "run"
    return run_dir, _run(_main_job(run_dir))


def test_main_job_runs_then_resumes(undisturbed: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    run_dir, first = undisturbed
    command = _main_job(run_dir)
    assert first.returncode == 0, first.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["baseline"]["test"]["rows"] == 60 and 0 <= metrics["baseline"]["test"]["error"] < 0.9
    assert "read = accepted + rejected: 300 = 300 + 0" in first.stderr
    augment = json.loads((run_dir / "data" / "augment.json").read_text())
    assert augment["rows_out"] == augment["rows_in"] * 2  # 2 effects x 1 copy
    assert (run_dir / "plots" / "augment_grid.png").is_file()

    second = _run(command)
    assert second.returncode == 0, second.stderr[-3000:]
    assert all(f"stage {stage}: already done" in second.stderr for stage in ("ingest", "augment", "baseline"))
    assert "cloud up" not in second.stderr  # nothing left to do: H2O is never started

    # Moved to another disk, it is still the same run: every stage skips.
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(run_dir, moved)
    third = _run(_main_job(moved))
    assert third.returncode == 0, third.stderr[-3000:]
    skipped = [stage for stage in STAGES if f"stage {stage}: already done" in third.stderr]
    assert skipped == ["ingest", "augment", "baseline", "features", "team", "ood"], third.stderr[-3000:]
    assert "cloud up" not in third.stderr


def _killed_when(command: list[str], log: Path, ready: Callable[[], bool], what: str) -> str:
    """Run the job and SIGKILL its whole process group (driver, JVM, Python workers: as a
    machine crash would) the moment `ready()` holds. Returns the job's log."""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 400
        while process.poll() is None and not ready() and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    text = log.read_text()
    assert process.returncode == -signal.SIGKILL, f"the job was not killed {what}: {text[-3000:]}"
    return text


def test_a_job_killed_in_augment_features_and_team_resumes_to_the_same_results(
    undisturbed: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """SIGKILL mid-augment, then mid-features (one autoencoder saved, the next training),
    then mid-team (one member saved): the fourth start finishes with the undisturbed
    run's results and retrains nothing that had finished."""
    reference, first = undisturbed
    assert first.returncode == 0, first.stderr[-3000:]
    run_dir = tmp_path / "run"
    command = _main_job(run_dir)
    models = run_dir / "models"

    def saved(name: str) -> bool:
        """The model file itself (`<name>_<fingerprint>`), not its torch record written before it."""
        return any(re.fullmatch(f"{name}_[0-9a-f]{{16}}", path.name) for path in models.glob("*"))

    _killed_when(command, tmp_path / "1.log", lambda: any(run_dir.glob("data/.augmented.incomplete-*")), "in augment")
    assert not (run_dir / "stages" / "augment.json").exists() and not (run_dir / "data" / "augmented").exists()
    second = _killed_when(command, tmp_path / "2.log", lambda: saved("AE200"), "in features")
    assert "taking over the lock" in second and "stage ingest: already done" in second
    assert not (run_dir / "stages" / "features.json").exists()
    third = _killed_when(command, tmp_path / "3.log", lambda: saved("dl_pixels"), "in team")
    assert "autoencoder AE200: reusing" in third
    assert not (run_dir / "stages" / "team.json").exists()
    last = _run(command)
    assert last.returncode == 0, last.stderr[-3000:]
    assert "member dl_pixels: reusing" in last.stderr
    assert [path.name for path in run_dir.rglob(".*incomplete-*")] == []

    metrics = json.loads((run_dir / "metrics.json").read_text())
    expected = json.loads((reference / "metrics.json").read_text())
    reused = {name: a["reused"] for name, a in metrics["features"]["autoencoders"].items()}
    assert reused == {"AE200": True, "AE32": False, "AE768": False, "AE128": False}
    members = {name: m["reused"] for name, m in metrics["team"]["members"].items()}
    assert members == {"dl_pixels": True, "dl_pixels_subset": False, "dl_features": False, "gbm": False}
    for section in ("baseline", "team"):
        # Counts exactly, real numbers to float32 rounding: torch's CPU kernels (MKL) may
        # round differently from one process to the next (CI once saw a baseline log loss
        # of 2.2510508993 against 2.2510509167 with the same confusion matrix).
        assert _same(metrics[section]["test"], expected[section]["test"]), section
    for split in ("valid", "test"):
        got = pd.read_parquet(run_dir / "team" / f"predictions_{split}.parquet")
        want = pd.read_parquet(reference / "team" / f"predictions_{split}.parquet")
        pd.testing.assert_frame_equal(got, want)


def _same(got: object, want: object) -> bool:
    """Equal, floats to a relative 1e-6 (and NaN to NaN); lists and dicts item by item."""
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(_same(got[key], want[key]) for key in got)
    if isinstance(got, list) and isinstance(want, list):
        return len(got) == len(want) and all(_same(a, b) for a, b in zip(got, want, strict=True))
    if isinstance(got, float) or isinstance(want, float):
        return got == pytest.approx(want, rel=1e-6, nan_ok=True)
    return got == want


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
