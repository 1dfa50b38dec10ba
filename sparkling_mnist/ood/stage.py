"""The `ood` stage: train the isolation forest on the train split's deep features, set
every detector's threshold from the training rows' scores, judge the detectors on the
mixed set (test digits + Fashion-MNIST items), and record metrics, plot and table.

Detectors: the isolation forest (H2O) and the reconstruction error of every pixel
autoencoder (numpy, exactly H2O's `anomaly`); `score` writes the forest's and one
autoencoder's (`ood.autoencoder`) scores and flags.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sparkling_mnist.config.features import FeaturesSettings
from sparkling_mnist.config.ood import OodSettings
from sparkling_mnist.data.frames import RunFrames
from sparkling_mnist.data.ingest import split_images
from sparkling_mnist.errors import ConfigError
from sparkling_mnist.evaluate.charts import plot_roc_pr
from sparkling_mnist.evaluate.ood_section import OOD_PLOT
from sparkling_mnist.network.encoder_chain import PIXELS_INPUT, ChainLink, encode_pixels
from sparkling_mnist.network.forward import reconstruction_error
from sparkling_mnist.network.h2o_reader import read_network
from sparkling_mnist.network.spec import NetworkSpec
from sparkling_mnist.ood.evaluation import OTHERS_NAME, evaluate_detectors, mixed_set, others_files, read_others
from sparkling_mnist.ood.flags import flag, reconstruction_detector, threshold_at
from sparkling_mnist.ood.h2o_detectors import (
    anomaly_scores,
    isolation_forest_parameters,
    train_isolation_forest,
    upload_table,
)
from sparkling_mnist.rundir import RunDir, committed
from sparkling_mnist.runtime.models import load_model, model_in_cluster, save_model
from sparkling_mnist.schema import FOREST, PIXEL_COLUMNS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OodInputs:
    """What the stage reads from the features stage, and whether the mixed-set
    evaluation applies to this run.

    Attributes:
        feature_names: the feature table's feature columns (the forest's inputs).
        autoencoders: the features stage's summary per autoencoder (`model_id`, `input`,
            `hidden`), in dependency order (inputs first).
        used: the autoencoders whose features form the table.
        not_applicable: why the evaluation does not apply (e.g. the run's own images
            are Fashion-MNIST), or None.
    """

    feature_names: list[str]
    autoencoders: Mapping[str, Mapping[str, Any]]
    used: list[str]
    not_applicable: str | None = None


def pixel_autoencoders(autoencoders: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The autoencoders that read the pixels (their reconstruction error is an image's)."""
    return [name for name, ae in autoencoders.items() if ae["input"] == PIXELS_INPUT]


def chosen_autoencoder(settings: OodSettings, autoencoders: Mapping[str, Mapping[str, Any]]) -> str:
    """The pixel autoencoder whose reconstruction error `score` writes: `ood.autoencoder`,
    or the first pixel autoencoder.

    Raises:
        ConfigError: the named one is not a pixel autoencoder, or there is none.
    """
    candidates = pixel_autoencoders(autoencoders)
    if settings.autoencoder is None:
        if not candidates:
            raise ConfigError("ood: no autoencoder reads the pixels, so there is no reconstruction error to flag with")
        return candidates[0]
    if settings.autoencoder not in candidates:
        raise ConfigError(
            f"ood.autoencoder: {settings.autoencoder!r} is not an autoencoder on the pixels "
            f"(those are: {', '.join(candidates) or 'none'})"
        )
    return settings.autoencoder


def check_ood_settings(settings: OodSettings, features: FeaturesSettings, seed: int) -> None:
    """Check the section against the run before anything starts: the forest's H2O
    parameters, and that `ood.autoencoder` names an autoencoder on the pixels.

    Raises:
        H2OParameterError, ConfigError: naming the key.
    """
    isolation_forest_parameters(settings.params, seed)
    chosen_autoencoder(settings, {spec.name: {"input": spec.input} for spec in features.autoencoders})


def image_reconstruction_error(spec: NetworkSpec, pixels: np.ndarray, rows_per_batch: int = 8192) -> np.ndarray:
    """A pixel autoencoder's reconstruction error of (n, 784) images, a batch of rows at
    a time (a float64 copy of every pixel at once would be large on a big train split)."""
    errors = [
        reconstruction_error(spec, pd.DataFrame(pixels[start : start + rows_per_batch], columns=list(PIXEL_COLUMNS)))
        for start in range(0, len(pixels), rows_per_batch)
    ]
    return np.concatenate(errors) if errors else np.empty(0, dtype=np.float64)


