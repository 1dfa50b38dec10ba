"""The features stage: train the autoencoders in dependency order (reusing finished
ones), take their hidden layers for every split, join them into one feature table.

AE200, AE32 and AE768 read the pixels; AE128 reads AE768's features; the recipe joins
AE200 + AE32 + AE128 into 360 columns. Each autoencoder is keyed by a fingerprint of
its spec, the specs it stacks on and the training data, and saved under
`models/<name>_<fingerprint>`: a rerun reloads what is finished and retrains only what
changed and what depends on it. An autoencoder with a `search` block is the model of its
grid (`<name>_<fingerprint>_g<k>`) with the lowest validation reconstruction MSE.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sparkling_mnist.config.features import AutoencoderSpec, FeaturesSettings
from sparkling_mnist.data.frames import RunFrames
from sparkling_mnist.data.h2o_frames import images_to_h2o
from sparkling_mnist.errors import InputDataError
from sparkling_mnist.evaluate.charts import score_history_chart
from sparkling_mnist.features.augmented import write_augmented_features
from sparkling_mnist.features.autoencoders import (
    AutoencoderInputs,
    autoencoder_request,
    check_autoencoder_parameters,
    deep_features,
    feature_columns,
    log_autoencoder_fit,
    nonconstant_columns,
    score_history,
)
from sparkling_mnist.features.torch_training import autoencoder_data, trainer_history
from sparkling_mnist.network.encoder_chain import PIXELS_INPUT, ChainLink
from sparkling_mnist.rundir import RunDir, committed
from sparkling_mnist.schema import PIXEL_COLUMNS, SPLITS
from sparkling_mnist.search import Trial, check_search_names, each_value, fingerprinted_spec, plan_search, run_search
from sparkling_mnist.torch_trainer import checked_plan
from sparkling_mnist.torch_trainer.fit import TorchRows, TrainerChoice, fit_model, reload_model

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)


def autoencoder_fingerprints(features: FeaturesSettings, data_fingerprint: str) -> dict[str, str]:
    """Fingerprint of each autoencoder: its spec (its search block included), its input's
    fingerprint, the data's.

    Pure; the specs come in dependency order (validated by the config).
    """
    result: dict[str, str] = {}
    for spec in features.ordered():
        upstream = data_fingerprint if spec.input == PIXELS_INPUT else result[spec.input]
        text = json.dumps({"spec": fingerprinted_spec(spec), "input": upstream}, sort_keys=True)
        result[spec.name] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return result


def check_features_parameters(features: FeaturesSettings) -> None:
    """Check every autoencoder's H2O parameters before anything starts.

    Raises:
        H2OParameterError: naming `features.autoencoders[i].params.<name>` (or
            `...search.hyper_params.<name>`).
    """
    names = [spec.name for spec in features.autoencoders]
    for spec in features.ordered():
        index = names.index(spec.name)
        where = f"features.autoencoders[{index}].params"
        check_autoencoder_parameters(dict(spec.params), where)
        if spec.trainer == "torch":
            checked_plan({**spec.params, "hidden": [1]}, autoencoder=True, where=where, seed=0)
        if spec.search is not None:
            own = features.autoencoders[index].params  # profile and defaults may be searched over
            _check_autoencoder_search(spec, own, f"features.autoencoders[{index}].search")


def _check_autoencoder_search(spec: AutoencoderSpec, own_params: dict[str, Any], where: str) -> None:
    """An autoencoder's hyper-parameters: deep learning's, not `hidden`, not set twice,
    and (torch) each value one torch can train.

    Raises:
        H2OParameterError: naming `<where>.hyper_params.<name>`.
        ConfigError: a value torch cannot reproduce.
    """
    assert spec.search is not None
    check_autoencoder_parameters(dict(spec.search.hyper_params), f"{where}.hyper_params")
    check_search_names(spec.search, own_params, where)
    if spec.trainer == "torch":
        for plan in each_value(spec.search, {**spec.params, "hidden": [1]}):
            checked_plan(plan, autoencoder=True, where=f"{where}.hyper_params", seed=0)


def build_features(
    settings: FeaturesSettings,
    frames: RunFrames,
    run: RunDir,
    *,
    seed: int,
    data_fingerprint: str,
    augmented: DataFrame | None = None,
    train_on_augmented: bool = False,
) -> dict[str, Any]:
    """The features stage, top to bottom: train or reload every autoencoder in dependency
    order, write the joined deep-feature table of every split, and the deep features of
    the augmented rows.

    Args:
        settings: the `features` section.
        frames: the run's H2O frames (the pixels of every split are read from it).
        run: the run directory; writes `models/`, `data/features/`, `features/history/`.
        seed: the run seed (torch-trained autoencoders).
        data_fingerprint: fingerprint of the training data (ingest, augmentation).
        augmented: the augmented rows; their deep features go to
            `data/features_augmented` (numpy encoders on the executors, checked
            against H2O's `deepfeatures` on a sample).
        train_on_augmented: the autoencoders train on the augmented rows too.

    Returns:
        The stage summary: per autoencoder its id, hidden size, reuse, final mse;
        the augmented rows' feature count and agreement with H2O.

    Raises:
        InputDataError: missing values in the pixels.
        FeatureAgreementError: the numpy encoders differ from H2O beyond 1e-6.
    """
    pixels = _pixel_inputs(frames, augmented if train_on_augmented else None)
    inputs: dict[str, AutoencoderInputs] = {PIXELS_INPUT: pixels}
    fingerprints = autoencoder_fingerprints(settings, data_fingerprint)
    summary: dict[str, Any] = {}
    models: dict[str, Any] = {}
    extra_rows = train_on_augmented and augmented is not None
    for spec in settings.ordered():
        source = inputs[spec.input]
        hidden = _hidden_size(spec, source)
        model_id = f"{spec.name}_{fingerprints[spec.name]}"
        links = [ChainLink(name, summary[name]["input"], summary[name]["hidden"]) for name in summary]
        train_one: TrainOne = functools.partial(
            _train_or_reuse,
            hidden=hidden,
            source=source,
            run=run,
            links=links,
            models=models,
            seed=seed,
            spark=frames.spark,
            extra_rows=extra_rows,
        )
        search: dict[str, Any] | None = None
        if spec.search is None:
            model, record, reused = train_one(spec, model_id)
        else:  # the best model of its grid, under that model's own id
            model_id, (model, record, reused), search = _search_autoencoder(spec, model_id, train_one, run, seed=seed)
        models[spec.name] = model
        history = trainer_history(record) if record is not None else score_history(model)
        _write_history(run, spec.name, history)
        inputs[spec.name] = _features_of(model, spec.name, hidden, source)
        summary[spec.name] = _autoencoder_summary(
            spec, model_id, source, hidden, reused=reused, history=history, record=record
        )
        if search is not None:
            summary[spec.name]["search"] = search
    used = settings.used()
    for split in SPLITS:
        write_feature_table(frames, run, split, [inputs[name].frames[split] for name in used], settings.passthrough)
    result: dict[str, Any] = {
        "autoencoders": summary,
        "used": used,
        "feature_columns": sum(summary[name]["hidden"] for name in used),
        "passthrough": list(settings.passthrough),
    }
    if augmented is not None:
        links = [ChainLink(spec.name, spec.input, summary[spec.name]["hidden"]) for spec in settings.ordered()]
        result["augmented"] = write_augmented_features(
            run, augmented, links, models, used=used, passthrough=list(settings.passthrough)
        )
    return result


def _pixel_inputs(frames: RunFrames, extra: DataFrame | None) -> AutoencoderInputs:
    """The pixels of every split, checked for missing values, and the rows the pixel
    autoencoders fit on: the train split, plus the augmented rows when given."""
    pixel_frames = {split: frames.pixels(split) for split in SPLITS}
    for split, frame in pixel_frames.items():
        _ensure_no_missing(frame, list(PIXEL_COLUMNS), split)
    fit = pixel_frames["train"]
    if extra is not None:
        rows = images_to_h2o(frames.hc, extra, "features_train_augmented")
        fit = fit.rbind(rows[fit.columns])
    return AutoencoderInputs(list(PIXEL_COLUMNS), {"fit": fit, **pixel_frames})


Trained = tuple[Any, dict[str, Any] | None, bool]
"""An autoencoder's model, its torch trainer's record (None for H2O), whether it was reused."""
TrainOne = Callable[[AutoencoderSpec, str], Trained]
"""Train or reload one autoencoder (spec, model id), everything else bound."""


def _train_or_reuse(
    spec: AutoencoderSpec,
    model_id: str,
    *,
    hidden: int,
    source: AutoencoderInputs,
    run: RunDir,
    links: list[ChainLink],
    models: dict[str, Any],
    seed: int,
    spark: Any,
    extra_rows: bool,
) -> Trained:
    """One autoencoder: reloaded when its file exists, else trained by its trainer (H2O
    or torch) and saved. Returns the model, the torch trainer's record (None for H2O) and
    whether it was reused."""
    assert spec.trainer is not None and spec.torch is not None, "resolved by FeaturesSettings.ordered()"
    trainer = TrainerChoice.of((spec.trainer, spec.torch))
    reloaded = reload_model(model_id, run.models, trainer)
    if reloaded is not None:
        log.info("autoencoder %s: reusing %s", spec.name, run.models / model_id)
        model, fitted = reloaded
        return model, fitted.torch, True
    rows = None
    if trainer.name == "torch":
        rows = TorchRows(*autoencoder_data(run, spec, links, models, extra_rows=extra_rows), spark=spark)
    request = autoencoder_request(
        model_id,
        hidden,
        params=dict(spec.params),
        x=source.columns,
        training_frame=source.frames["fit"],
        validation_frame=source.frames["valid"],
        trainer=trainer,
        where=f"features.{spec.name}",
        seed=seed,
        rows=rows,
    )
    model, fitted = fit_model(request, run.models)
    if fitted.trainer == "h2o":
        log_autoencoder_fit(request, model, fitted)
    return model, fitted.torch, False


def _search_autoencoder(
    spec: AutoencoderSpec, model_id: str, train_one: TrainOne, run: RunDir, *, seed: int
) -> tuple[str, Trained, dict[str, Any]]:
    """An autoencoder's search: every planned model of its grid trained or reloaded
    (`train_one`, as `<model_id>_g<k>`) and ranked by its last validation MSE.

    Returns:
        The best model's id; its model, torch record and whether every grid model was
        reused; the search's record (leaderboard) for metrics.json.
    """
    assert spec.search is not None
    plan = plan_search(spec.search, sort_by="mse", default_seed=seed)
    records: dict[str, dict[str, Any] | None] = {}

    def fit(trial_id: str, combination: dict[str, Any]) -> Trial:
        trial = spec.model_copy(update={"params": {**spec.params, **combination}})
        started = time.monotonic()
        model, record, reused = train_one(trial, trial_id)
        records[trial_id] = record
        history = trainer_history(record) if record is not None else score_history(model)
        seconds = 0.0 if reused else time.monotonic() - started
        return Trial(model, float(history["validation_mse"].iloc[-1]), reused=reused, seconds=seconds)

    outcome = run_search(plan, model_id, fit, models_dir=run.models, label=f"autoencoder {spec.name}")
    # A failed autoencoder raises (as one without a search does): some model finished.
    assert outcome.best is not None
    best_id = str(outcome.best["model_id"])
    return best_id, (outcome.best_model, records[best_id], outcome.all_reused), outcome.record()


def _features_of(model: Any, name: str, hidden: int, source: AutoencoderInputs) -> AutoencoderInputs:
    """The autoencoder's hidden layer over every frame of its input (the next one's input)."""
    features: dict[str, Any] = {}
    for key, frame in source.frames.items():
        if key == "fit" and frame is source.frames["train"]:
            continue  # no extra training rows: the fit frame is the train split
        features[key] = deep_features(model, frame, name, hidden)
    features.setdefault("fit", features["train"])
    return AutoencoderInputs(feature_columns(name, hidden), features)


def _autoencoder_summary(
    spec: AutoencoderSpec,
    model_id: str,
    source: AutoencoderInputs,
    hidden: int,
    *,
    reused: bool,
    history: Any,
    record: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
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


def write_feature_table(
    frames: RunFrames, run: RunDir, split: str, features: list[Any], passthrough: list[str]
) -> None:
    """One split's feature table (id, label, passthrough pixels, the used autoencoders'
    features) as Parquet, with the image schema's column types."""
    from pyspark.sql.functions import col

    started = time.monotonic()
    joined = frames.pixels(split)[["id", "label", *passthrough]]
    for frame in features:
        joined = joined.cbind(frame)
    # Back to the image schema's types: H2O gives the factor label as a string.
    out = (
        frames.hc.asSparkFrame(joined)
        .withColumn("id", col("id").cast("long"))
        .withColumn("label", col("label").cast("int"))
    )
    with committed(run.features_split(split)) as tmp:
        out.write.parquet(str(tmp))
    log.info(
        "features: %s split, %d rows x %d feature columns written in %.1f s",
        split,
        joined.nrows,
        joined.ncols - 2 - len(passthrough),
        time.monotonic() - started,
    )


def feature_names(settings: FeaturesSettings, summary: dict[str, Any]) -> list[str]:
    """The feature table's feature columns, in order, from the stage's summary."""
    return [column for name in settings.used() for column in feature_columns(name, summary[name]["hidden"])]


def _ensure_no_missing(frame: Any, columns: list[str], split: str) -> None:
    missing = sum(int(n) for n in frame[columns].nacnt())
    if missing:
        raise InputDataError(f"{split} split: {missing} missing values in the autoencoder inputs (expected none)")


def _hidden_size(spec: AutoencoderSpec, source: AutoencoderInputs) -> int:
    """An explicit size, or the number of non-constant input columns in the training data."""
    if isinstance(spec.hidden, int):
        return spec.hidden
    count = len(nonconstant_columns(source.frames["fit"], source.columns))
    log.info("autoencoder %s: %d non-constant input columns of %d", spec.name, count, len(source.columns))
    return count


def _write_history(run: RunDir, name: str, history: Any) -> None:
    folder = run.root / "features" / "history"
    with committed(folder / f"{name}.csv") as tmp:
        history.to_csv(tmp, index=False)
    score_history_chart(history, f"{name}: reconstruction MSE per epoch", folder / f"{name}.png")
