"""Scaling: the same job on a local Spark standalone cluster of 1, 2, ... workers (one
H2O node each), wall time per stage and speed-up against one worker.

    python benchmarks/scaling.py --workers 1 2 --out benchmarks/results/scaling.json
    python benchmarks/scaling.py --config conf/bench-fashion.yaml --no-small \
        --set source.limit=20000 --executor-memory 5g --out benchmarks/results/scaling-fashion.json

Each worker gets `--cores` cores; on a 2-core machine use 1 core per worker. Not run by
CI. Writes JSON and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sparkling_mnist.runtime.cluster import LocalCluster
from sparkling_mnist.runtime.spark_conf import JAVA17_FLAGS

log = logging.getLogger("benchmarks.scaling")
ROOT = Path(__file__).resolve().parents[1]
SETTINGS = [
    "source.limit=3000",
    "augment.copies=2",
    "baseline.params={hidden: [200, 200], epochs: 3, activation: RectifierWithDropout}",
    "features.defaults={epochs: 1}",
    "features.compare=false",
    "team.members=[{name: dl, algorithm: deeplearning, params: {hidden: [200], epochs: 5}}, "
    "{name: drf, algorithm: drf, params: {ntrees: 30}}, {name: gbm, algorithm: gbm, params: {ntrees: 20}}]",
    "team.keep=3",
]


def run_on(workers: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The job on a fresh cluster of `workers` workers; seconds per stage and in all."""
    import pyspark

    cores = args.cores
    run_dir = folder / f"run-{workers}"
    settings = (SETTINGS if args.small else []) + args.set
    worker_memory = args.executor_memory.removesuffix("g")
    with LocalCluster(
        workers=workers, cores=cores, memory=f"{int(worker_memory) + 1}g", root=folder / f"cluster-{workers}"
    ) as cluster:
        conf = {**cluster.spark_conf(executor_memory=args.executor_memory), "spark.ui.enabled": "false"}
        conf["spark.driver.extraJavaOptions"] = " ".join(JAVA17_FLAGS)
        command = [str(Path(pyspark.__file__).parent / "bin" / "spark-submit")]
        command += [arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")]
        command += ["jobs/run.py", "--config", args.config, "--set", f"run.dir={run_dir}"]
        command += [arg for setting in settings for arg in ("--set", setting)]
        started = time.monotonic()
        env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"{workers} worker(s): the job failed:\n{(result.stdout + result.stderr)[-3000:]}")
    stages = {
        path.stem: json.loads(path.read_text())["seconds"] for path in sorted((run_dir / "stages").glob("*.json"))
    }
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {
        "workers": workers,
        "cores_per_worker": cores,
        "seconds": round(seconds, 1),
        "stages": stages,
        "team_test_error": metrics["team"]["test"]["team"]["error"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cores", type=int, default=1)
    parser.add_argument("--config", default="conf/local.yaml", help="the job's config (default conf/local.yaml)")
    parser.add_argument(
        "--no-small",
        dest="small",
        action="store_false",
        help="run the config as it is, without the built-in settings that shrink conf/local.yaml",
    )
    parser.add_argument("--set", action="append", default=[], help="extra config override, KEY=VALUE (repeatable)")
    parser.add_argument("--executor-memory", default="3g", help="memory of each executor, whole GiB (default 3g)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="sparkling-mnist-scaling-") as folder:
        results = [run_on(n, args, Path(folder)) for n in args.workers]
    base = results[0]
    lines = ["| stage | " + " | ".join(f"{r['workers']} worker(s) s" for r in results) + " |"]
    lines.append("| --- |" + " ---: |" * len(results))
    for stage in base["stages"]:
        lines.append(f"| {stage} | " + " | ".join(str(r["stages"].get(stage, "")) for r in results) + " |")
    lines.append("| whole job | " + " | ".join(str(r["seconds"]) for r in results) + " |")
    lines.append("| speed-up | " + " | ".join(f"{base['seconds'] / r['seconds']:.2f}" for r in results) + " |")
    text = json.dumps({"results": results}, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
