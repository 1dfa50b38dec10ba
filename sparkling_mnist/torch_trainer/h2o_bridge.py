"""Hand a torch-trained network to H2O: an ordinary H2O deep-learning model built from
the weights (`initial_weights`/`initial_biases`, `epochs=0`), checked to score like the
torch model, optionally trained on by H2O (`h2o_epochs`, from a checkpoint).

What comes out is an H2O model like any other: `deepfeatures`, MOJO, save/load, the
model store, scoring and the Keras export all take it unchanged.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sparkling_mnist.errors import TrainerAgreementError
from sparkling_mnist.rundir import read_json, write_json_atomic
from sparkling_mnist.torch_trainer.loop import TorchResult, layer_outputs
from sparkling_mnist.torch_trainer.plan import NetworkPlan, h2o_initial_weights, layer_names

log = logging.getLogger(__name__)

AGREEMENT_TOLERANCE = 1e-6
"""Largest difference allowed between H2O's scoring of the loaded model and torch's."""
AGREEMENT_ROWS = 200
"""Rows (the first of the validation frame, else the training frame) the check scores."""


@dataclass(frozen=True)
class H2OTarget:
    """The H2O model to build: its id, estimator parameters and frames.

    Attributes:
        model_id: the H2O key.
        params: the configured H2ODeepLearningEstimator parameters (epochs are replaced).
        x: input columns; y: the response (None for an autoencoder).
        training_frame, validation_frame: H2OFrames holding the rows torch trained on
            (H2O derives its input scaling from the training frame).
    """

    model_id: str
    params: dict[str, Any]
    x: Sequence[str]
    y: str | None
    training_frame: Any
    validation_frame: Any | None


def load_into_h2o(
    result: TorchResult, plan: NetworkPlan, target: H2OTarget, *, h2o_epochs: float
) -> tuple[Any, dict[str, Any]]:
    """An H2O model with torch's weights, checked, optionally trained on by H2O.

    Returns:
        (the model, the record: trainer, rows, processes, seconds, samples/s, the
        per-epoch history, the agreement check and the H2O epochs).

    Raises:
        TrainerAgreementError: H2O's scoring differs from torch's by more than
            `AGREEMENT_TOLERANCE`, naming the model and the layer.
    """
    import h2o
    from h2o.estimators import H2ODeepLearningEstimator

    started = time.monotonic()
    initial = h2o_initial_weights(result.layers, plan)
    weights = [h2o.H2OFrame(pd.DataFrame(weight)) for weight, _ in initial]
    biases = [h2o.H2OFrame(pd.DataFrame(bias.reshape(-1, 1))) for _, bias in initial]
    params = {key: value for key, value in target.params.items() if key != "epochs"}
    built_id = target.model_id if not h2o_epochs else f"{target.model_id}_torch"
    model = H2ODeepLearningEstimator(
        model_id=built_id,
        autoencoder=plan.autoencoder,
        epochs=0,
        initial_weights=weights,
        initial_biases=biases,
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # h2o: "Dropping bad and constant columns" (torch dropped the same)
        model.train(
            x=list(target.x),
            y=target.y,
            training_frame=target.training_frame,
            validation_frame=target.validation_frame,
        )
    h2o.remove(weights + biases)
    agreement = check_agreement(model, result, plan, target)
    if h2o_epochs:
        tuned = H2ODeepLearningEstimator(
            model_id=target.model_id,
            autoencoder=plan.autoencoder,
            checkpoint=model.model_id,
            epochs=h2o_epochs,
            **params,
        )
        tuned.train(
            x=list(target.x),
            y=target.y,
            training_frame=target.training_frame,
            validation_frame=target.validation_frame,
        )
        h2o.remove(model)
        model = tuned
    record = {
        "trainer": "torch",
        "rows": result.rows,
        "processes": result.world,
        "load_seconds": round(result.load_seconds, 2),
        "train_seconds": round(result.seconds, 2),
        "samples_per_s": round(result.samples_per_second, 1),
        "steps": result.steps,
        "h2o_seconds": round(time.monotonic() - started, 2),
        "h2o_epochs": h2o_epochs,
        "inputs": len(result.scaling.columns),
        "ignored_h2o_parameters": list(plan.ignored),
        "history": result.history,
        "agreement": agreement,
    }
    log.info(
        "torch -> H2O %s: %d rows, %.0f samples/s over %d process(es), H2O model built and checked in %.1f s "
        "(largest difference %.1e)",
        target.model_id,
        result.rows,
        result.samples_per_second,
        result.world,
        record["h2o_seconds"],
        max(agreement["max_abs_difference"].values()),
    )
    return model, record


def check_agreement(model: Any, result: TorchResult, plan: NetworkPlan, target: H2OTarget) -> dict[str, Any]:
    """H2O's hidden layers (`deepfeatures`) and output (reconstruction or probabilities)
    of the first `AGREEMENT_ROWS` rows against torch's eval-mode forward pass.

    Raises:
        TrainerAgreementError: naming the layer with the largest difference.
    """
    import h2o

    frame = target.validation_frame if target.validation_frame is not None else target.training_frame
    rows = min(AGREEMENT_ROWS, frame.nrows)
    sample = frame[:rows, list(target.x)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # h2o: single-threaded conversion of a small frame
        raw = sample.as_data_frame(use_multi_thread=False).to_numpy(np.float64)
        expected = layer_outputs(plan, result.layers, result.scaling.apply(raw, np.float64))
        theirs: list[np.ndarray] = []
        for index, _ in enumerate(plan.hidden):
            features = model.deepfeatures(sample, index)
            theirs.append(features.as_data_frame(use_multi_thread=False).to_numpy(np.float64))
            h2o.remove(features)
        predicted = model.predict(sample)
        output = predicted.as_data_frame(use_multi_thread=False)
        h2o.remove([predicted, sample])
    if plan.autoencoder:
        # H2O gives the reconstruction in the inputs' units: back to the transformed ones.
        theirs.append((output.to_numpy(np.float64) - result.scaling.sub) * result.scaling.mul)
    else:
        theirs.append(output.drop(columns=["predict"]).to_numpy(np.float64))
    names = layer_names(plan)
    differences: dict[str, float] = {}
    for index, (name, ours, h2os) in enumerate(zip(names, expected, theirs, strict=True)):
        scale = 1.0 - plan.hidden_dropout[index] if index < len(plan.hidden) else 1.0
        if h2os.shape != ours.shape:
            raise TrainerAgreementError(
                f"model {target.model_id}, {name}: H2O gives {h2os.shape[1]} columns, torch {ours.shape[1]} "
                "(the input columns differ: did H2O drop other constant columns?)"
            )
        differences[name] = float(np.max(np.abs(h2os - ours * scale))) if len(ours) else 0.0
    worst = max(differences, key=lambda key: differences[key])
    if differences[worst] > AGREEMENT_TOLERANCE:
        raise TrainerAgreementError(
            f"model {target.model_id}, {worst}: H2O's scoring of the torch-trained weights differs from torch's by "
            f"{differences[worst]:.3e} on {rows} rows (tolerance {AGREEMENT_TOLERANCE:g}); the input scaling or the "
            "layer's parameters do not match"
        )
    return {"rows": rows, "tolerance": AGREEMENT_TOLERANCE, "max_abs_difference": differences}


def record_path(models_dir: Path, model_id: str) -> Path:
    """Where a torch-trained model's record lies: beside the saved H2O model."""
    return models_dir / f"{model_id}.trainer.json"


def write_record(models_dir: Path, model_id: str, record: dict[str, Any]) -> None:
    """Store the trainer's record (history, agreement, speed) beside the model."""
    write_json_atomic(record_path(models_dir, model_id), record)


def read_record(models_dir: Path, model_id: str) -> dict[str, Any] | None:
    """The trainer's record of a saved model, or None for an H2O-trained one."""
    path = record_path(models_dir, model_id)
    if not path.is_file():
        return None
    record: dict[str, Any] = read_json(path)
    return record