def run_ood(
    settings: OodSettings, frames: RunFrames, run: RunDir, inputs: OodInputs, *, seed: int, model_id: str
) -> dict[str, Any]:
    """The stage, top to bottom: train the forest, score the training rows (thresholds),
    evaluate on the mixed set, record.

    Args:
        settings: the `ood` section.
        frames: the run's H2O frames (the train split's feature table is read).
        run: the run directory; writes `models/<model_id>`, `ood/`, `plots/ood_roc_pr.png`.
        inputs: the feature columns and autoencoders.
        seed: the run seed (the forest's, unless `ood.params.seed`).
        model_id: the forest's model id.

    Returns:
        The `ood` section of metrics.json: the forest, the thresholds, the evaluation.

    Raises:
        ConfigError, H2OParameterError: the settings do not fit the run.
        InputDataError: the Fashion-MNIST files are there but unreadable.
    """
    autoencoder = chosen_autoencoder(settings, inputs.autoencoders)
    params = isolation_forest_parameters(settings.params, seed)
    train = frames.features("train")
    forest = train_isolation_forest(train, inputs.feature_names, params, model_id)
    save_model(forest, run.models)
    specs = {name: read_network(_autoencoder_model(run, ae["model_id"])) for name, ae in inputs.autoencoders.items()}
    _, _, train_pixels = split_images(run, "train")
    training = {FOREST: anomaly_scores(forest, train)}
    for name in pixel_autoencoders(inputs.autoencoders):
        training[reconstruction_detector(name)] = image_reconstruction_error(specs[name], train_pixels)
    thresholds = {name: threshold_at(scores, settings.flag_quantile) for name, scores in training.items()}
    flagged = {name: float(flag(scores, thresholds[name]).mean()) for name, scores in training.items()}
    for name, share in flagged.items():
        log.info("ood: %s threshold %.6g flags %.2f %% of the training rows", name, thresholds[name], 100 * share)
    section: dict[str, Any] = {
        "isolation_forest": {
            "model_id": model_id,
            "algorithm": "isolationforest",
            "params": params,
            "features": len(inputs.feature_names),
            "train_rows": int(train.nrows),
            "threshold": thresholds[FOREST],
        },
        "reconstruction": {"autoencoder": autoencoder, "threshold": thresholds[reconstruction_detector(autoencoder)]},
        "flag_quantile": settings.flag_quantile,
        "thresholds": thresholds,
        "training_flagged": flagged,
    }
    section["evaluation"] = _evaluate(settings, run, inputs, forest=forest, specs=specs, thresholds=thresholds)
    return section


def _evaluate(
    settings: OodSettings,
    run: RunDir,
    inputs: OodInputs,
    *,
    forest: Any,
    specs: Mapping[str, NetworkSpec],
    thresholds: Mapping[str, float],
) -> dict[str, Any]:
    """Every detector on the test digits + Fashion-MNIST items: metrics, plot, table;
    recorded as skipped (with the reason) when the items are absent or do not apply."""
    if inputs.not_applicable:
        log.info("ood: evaluation skipped: %s", inputs.not_applicable)
        return {"status": "skipped", "reason": inputs.not_applicable}
    others = read_others(settings.evaluation)
    if others is None:
        reason = (
            f"{others_files(settings.evaluation)[0]} not found: no images that are not digits to evaluate with "
            "(install Debian's dataset-fashion-mnist, or set ood.evaluation.dir)"
        )
        log.warning("ood: evaluation skipped: %s", reason)
        return {"status": "skipped", "reason": reason}
    ids, labels, digits = split_images(run, "test")
    pixels, is_other = mixed_set(digits, others.pixels)
    links = [ChainLink(name, str(ae["input"]), int(ae["hidden"])) for name, ae in inputs.autoencoders.items()]
    encoded = encode_pixels(links, specs, pixels)
    features = pd.concat([encoded[name] for name in inputs.used], axis=1)
    scores = {FOREST: anomaly_scores(forest, upload_table(features))}
    for name in pixel_autoencoders(inputs.autoencoders):
        scores[reconstruction_detector(name)] = image_reconstruction_error(specs[name], pixels)
    detectors = evaluate_detectors(scores, is_other, thresholds)
    for name, summary in detectors.items():
        log.info(
            "ood: %s on %d digits + %d %s items: AUC %.4f, AUCPR %.4f (chance %.3f); flags %.1f %% of the digits, "
            "%.1f %% of the others",
            name,
            len(digits),
            len(others.pixels),
            OTHERS_NAME,
            summary["auc"],
            summary["aucpr"],
            summary["positive_rate"],
            100 * summary["flagged_digits"],
            100 * summary["flagged_others"],
        )
    plot_roc_pr(
        {name: (values, is_other) for name, values in scores.items()},
        run.plot(OOD_PLOT),
        title=f"out of distribution: {len(digits)} test digits vs {len(others.pixels)} {OTHERS_NAME} items",
    )
    table = pd.DataFrame(
        {
            "set": np.where(is_other, OTHERS_NAME, "digits"),
            "id": np.r_[ids, np.arange(len(others.pixels), dtype=np.int64)],
            "label": np.r_[labels, others.labels],
            "out_of_distribution": is_other,
            **{name: values for name, values in scores.items()},
            **{f"{name} flag": flag(values, thresholds[name]) for name, values in scores.items()},
        }
    )
    with committed(run.root / "ood" / "mixed_scores.parquet") as tmp:
        table.to_parquet(tmp, index=False)
    return {
        "status": "done",
        "digits": len(digits),
        "others": len(others.pixels),
        "others_source": others.source,
        "positives": f"{OTHERS_NAME} items (not digits)",
        "detectors": detectors,
    }


def _autoencoder_model(run: RunDir, model_id: str) -> Any:
    """An autoencoder of the run: in this session's cluster, or reloaded from the run dir."""
    model = model_in_cluster(model_id)
    return model if model is not None else load_model(run.models / model_id)
