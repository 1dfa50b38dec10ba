"""Scoring at scale without H2O: the PipelineModel engine (`score --engine spark`, written
by the executors) against the previous engine (each member's predictions collected to
the driver), at two input sizes, with the driver's peak memory.

    sparkling-mnist run --config local                     # the run to score with
    sparkling-mnist models save-all --config local --store runs/store
    python benchmarks/scoring_scale.py --config local --store runs/store \\
        --rows 10000,200000 --out benchmarks/results/scoring-scale.json

The input is the run's own images (the three splits and the augmented rows), repeated
with fresh ids up to the largest size, written once as Parquet. Every (engine, size) runs
in its own process, so each peak memory (VmHWM of the Python driver and of its JVM) is
that run's alone. Not run by CI. Prints JSON.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sparkling_mnist.config import load_config
from sparkling_mnist.network.encoder_chain import ChainLink, feature_batch, feature_schema
from sparkling_mnist.network.spec import NetworkSpec
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.schema import PIXEL_COLUMNS
from sparkling_mnist.scoring.engines import write_spark_predictions
from sparkling_mnist.scoring.plan import ScoringPlan, combine
from sparkling_mnist.store import open_store
from sparkling_mnist.store.model_store import ModelStore
from sparkling_mnist.team.cube import align_to

log = logging.getLogger("benchmarks.scoring_scale")

ENGINES = ("pipeline", "collecting")


def score_collecting(plan: ScoringPlan, store: ModelStore, images: Any, out: Path) -> int:
    """The previous `--engine spark` (kept here to compare): numpy encoders on the
    executors, then every member's MOJO predictions collected to the driver with
    `toPandas`, combined there and written by pandas."""
    from pyspark.sql.functions import col
    from pyspark.sql.pandas.types import from_arrow_schema
    from pysparkling.ml import H2OMOJOModel

    manifest = store.manifest(plan.run_id)
    with tempfile.TemporaryDirectory(prefix="bench-score-") as folder:
        specs = {
            ae.name: NetworkSpec.load(store.artifact(manifest, ae.model_id, "network", Path(folder)))
            for ae in plan.autoencoders
        }
        with_pixels = any(member.input == "pixels" for member in plan.members)
        links = [ChainLink(ae.name, ae.input, ae.hidden) for ae in plan.autoencoders]
        kept = list(PIXEL_COLUMNS) if with_pixels else list(plan.passthrough)
        schema = feature_schema(links, plan.features, kept)

        def encode_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                yield feature_batch(batch, links, specs, plan.features, kept)

        table = images.select("id", "label", "pixels").mapInArrow(encode_partition, from_arrow_schema(schema)).cache()
        probabilities: dict[str, np.ndarray] = {}
        ids = labels = np.empty(0)
        for member in plan.members:
            mojo = H2OMOJOModel.createFromMojo(
                "file://" + str(store.artifact(manifest, member.model_id, "mojo", Path(folder)))
            )
            scored = mojo.transform(table).select(
                "id",
                "label",
                *[col("detailed_prediction.probabilities").getItem(str(c)).alias(f"p{c}") for c in plan.classes],
            )
            frame = scored.toPandas()
            if not ids.size:
                ids, labels = frame["id"].to_numpy(np.int64), frame["label"].to_numpy(np.int64)
            order = align_to(ids, frame["id"].to_numpy(np.int64))
            probabilities[member.name] = frame[[f"p{c}" for c in plan.classes]].to_numpy(np.float64)[order]
        table.unpersist()
    result = combine(plan, ids, labels, probabilities)
    result.to_parquet(out, index=False)
    return len(result)


def _peak_kib(pid: int) -> int:
    """VmHWM (peak resident memory) of a process, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _jvm_pid() -> int | None:
    """The driver JVM this Python process started (a child running java)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"java" in command:
            return int(entry.name)
    return None


def worker(config: str, store_uri: str, engine: str, *, rows: int, source: Path, out: Path) -> dict[str, Any]:
    """One engine on the first `rows` rows of `source`, in this process."""
    cfg = load_config(config, [f"store.uri={store_uri}"])
    store = open_store(cfg.store)
    plan = ScoringPlan.from_manifest(store.manifest(cfg.store_run_id()))
    with SparkH2OSession(cfg) as session:
        images = session.spark.read.parquet(str(source)).limit(rows)
        started = time.monotonic()
        if engine == "pipeline":
            written = write_spark_predictions(plan, store, images, out).rows
        else:
            written = score_collecting(plan, store, images, out)
        seconds = time.monotonic() - started
        jvm = _jvm_pid()
        jvm_peak = _peak_kib(jvm) if jvm else 0
    return {
        "engine": engine,
        "rows": written,
        "seconds": round(seconds, 1),
        "rows_per_s": round(written / seconds, 1),
        "driver_python_peak_mib": round(_peak_kib(os.getpid()) / 1024),
        "driver_jvm_peak_mib": round(jvm_peak / 1024),
    }


def make_input(config: str, target: int, folder: Path) -> Path:
    """The run's images (every split and the augmented rows) repeated with fresh ids up
    to `target` rows, as Parquet."""
    from pyspark.sql.functions import col, monotonically_increasing_id

    cfg = load_config(config)
    run = RunDir.at(cfg.run.dir)
    path = folder / "images"
    with SparkH2OSession(cfg) as session:
        spark = session.spark
        base = spark.read.parquet(str(run.images)).select("id", "label", "pixels")
        if run.augmented.is_dir():
            base = base.unionByName(spark.read.parquet(str(run.augmented)).select("id", "label", "pixels"))
        copies = -(-target // base.count())
        total = base
        for _ in range(copies - 1):
            total = total.unionByName(base)
        # Fresh, unique ids (the copies repeat the originals' and the augmented rows' ids).
        total = total.select(monotonically_increasing_id().alias("id"), col("label"), col("pixels"))
        total.limit(target).write.mode("overwrite").parquet(str(path))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="local")
    parser.add_argument("--store", required=True)
    parser.add_argument("--rows", default="10000,200000", help="comma-separated input sizes")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", nargs=4, metavar=("ENGINE", "ROWS", "SOURCE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.worker:
        engine, rows, source, out = args.worker
        result = worker(args.config, args.store, engine, rows=int(rows), source=Path(source), out=Path(out))
        print("RESULT " + json.dumps(result), flush=True)
        return
    sizes = [int(size) for size in args.rows.split(",")]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
        source = make_input(args.config, max(sizes), Path(folder))
        for size in sizes:
            for engine in args.engines.split(","):
                out = Path(folder) / f"{engine}-{size}.parquet"
                command = [sys.executable, __file__, "--config", args.config, "--store", args.store]
                command += ["--worker", engine, str(size), str(source), str(out)]
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
                if done.returncode or not lines:
                    raise SystemExit(f"{engine} at {size} rows failed:\n{done.stderr[-3000:]}")
                results.append(json.loads(lines[-1].removeprefix("RESULT ")))
                log.info("%s", results[-1])
    report = {
        "command": " ".join(["python", "benchmarks/scoring_scale.py", *sys.argv[1:]]),
        "machine": f"{os.cpu_count()} cores",
        "results": results,
    }
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
