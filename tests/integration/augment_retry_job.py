"""A Spark job for the retry test: augment a Parquet split while the first attempt of
task 0 fails midway, in local mode with retries allowed (`local[2,2]`).

Run as its own process (the shared test session allows no task retries):

    python tests/integration/augment_retry_job.py SOURCE_PARQUET OUTPUT_DIR MARKER_DIR

The failure comes from a pass-through ``mapInArrow`` after the augmentation: attempt 0
of partition 0 hands two output batches on to the Parquet writer, then raises, so the
failed attempt has already written part of its file; Spark must discard it and the
retry must write the same rows. Each attempt leaves a marker file in MARKER_DIR.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

from sparkling_mnist.augment.ids import AugmentPlan
from sparkling_mnist.augment.stage import ARROW_BATCH_CONF, augment_images
from sparkling_mnist.config import validate_config
from sparkling_mnist.runtime.session import SparkH2OSession

PLAN = AugmentPlan(effects=("rotate", "all"), copies=2, run_seed=7)
BATCHES_BEFORE_FAILURE = 2


def fail_first_attempt(marker_dir: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A pass-through batch function whose first attempt of partition 0 fails midway."""

    def passthrough(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        context = TaskContext.get()
        partition, attempt = context.partitionId(), context.attemptNumber()
        for count, batch in enumerate(batches, start=1):
            yield batch
            if partition == 0 and attempt == 0 and count == BATCHES_BEFORE_FAILURE:
                (Path(marker_dir) / f"failed-p{partition}-a{attempt}").touch()
                raise RuntimeError("injected failure of the first attempt")
        (Path(marker_dir) / f"done-p{partition}-a{attempt}").touch()

    return passthrough


def main() -> int:
    """Run the flaky augment job; exit 0 when Spark retried it to completion."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source")
    parser.add_argument("output")
    parser.add_argument("markers")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    cfg = validate_config(
        {
            "spark": {
                "master": "local[2,2]",  # two threads, each task may fail once
                "conf": {"spark.ui.enabled": False, "spark.driver.memory": "1g"},
            }
        }
    )
    with SparkH2OSession(cfg) as session:
        spark = session.spark
        spark.conf.set(ARROW_BATCH_CONF, "4")  # several batches per task, so the failure is midway
        augmented = augment_images(spark.read.parquet(args.source), PLAN)
        flaky = augmented.mapInArrow(fail_first_attempt(args.markers), augmented.schema)
        flaky.write.parquet(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
