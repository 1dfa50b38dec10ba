"""Shared fixtures. JVM tests share one Spark+H2O session for the whole test run:
H2O cannot restart inside a JVM, and every start costs seconds."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkling_mnist.config import JobConfig, validate_config
from sparkling_mnist.runtime.session import SparkH2OSession

ROOT = Path(__file__).resolve().parents[1]

# Tiny and fast: 2 cores, no UI, few shuffle partitions, no task retries (a failure
# shows at once), H2O logs quiet.
TEST_SPARK = {
    "master": "local[2]",
    "conf": {
        "spark.ui.enabled": False,
        "spark.sql.shuffle.partitions": 2,
        "spark.default.parallelism": 2,
        "spark.task.maxFailures": 1,
        "spark.driver.memory": "3g",
        "spark.ext.h2o.cloud.name": f"sparkling-mnist-tests-{os.getpid()}",
    },
}
# Two test runs on one machine race for H2O's ports: give the second its own base port.
if os.environ.get("SPARKLING_MNIST_TEST_H2O_BASE_PORT"):
    TEST_SPARK["conf"]["spark.ext.h2o.base.port"] = int(os.environ["SPARKLING_MNIST_TEST_H2O_BASE_PORT"])  # type: ignore[index]


def make_config(run_dir: Path, **sections: Any) -> JobConfig:
    """A validated config for tests: the test Spark settings plus the given sections."""
    raw: dict[str, Any] = {"run": {"dir": str(run_dir), "seed": 7}, "spark": TEST_SPARK, "h2o": {"log_level": "ERRR"}}
    raw.update(sections)
    return validate_config(raw)


@pytest.fixture(scope="session")
def jvm_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkH2OSession]:
    """One SparkH2OSession for all JVM tests; H2O starts on first use of `.h2o`."""
    cfg = make_config(tmp_path_factory.mktemp("session-run"))
    session = SparkH2OSession(cfg)
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs, unmounted afterwards."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True, text=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)  # the JVM may still hold a file there
