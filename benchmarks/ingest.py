"""Ingest throughput: Fashion-MNIST (70 K images, IDX gz) -> validated Parquet, and
Spark -> H2O conversion of the training split.

    apt-get install dataset-fashion-mnist      # 60 K + 10 K images under /usr/share/datasets
    python benchmarks/ingest.py --out benchmarks/results/ingest.json

Not run by CI. Prints one JSON document with rows/s for each step.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sparkling_mnist.config import validate_config
from sparkling_mnist.data.assemble import assemble
from sparkling_mnist.data.h2o_frames import images_to_h2o
from sparkling_mnist.data.ingest import read_split, run_ingest
from sparkling_mnist.data.sources import read_source, source_has_test_part
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession

log = logging.getLogger("benchmarks.ingest")


def measure(run_dir: Path, master: str, limit: int | None) -> dict[str, Any]:
    """Time each step of ingest and the Spark-to-H2O conversion; return rows/s figures."""
    source: dict[str, Any] = {"format": "fashion-mnist"}
    if limit:
        source["limit"] = limit
    cfg = validate_config(
        {
            "run": {"dir": str(run_dir)},
            "spark": {"master": master, "conf": {"spark.ui.enabled": False, "spark.driver.memory": "6g"}},
            "source": source,
        }
    )
    result: dict[str, Any] = {"master": master}

    started = time.monotonic()
    images = assemble(read_source(cfg.source), 1 / 6, 0.0, cfg.run.seed, source_has_test_part(cfg.source))
    seconds = time.monotonic() - started
    result["read_validate"] = {
        "rows": images.counts.read,
        "seconds": round(seconds, 2),
        "rows_per_s": round(images.counts.read / seconds),
    }

    with SparkH2OSession(cfg) as session:
        spark = session.spark
        run = RunDir.at(cfg.run.dir)
        started = time.monotonic()
        counts = run_ingest(cfg.source, cfg.split, cfg.ingest, spark, run, seed=cfg.run.seed)
        seconds = time.monotonic() - started
        result["ingest_to_parquet"] = {
            "rows": counts.read,
            "seconds": round(seconds, 2),
            "rows_per_s": round(counts.read / seconds),
        }

        hc = session.h2o
        train = read_split(spark, run, "train").cache()
        rows = train.count()
        for attempt in ("first", "second"):
            started = time.monotonic()
            frame = images_to_h2o(hc, train, f"bench_train_{attempt}")
            seconds = time.monotonic() - started
            result[f"spark_to_h2o_{attempt}"] = {
                "rows": rows,
                "columns": frame.ncols,
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds),
                "cells_per_s": round(rows * frame.ncols / seconds),
            }
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--limit", type=int, default=None, help="rows per part (default: all 60 K + 10 K)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        figures = measure(Path(tmp) / "run", args.master, args.limit)
    text = json.dumps(figures, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
