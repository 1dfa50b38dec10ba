"""The features stage: train the autoencoders in dependency order (reusing finished
ones), take their hidden layers for every split, join them into one feature table.

AE200, AE32 and AE768 read the pixels; AE128 reads AE768's features; the recipe joins
AE200 + AE32 + AE128 into 360 columns. Each autoencoder is keyed by a fingerprint of
its spec, the specs it stacks on and the training data, and saved under
`models/<name>_<fingerprint>`: a rerun reloads what is finished and retrains only what
changed and what depends on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sparkling_mnist.autoencoders import (
    HISTORY_COLUMNS,
    check_autoencoder_parameters,
    deep_features,
    feature_columns,
    load_model,
    nonconstant_columns,
    save_model,
    score_history,
    train_autoencoder,
)
from sparkling_mnist.charts import score_history_chart
from sparkling_mnist.config import AutoencoderSpec, FeaturesSettings, JobConfig
from sparkling_mnist.encoder_chain import PIXELS_INPUT, ChainLink, encode_pixels, feature_batch, feature_schema
from sparkling_mnist.errors import FeatureAgreementError, InputDataError
from sparkling_mnist.export.h2o_network import read_network
from sparkling_mnist.h2o_frames import images_to_h2o
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.schema import PIXEL_COLUMNS, SPLITS, pixels_from_arrow
from sparkling_mnist.torch_trainer import (
    H2OTarget,
    ParquetPart,
    TrainingData,
    checked_plan,
    read_record,
    train_with_torch,
    write_record,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

AGREEMENT_TOLERANCE = 1e-6
"""Largest difference allowed between the numpy encoders and H2O's `deepfeatures`."""
AGREEMENT_ROWS = 200
"""Augmented rows (the lowest ids) on which the numpy encoders are checked against H2O."""


def autoencoder_fingerprints(features: FeaturesSettings, data_fingerprint: str) -> dict[str, str]:
    """Fingerprint of each autoencoder: its spec, its input's fingerprint, the data's.

    Pure; the specs come in dependency order (validated by the config).
    """
    result: dict[str, str] = {}
    for spec in features.ordered():
        upstream = data_fingerprint if spec.input == PIXELS_INPUT else result[spec.input]
        text = json.dumps({"spec": spec.model_dump(mode="json"), "input": upstream}, sort_keys=True)
        result[spec.name] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return result


def check_features_parameters(features: FeaturesSettings) -> None:
    """Check every autoencoder's H2O parameters before anything starts.

    Raises:
        H2OParameterError: naming `features.autoencoders[i].params.<name>`.
    """
    names = [spec.name for spec in features.autoencoders]
    for spec in features.ordered():
        where = f"features.autoencoders[{names.index(spec.name)}].params"
        check_autoencoder_parameters(dict(spec.params), where)
        if spec.trainer == "torch":
            checked_plan({**spec.params, "hidden": [1]}, autoencoder=True, where=where, seed=0)


@dataclass
class _Inputs:
    """H2O frames of each split for one autoencoder input (pixels or an AE's features)."""

    columns: list[str]
    frames: dict[str, Any]


def _ensure_no_missing(frame: Any, columns: list[str], split: str) -> None:
    missing = sum(int(n) for n in frame[columns].nacnt())
    if missing:
        raise InputDataError(f"{split} split: {missing} missing values in the autoencoder inputs (expected none)")


