"""The main job with H2O's login on and the models stored to S3, run as its own process
by test_security.py: checks the REST endpoints refuse calls without the password, then
runs every stage. Prints one `RESULT {json}` line.

    python tests/integration/secure_job.py CONFIG_JSON
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.request

from sparkling_mnist.config import validate_config
from sparkling_mnist.pipeline.runner import StageRunner
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession, h2o_password


def status(url: str, credentials: str | None) -> int:
    request = urllib.request.Request(url)
    if credentials is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def main() -> None:
    cfg = validate_config(json.loads(sys.argv[1]))
    user, password = cfg.h2o.security.user, h2o_password(cfg)
    with SparkH2OSession(cfg) as session:
        _ = session.h2o
        import h2o

        endpoints = [h2o.connection().base_url] + [f"http://{node['ip_port']}" for node in h2o.cluster().nodes]
        checks = {
            url: {
                "anonymous": status(f"{url}/3/Cloud", None),
                "wrong": status(f"{url}/3/Cloud", f"{user}:not-the-password"),
                "right": status(f"{url}/3/Cloud", f"{user}:{password}"),
            }
            for url in endpoints
        }
        StageRunner(cfg, session, RunDir.at(cfg.run.dir)).all()
    print("RESULT " + json.dumps({"checks": checks}), flush=True)


if __name__ == "__main__":
    main()
