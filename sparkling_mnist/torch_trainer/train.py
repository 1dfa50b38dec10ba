"""A network trained by torch: plan it from its H2O parameters, train it with torch
(driver or executors), hand it to H2O and check it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sparkling_mnist.config.training import TorchSettings
from sparkling_mnist.errors import ConfigError
from sparkling_mnist.torch_trainer.data import TrainingData
from sparkling_mnist.torch_trainer.h2o_bridge import H2OTarget, load_into_h2o
from sparkling_mnist.torch_trainer.loop import TorchJob, TorchOptions
from sparkling_mnist.torch_trainer.plan import NetworkPlan, network_plan
from sparkling_mnist.torch_trainer.runner import run_torch_job

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def checked_plan(params: Mapping[str, Any], *, autoencoder: bool, where: str, seed: int) -> NetworkPlan:
    """The network plan of a config entry, or a ConfigError naming the key.

    Raises:
        ConfigError: a parameter torch cannot reproduce.
    """
    try:
        return network_plan(params, autoencoder=autoencoder, where=where, seed=seed)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def torch_options(settings: TorchSettings) -> TorchOptions:
    """The training loop's options from the config section."""
    return TorchOptions(
        batch_size=settings.batch_size,
        optimizer=settings.optimizer,
        learning_rate=settings.learning_rate,
        momentum=settings.momentum,
        schedule=settings.schedule,
        weight_decay=settings.weight_decay,
        label_smoothing=settings.label_smoothing,
        threads=settings.threads,
    )


def label_classes(frame: Any) -> list[str]:
    """The classes of an H2OFrame's categorical `label`, in H2O's order."""
    levels: list[list[str]] = frame["label"].levels()
    return [str(level) for level in levels[0]]


def train_with_torch(
    name: str,
    params: Mapping[str, Any],
    settings: TorchSettings,
    data: tuple[TrainingData, TrainingData | None],
    target: H2OTarget,
    *,
    autoencoder: bool,
    where: str,
    spark: SparkSession | None,
    seed: int,
    scaling: TrainingData | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train a deep-learning network with torch and return it as a checked H2O model.

    Args:
        name: the model's name in logs.
        params: its H2O parameters (with `hidden`).
        settings: the torch section that applies to it.
        data: its training and validation rows.
        target: the H2O model to build.
        autoencoder: an autoencoder, else a classifier.
        where: the config key of `params`, for errors.
        spark: the session (torch on the executors with more than one process).
        seed: the run seed (used when `params` has none).
        scaling: the rows whose statistics scale the inputs: those of `target`'s
            training frame (default: the training rows).

    Returns:
        (H2O model, trainer record).
    """
    plan = checked_plan(params, autoencoder=autoencoder, where=where, seed=seed)
    job = TorchJob(name, plan, torch_options(settings), data[0], data[1], scaling)
    result = run_torch_job(job, spark, settings.processes)
    return load_into_h2o(result, plan, target, h2o_epochs=settings.h2o_epochs)