def build_features(
    cfg: JobConfig,
    hc: Any,
    run: RunDir,
    *,
    data_fingerprint: str,
    pixel_frames: dict[str, Any],
    train_extra: DataFrame | None = None,
    augmented: DataFrame | None = None,
    spark: SparkSession | None = None,
) -> dict[str, Any]:
    """Train or reload every autoencoder, write the joined deep features per split.

    Args:
        cfg: the job config (its `features` section).
        hc: the H2OContext.
        run: the run directory; reads `data/images`, writes `models/`, `data/features/`,
            `features/history/`.
        data_fingerprint: fingerprint of the training data (ingest, augmentation).
        pixel_frames: the pixel H2OFrame of each split (shared with other stages).
        train_extra: extra training rows for the autoencoders (augmented images).
        augmented: the augmented rows whose deep features are written to
            `data/features_augmented` (numpy encoders on the executors, checked
            against H2O's `deepfeatures` on a sample).
        spark: the session, for torch training on the executors (`trainer: torch`
            on a cluster); without it torch trains in the driver.

    Returns:
        The stage summary: per autoencoder its id, hidden size, reuse, final mse;
        the augmented rows' feature count and agreement with H2O.

    Raises:
        FeatureAgreementError: the numpy encoders differ from H2O beyond 1e-6.
    """
    from pyspark.sql.functions import col

    settings = cfg.features
    fingerprints = autoencoder_fingerprints(settings, data_fingerprint)
    for split, frame in pixel_frames.items():
        _ensure_no_missing(frame, list(PIXEL_COLUMNS), split)
    train_pixels = pixel_frames["train"]
    if train_extra is not None:
        extra = images_to_h2o(hc, train_extra, "features_train_augmented")
        train_pixels = train_pixels.rbind(extra[train_pixels.columns])
    inputs: dict[str, _Inputs] = {
        PIXELS_INPUT: _Inputs(list(PIXEL_COLUMNS), {"fit": train_pixels, **pixel_frames}),
    }
    summary: dict[str, Any] = {}
    models: dict[str, Any] = {}
    for spec in settings.ordered():
        source = inputs[spec.input]
        hidden = _hidden_size(spec, source)
        model_id = f"{spec.name}_{fingerprints[spec.name]}"
        path = run.models / model_id
        reused = path.is_file()
        record: dict[str, Any] | None = None
        if reused:
            model = load_model(path)
            record = read_record(run.models, model_id)
            log.info("autoencoder %s: reusing %s", spec.name, path)
        elif spec.trainer == "torch":
            links = [ChainLink(name, summary[name]["input"], summary[name]["hidden"]) for name in summary]
            model, record = train_autoencoder_with_torch(
                spec,
                hidden,
                model_id=model_id,
                source=source,
                data=autoencoder_data(run, spec, links, models, extra_rows=train_extra is not None),
                spark=spark,
                seed=cfg.run.seed,
            )
            save_model(model, run.models)
            write_record(run.models, model_id, record)
        else:
            model = train_autoencoder(
                model_id,
                hidden,
                params=dict(spec.params),
                x=source.columns,
                training_frame=source.frames["fit"],
                validation_frame=source.frames["valid"],
            )
            save_model(model, run.models)
        models[spec.name] = model
        history = trainer_history(record) if record is not None else score_history(model)
        _write_history(run, spec.name, history)
        features: dict[str, Any] = {}
        for key, frame in source.frames.items():
            if key == "fit" and frame is source.frames["train"]:
                continue  # no extra training rows: the fit frame is the train split
            features[key] = deep_features(model, frame, spec.name, hidden)
        features.setdefault("fit", features["train"])
        inputs[spec.name] = _Inputs(feature_columns(spec.name, hidden), features)
        summary[spec.name] = {
            "model_id": model_id,
            "input": spec.input,
            "inputs": len(source.columns),
            "hidden": hidden,
            "reused": reused,
            "training_mse": float(history["training_mse"].iloc[-1]),
            "validation_mse": float(history["validation_mse"].iloc[-1]),
            "epochs": float(history["epochs"].iloc[-1]),
            "trainer": "torch" if record is not None else "h2o",
            **({"torch": {key: value for key, value in record.items() if key != "history"}} if record else {}),
        }

    used = settings.used()
    for split in SPLITS:
        started = time.monotonic()
        base = pixel_frames[split][["id", "label", *settings.passthrough]]
        joined = base.cbind(inputs[used[0]].frames[split])
        for name in used[1:]:
            joined = joined.cbind(inputs[name].frames[split])
        # Back to the image schema's types: H2O gives the factor label as a string.
        out = (
            hc.asSparkFrame(joined)
            .withColumn("id", col("id").cast("long"))
            .withColumn("label", col("label").cast("int"))
        )
        out.write.mode("overwrite").parquet(str(run.features_split(split)))
        log.info(
            "features: %s split, %d rows x %d feature columns written in %.1f s",
            split,
            joined.nrows,
            joined.ncols - 2 - len(settings.passthrough),
            time.monotonic() - started,
        )
    columns = sum(summary[name]["hidden"] for name in used)
    result: dict[str, Any] = {
        "autoencoders": summary,
        "used": used,
        "feature_columns": columns,
        "passthrough": list(settings.passthrough),
    }
    if augmented is not None:
        links = [ChainLink(spec.name, spec.input, summary[spec.name]["hidden"]) for spec in settings.ordered()]
        result["augmented"] = write_augmented_features(
            run, augmented, links, models, used=used, passthrough=list(settings.passthrough)
        )
    return result


