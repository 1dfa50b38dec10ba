"""Scoring speed of a stored run with both engines, and their agreement with the team's
own H2O predictions, on one run's test split.

    sparkling-mnist models save-all --config conf/bench-fashion.yaml --store runs/store
    python benchmarks/scoring.py --config conf/bench-fashion.yaml --store runs/store \\
        --out benchmarks/results/scoring.json

The `spark` engine runs in a session that never starts H2O (numpy encoders + MOJOs);
the `h2o` engine loads the binary models into one. Not run by CI. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sparkling_mnist.config import load_config
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.scoring import ENGINES
from sparkling_mnist.scoring.engines import score_images
from sparkling_mnist.scoring.plan import ScoringPlan
from sparkling_mnist.store import open_store

log = logging.getLogger("benchmarks.scoring")


def measure(args: argparse.Namespace, engine: str) -> dict[str, Any]:
    """Score the run's test split once with `engine` (a warm-up pass first) and compare."""
    cfg = load_config(args.config, [f"store.uri={args.store}"])
    run = RunDir.at(cfg.run.dir)
    store = open_store(cfg.store)
    plan = ScoringPlan.from_manifest(store.manifest(cfg.store_run_id()))
    expected = pd.read_parquet(run.team_predictions("test")).sort_values("id")
    with SparkH2OSession(cfg) as session:
        images = session.spark.read.parquet(str(run.split("test"))).cache()
        rows = images.count()
        hc = session.h2o if engine == "h2o" else None
        started = time.monotonic()
        scored = score_images(plan, store, images, engine=engine, hc=hc).sort_values("id")
        seconds = time.monotonic() - started
    columns = [f"p{c}" for c in plan.classes]
    return {
        "engine": engine,
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds, 1),
        "max_abs_probability_difference": float(
            np.abs(scored[columns].to_numpy() - expected[columns].to_numpy()).max()
        ),
        "labels_identical": bool((scored["predict"].to_numpy() == expected["predict"].to_numpy()).all()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="conf/bench-fashion.yaml")
    parser.add_argument("--store", required=True)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    results = [measure(args, engine) for engine in ENGINES]
    text = json.dumps({"results": results}, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
