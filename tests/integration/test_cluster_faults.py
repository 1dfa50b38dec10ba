"""Faults on a real multi-process cluster (a standalone master and two workers on
127.0.0.1): a worker killed by its pid in the middle of the job.

- During augmentation: Spark reruns the lost tasks on the other worker and the output
  is the same rows, byte for byte, as an undisturbed run.
- During training: H2O has no high availability, so the cloud is gone; the job fails
  with a clear message, and a rerun on a healthy cluster resumes from the last finished
  stage and model (its team member trained by torch on both executors).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sparkling_mnist.runtime.cluster import LocalCluster
from sparkling_mnist.runtime.spark_conf import JAVA17_FLAGS
from tests.conftest import ROOT

pytestmark = pytest.mark.spark


def _submit(cluster: LocalCluster, job: str, sets: list[str]) -> subprocess.Popen[str]:
    import pyspark

    spark_submit = str(Path(pyspark.__file__).parent / "bin" / "spark-submit")
    conf = {**cluster.spark_conf(executor_memory="1500m"), "spark.ui.enabled": "false"}
    conf["spark.driver.extraJavaOptions"] = " ".join(JAVA17_FLAGS)
    conf["spark.task.maxFailures"] = "4"
    command = [spark_submit, *[arg for k, v in conf.items() for arg in ("--conf", f"{k}={v}")], f"jobs/{job}.py"]
    command += ["--config", "conf/local.yaml", *[arg for s in sets for arg in ("--set", s)]]
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(process: subprocess.Popen[str], marker: str, timeout: float = 300) -> str:
    """Read the job's output until `marker` appears; returns what was read."""
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"never saw {marker!r}:\n{''.join(seen)[-3000:]}")


def _augmented(run_dir: Path) -> pd.DataFrame:
    table = pd.read_parquet(run_dir / "data" / "augmented")
    return table.sort_values("id").reset_index(drop=True)


def test_worker_lost_during_augmentation_gives_identical_rows(tmp_path: Path) -> None:
    # 3,250 training digits x 11 effects x 8 copies = 286,000 rows: long enough to lose a worker midway.
    sets = ["augment.copies=8", "augment.partitions=16", "augment.rows_per_batch=256"]
    undisturbed = tmp_path / "undisturbed"
    disturbed = tmp_path / "disturbed"
    with LocalCluster(workers=2, cores=1, memory="2g", root=tmp_path / "cluster") as cluster:
        for job, run_dir in (("ingest", undisturbed), ("augment", undisturbed), ("ingest", disturbed)):
            process = _submit(cluster, job, [f"run.dir={run_dir}", *sets])
            output, _ = process.communicate(timeout=600)
            assert process.returncode == 0, output[-3000:]
    with LocalCluster(workers=2, cores=1, memory="2g", root=tmp_path / "cluster-2") as cluster:
        # Spark's own INFO lines (off by default) tell when the writing tasks are under way.
        process = _submit(cluster, "augment", [f"run.dir={disturbed}", "spark.log_level=INFO", *sets])
        before = _wait_for(process, "copies over 16 tasks")
        before += _wait_for(process, "Finished task 1.0 in stage")  # the writing tasks are under way
        cluster.kill_worker(0)
        rest, _ = process.communicate(timeout=600)
        output = before + rest
        assert process.returncode == 0, output[-3000:]
        assert "augment: 3250 rows in -> 286000 rows out" in output
    assert "Lost executor" in output or "ExecutorLostFailure" in output or "lost worker" in output.lower(), output[
        -3000:
    ]
    pd.testing.assert_frame_equal(_augmented(undisturbed), _augmented(disturbed))


def test_worker_lost_during_training_fails_clearly_and_the_rerun_resumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    sets = [
        f"run.dir={run_dir}",
        "source.limit=1500",
        "augment.enabled=false",
        "baseline.rows.augmented=false",
        "team.rows.augmented=false",
        "baseline.params={hidden: [16], epochs: 1}",
        "baseline.trainer=h2o",
        "features.trainer=h2o",  # the worker dies while H2O trains B: H2O has no high availability
        # A finishes quickly; B trains long enough to lose a worker in the middle of it.
        "features.autoencoders=[{name: A, hidden: 32, params: {epochs: 1}}, "
        "{name: B, hidden: 16, params: {epochs: 40}}]",
        "features.compare=false",
        "team.members=[{name: dl, algorithm: deeplearning, params: {hidden: [8], epochs: 1}}]",
        "team.trainer=torch",  # on the executors: TorchDistributor, one DDP process per worker
        "team.keep=1",
        "ood.enabled=false",  # not what this test is about (test_cluster_store scores it on a cluster)
    ]
    with LocalCluster(workers=2, cores=1, memory="2g", root=tmp_path / "cluster") as cluster:
        process = _submit(cluster, "run", sets)
        before = _wait_for(process, "autoencoder A_", timeout=600)  # A is trained
        deadline = time.monotonic() + 60
        while not list((run_dir / "models").glob("A_*")) and time.monotonic() < deadline:
            time.sleep(0.2)  # ... and saved; B is about to start
        time.sleep(2)
        cluster.kill_worker(0)
        rest, _ = process.communicate(timeout=300)
    output = before + rest
    assert process.returncode != 0
    assert "H2O has no high availability" in output and "rerun the same command" in output, output[-3000:]
    assert "stage features: done" not in output

    with LocalCluster(workers=2, cores=1, memory="2g", root=tmp_path / "cluster-2") as cluster:
        process = _submit(cluster, "run", sets)
        output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-3000:]
    for stage in ("ingest", "baseline"):
        assert f"stage {stage}: already done" in output
    assert "autoencoder A: reusing" in output  # finished before the loss: not retrained
    assert "processes with TorchDistributor (on the executors)" in output
    assert "over 2 process(es)" in output  # both workers trained the member, its H2O copy checked
    assert "stage team: done" in output