def write_augmented_features(
    run: RunDir,
    augmented: DataFrame,
    links: list[ChainLink],
    models: dict[str, Any],
    *,
    used: list[str],
    passthrough: list[str],
) -> dict[str, Any]:
    """The deep features of every augmented row, computed by the numpy encoders inside
    the executors (`mapInArrow`), written to `data/features_augmented` with the feature
    table's column types; then checked against H2O's `deepfeatures` on a sample.

    Returns:
        rows, seconds, rows/s and the agreement check (rows, largest difference per
        autoencoder).

    Raises:
        FeatureAgreementError: naming the autoencoder whose numpy features differ from
            H2O's by more than `AGREEMENT_TOLERANCE`.
    """
    from pyspark.sql.functions import col
    from pyspark.sql.pandas.types import from_arrow_schema

    started = time.monotonic()
    specs = {link.name: read_network(models[link.name]) for link in links}
    schema = feature_schema(links, used, passthrough)

    def encode_partition(batches: Any) -> Any:
        for batch in batches:
            yield feature_batch(batch, links, specs, used, passthrough)

    spark = augmented.sparkSession
    table_schema = spark.read.parquet(str(run.features_split("train"))).schema
    encoded = augmented.select("id", "label", "pixels").mapInArrow(encode_partition, from_arrow_schema(schema))
    encoded = encoded.select([col(field.name).cast(field.dataType) for field in table_schema.fields])
    encoded.write.mode("overwrite").parquet(str(run.features_augmented))
    seconds = time.monotonic() - started
    rows = spark.read.parquet(str(run.features_augmented)).count()
    log.info("features: %d augmented rows encoded by numpy on the executors in %.1f s", rows, seconds)
    check = check_against_h2o(run, augmented, links, specs=specs, models=models, used=used)
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds, 1) if seconds else None,
        "agreement": check,
    }


def check_against_h2o(
    run: RunDir,
    augmented: DataFrame,
    links: list[ChainLink],
    *,
    specs: dict[str, Any],
    models: dict[str, Any],
    used: list[str],
) -> dict[str, Any]:
    """H2O's `deepfeatures` of the first `AGREEMENT_ROWS` augmented rows against the
    numpy encoders (every autoencoder) and against what was written (the used ones).

    Raises:
        FeatureAgreementError: a difference above `AGREEMENT_TOLERANCE`, naming where.
    """
    import h2o

    sample = augmented.select("id", "pixels").orderBy("id").limit(AGREEMENT_ROWS).toPandas()
    ids = sample["id"].to_numpy(np.int64)
    pixels = pixels_from_arrow(pa.array(sample["pixels"].tolist(), pa.binary()))
    expected = encode_pixels(links, specs, pixels)
    frames: dict[str, Any] = {
        PIXELS_INPUT: h2o.H2OFrame(pd.DataFrame(pixels.astype(np.int64), columns=list(PIXEL_COLUMNS)))
    }
    written = pd.read_parquet(run.features_augmented, filters=[("id", "in", ids.tolist())]).set_index("id").loc[ids]
    differences: dict[str, float] = {}
    for link in links:
        frames[link.name] = deep_features(models[link.name], frames[link.input], link.name, link.hidden)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # h2o: single-threaded conversion of a small frame
            theirs = frames[link.name].as_data_frame(use_multi_thread=False).to_numpy(np.float64)
        differences[link.name] = float(np.max(np.abs(theirs - expected[link.name].to_numpy())))
        if link.name in used:
            stored = written[link.columns()].to_numpy(np.float64)
            differences[f"{link.name} (written)"] = float(np.max(np.abs(theirs - stored)))
    h2o.remove(list(frames.values()))
    worst = max(differences, key=lambda name: differences[name])
    log.info(
        "features: numpy encoders vs H2O deepfeatures on %d rows, largest difference %.2e (%s)",
        len(ids),
        differences[worst],
        worst,
    )
    if differences[worst] > AGREEMENT_TOLERANCE:
        raise FeatureAgreementError(
            f"autoencoder {worst}: numpy deep features differ from H2O's deepfeatures by {differences[worst]:.3e} "
            f"on {len(ids)} augmented rows (tolerance {AGREEMENT_TOLERANCE:g})"
        )
    return {"rows": len(ids), "tolerance": AGREEMENT_TOLERANCE, "max_abs_difference": differences}


