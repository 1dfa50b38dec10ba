"""The trainer seam: one call fits (or reloads) any H2O model by the trainer resolved for
it once, and returns the model with a typed record of how it was fitted.

The baseline, the autoencoders and the team's members all come through here: a stage
resolves who learns the weights (`TrainerChoice`, from the config's section and the
model's own entry) while it builds the model's spec, asks `reload_model` for a model
saved before under the same id (its torch record beside it), and otherwise describes the
fit (`FitRequest`) and calls `fit_model`, which saves the new one, the record first: the
model file says "finished".
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkling_mnist.config.training import TorchSettings, Trainer
from sparkling_mnist.data.frames import TrainingFrames
from sparkling_mnist.runtime.models import load_model, save_model
from sparkling_mnist.torch_trainer.data import TrainingData
from sparkling_mnist.torch_trainer.h2o_bridge import H2OTarget, read_record, write_record
from sparkling_mnist.torch_trainer.train import train_with_torch

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainerChoice:
    """Who learns a model's weights, resolved once from the config.

    Attributes:
        name: `h2o` (H2O's own training) or `torch` (torch, then an H2O model).
        torch: the torch section that applies (torch only).
    """

    name: Trainer
    torch: TorchSettings | None = None

    @classmethod
    def of(cls, resolved: tuple[Trainer, TorchSettings]) -> TrainerChoice:
        """From a settings section's `(trainer, torch)` resolution."""
        name, settings = resolved
        return cls(name, settings if name == "torch" else None)


H2O = TrainerChoice("h2o")
"""H2O's own training (every algorithm but deep learning, and deep learning on request)."""


@dataclass(frozen=True)
class TorchRows:
    """The rows torch reads for a fit, straight from the run's Parquet.

    Attributes:
        training, validation: the training and validation rows.
        scaling: the rows whose statistics scale the inputs (those of the H2O training
            frame; None: the training rows).
        spark: the session (torch on the executors), or None (the driver).
    """

    training: TrainingData
    validation: TrainingData | None
    scaling: TrainingData | None = None
    spark: SparkSession | None = None


@dataclass(frozen=True)
class FitRequest:
    """One model to fit.

    Attributes:
        model_id: the H2O key (and the saved file's name).
        estimator: the `h2o.estimators` class.
        params: its checked parameters (an autoencoder's include `hidden`).
        x: input columns; y: the response (None: an autoencoder).
        training_frame, validation_frame: the H2OFrames H2O trains (or builds) on.
        trainer: who learns the weights.
        where: the config key of `params`, for errors.
        seed: the run seed (torch, when `params` has none).
        rows: torch's rows (torch only).
    """

    model_id: str
    estimator: type
    params: dict[str, Any]
    x: list[str]
    y: str | None
    training_frame: Any
    validation_frame: Any | None
    trainer: TrainerChoice
    where: str
    seed: int
    rows: TorchRows | None = None

    @property
    def autoencoder(self) -> bool:
        """An autoencoder (no response) rather than a classifier."""
        return self.y is None


@dataclass(frozen=True)
class TrainerRecord:
    """How a model was fitted.

    Attributes:
        trainer: who learnt its weights.
        reused: reloaded from a file saved before, not trained now.
        seconds: the fit's wall time (0 when reused).
        torch: the torch trainer's record (history, rows, steps, samples/s, agreement
            with H2O's copy); None for H2O.
    """

    trainer: Trainer
    reused: bool = False
    seconds: float = 0.0
    torch: dict[str, Any] | None = None


def classifier_rows(
    training: TrainingFrames, data: tuple[TrainingData, TrainingData | None], settings: TorchSettings, spark: Any
) -> tuple[Any, TorchRows]:
    """A torch-trained classifier's H2O training frame and torch's rows.

    H2O builds the model from the first part of the rows (the originals when selected),
    and torch scales its inputs by the statistics of those same rows, so no frame of every
    row (a copy of a million augmented rows) is made. With `h2o_epochs` H2O trains on
    every row, and both scale by the statistics of every row.
    """
    rows, validation = data
    if settings.h2o_epochs or len(rows.parts) == 1:
        return training.fit, TorchRows(rows, validation, None, spark)
    return training.first, TorchRows(rows, validation, replace(rows, parts=rows.parts[:1]), spark)


def reload_model(model_id: str, models: Path, trainer: TrainerChoice) -> tuple[Any, TrainerRecord] | None:
    """The model saved under `model_id` in `models` (with its torch record), or None when
    none was: asked before a fit's rows and frames are built, which a reloaded model
    never needs."""
    path = models / model_id
    if not path.is_file():
        return None
    return load_model(path), TrainerRecord(trainer.name, True, 0.0, read_record(models, model_id))


def fit_model(request: FitRequest, models: Path | None = None) -> tuple[Any, TrainerRecord]:
    """Fit `request`'s model with its trainer; with `models`, save it there once fitted
    (its torch record first). A model saved before is `reload_model`'s.

    Returns:
        The H2O model and how it was fitted.

    Raises:
        TrainerAgreementError: H2O's copy of a torch network scores differently.
        Exception: H2O's own errors when a model fails to train.
    """
    trainer = request.trainer
    started = time.monotonic()
    torch_record = None
    if trainer.name == "torch":
        assert trainer.torch is not None and request.rows is not None, "a torch fit needs its settings and rows"
        rows = request.rows
        target = H2OTarget(
            request.model_id, request.params, request.x, request.y, request.training_frame, request.validation_frame
        )
        model, torch_record = train_with_torch(
            request.model_id,
            request.params,
            trainer.torch,
            (rows.training, rows.validation),
            target,
            autoencoder=request.autoencoder,
            where=request.where,
            spark=rows.spark,
            seed=request.seed,
            scaling=rows.scaling,
        )
    else:
        extra = {"autoencoder": True} if request.autoencoder else {}
        model = request.estimator(model_id=request.model_id, **extra, **request.params)
        model.train(
            x=request.x,
            y=request.y,
            training_frame=request.training_frame,
            validation_frame=request.validation_frame,
        )
    record = TrainerRecord(trainer.name, False, time.monotonic() - started, torch_record)
    if models is not None:
        if torch_record is not None:  # before the model file: that file says "finished"
            write_record(models, request.model_id, torch_record)
        save_model(model, models)
    return model, record