def autoencoder_data(
    run: RunDir, spec: AutoencoderSpec, links: list[ChainLink], models: dict[str, Any], *, extra_rows: bool
) -> tuple[TrainingData, TrainingData]:
    """The torch trainer's rows of one autoencoder: the train split's pixels (plus the
    augmented rows when the autoencoders train on them), through the finished encoders
    it stacks on; the validation split likewise."""
    chain: list[ChainLink] = []
    name = spec.input
    while name != PIXELS_INPUT:
        link = next(link for link in links if link.name == name)
        chain.insert(0, link)
        name = link.input
    specs = {link.name: read_network(models[link.name]) for link in chain}
    parts = [ParquetPart(str(run.split("train")))]
    if extra_rows:
        parts.append(ParquetPart(str(run.augmented)))

    def data(parts: list[ParquetPart]) -> TrainingData:
        return TrainingData(parts=tuple(parts), chain=tuple(chain), specs=specs, input=spec.input)

    return data(parts), data([ParquetPart(str(run.split("valid")))])


def train_autoencoder_with_torch(
    spec: AutoencoderSpec,
    hidden: int,
    *,
    model_id: str,
    source: _Inputs,
    data: tuple[TrainingData, TrainingData],
    spark: SparkSession | None,
    seed: int,
) -> tuple[Any, dict[str, Any]]:
    """Train an autoencoder's weights with torch, then build the H2O model from them.

    Returns:
        the H2O model and the trainer's record (history, speed, agreement check).
    """
    assert spec.torch is not None  # resolved by FeaturesSettings.ordered()
    params = {**spec.params, "hidden": [hidden]}
    target = H2OTarget(model_id, params, source.columns, None, source.frames["fit"], source.frames["valid"])
    return train_with_torch(
        model_id,
        params,
        spec.torch,
        data,
        target,
        autoencoder=True,
        where=f"features.{spec.name}",
        spark=spark,
        seed=seed,
    )


def trainer_history(record: dict[str, Any]) -> pd.DataFrame:
    """A torch-trained autoencoder's per-epoch history in the columns of `score_history`."""
    history = pd.DataFrame(record["history"])
    for column in HISTORY_COLUMNS:
        if column not in history:
            history[column] = float("nan")
    return history[list(HISTORY_COLUMNS)]


def _hidden_size(spec: AutoencoderSpec, source: _Inputs) -> int:
    """An explicit size, or the number of non-constant input columns in the training data."""
    if isinstance(spec.hidden, int):
        return spec.hidden
    count = len(nonconstant_columns(source.frames["fit"], source.columns))
    log.info("autoencoder %s: %d non-constant input columns of %d", spec.name, count, len(source.columns))
    return count


def _write_history(run: RunDir, name: str, history: Any) -> None:
    folder = run.root / "features" / "history"
    folder.mkdir(parents=True, exist_ok=True)
    history.to_csv(folder / f"{name}.csv", index=False)
    score_history_chart(history, f"{name}: reconstruction MSE per epoch", folder / f"{name}.png")
