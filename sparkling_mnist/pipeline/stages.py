"""The stage table: every stage of a run, in order, with the command that runs it alone,
the stages it needs, whether `run` includes it and its pre-flight checks. The runner,
the command line and its help read this one table.

Light on purpose (the config only): the command line builds its parser from it before
Spark, H2O or any stage loads; a pre-flight check imports its stage when it runs.
Each stage's fingerprint (what it is computed from) is `pipeline.fingerprints`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sparkling_mnist.config.settings import JobConfig


def _nothing(_: JobConfig) -> None:
    """No pre-flight check."""


def _check_features(cfg: JobConfig) -> None:
    from sparkling_mnist.features.stage import check_features_parameters

    check_features_parameters(cfg.features)


def _check_team(cfg: JobConfig) -> None:
    from sparkling_mnist.team.members import check_team_parameters

    check_team_parameters(cfg.team, cfg.run.seed)


def _check_ood(cfg: JobConfig) -> None:
    from sparkling_mnist.ood.stage import check_ood_settings

    check_ood_settings(cfg.ood, cfg.features, cfg.run.seed)


def _check_tracking(_: JobConfig) -> None:
    from sparkling_mnist.tracking.mlflow_run import require_mlflow

    require_mlflow()


@dataclass(frozen=True)
class Stage:
    """One stage of a run.

    Attributes:
        name: its name (the runner's method, its record under `stages/`).
        command: the `sparkling-mnist` subcommand that runs it alone (None: only `run`).
        help: what it does, for the command's help.
        needs: the stages that must have finished first, whatever the config.
        needs_augment: whether this config makes it read the augmented rows too.
        enabled: whether `run` includes it under this config.
        preflight: checks of its settings made before anything starts (raise
            ConfigError/H2OParameterError naming the key).
    """

    name: str
    command: str | None
    help: str
    needs: tuple[str, ...] = ()
    needs_augment: Callable[[JobConfig], bool] = lambda _: False
    enabled: Callable[[JobConfig], bool] = lambda _: True
    preflight: Callable[[JobConfig], None] = _nothing

    def requirements(self, cfg: JobConfig) -> tuple[str, ...]:
        """The stages that must have finished before this one, under `cfg`."""
        return self.needs + (("augment",) if self.needs_augment(cfg) else ())

    def command_help(self) -> str:
        """The subcommand's help: what it does, and what it needs."""
        return f"{self.help} (needs {' and '.join(self.needs)})" if self.needs else self.help


def _features_on(cfg: JobConfig) -> bool:
    return cfg.features.enabled


STAGE_TABLE: tuple[Stage, ...] = (
    Stage("ingest", "ingest", "read, validate and split the source into Parquet under the run dir"),
    Stage(
        "augment",
        "augment",
        "augment the train split with the configured effects on the executors",
        needs=("ingest",),
        enabled=lambda cfg: cfg.augment.enabled,
    ),
    Stage(
        "baseline",
        "train-baseline",
        "train the raw-pixel H2O deep-learning classifier",
        needs=("ingest",),
        needs_augment=lambda cfg: cfg.baseline.rows.augmented,
        enabled=lambda cfg: cfg.baseline.enabled,
    ),
    Stage(
        "features",
        "features",
        "train the autoencoders and write their joined deep features",
        needs=("ingest",),
        needs_augment=lambda cfg: cfg.augment.enabled,
        enabled=_features_on,
        preflight=_check_features,
    ),
    Stage(
        "features_classifier",
        "train-features-classifier",
        "the baseline's classifier on the autoencoder features, compared with raw pixels",
        needs=("features",),
        enabled=lambda cfg: _features_on(cfg) and cfg.features.compare,
    ),
    Stage(
        "team",
        "train-team",
        "train the team's members, rank them, combine the best by the team rule",
        needs=("features",),
        needs_augment=lambda cfg: cfg.augment.enabled,
        enabled=lambda cfg: _features_on(cfg) and cfg.team.enabled,
        preflight=_check_team,
    ),
    Stage(
        "ood",
        "ood",
        "the out-of-distribution detectors: isolation forest and reconstruction error, judged on digits vs "
        "Fashion-MNIST",
        needs=("features",),
        enabled=lambda cfg: _features_on(cfg) and cfg.ood.enabled,
        preflight=_check_ood,
    ),
    Stage(
        "store",
        None,
        "every model of the run saved to the model store with its manifest",
        enabled=lambda cfg: cfg.store.location is not None,
    ),
    Stage("report", "report", "write report.html from what the run has produced so far (no Spark needed)"),
    Stage(
        "track",
        "track",
        "log the finished run to MLflow: config, figures, report, plots, PipelineModel",
        enabled=lambda cfg: cfg.tracking.enabled,
        preflight=_check_tracking,
    ),
)

STAGES: tuple[str, ...] = tuple(stage.name for stage in STAGE_TABLE)
"""The stage names, in the order a run makes them."""

RUN_ALL = "all"
"""The runner's name for every stage the config enables (the `run` command)."""


def stage(name: str) -> Stage:
    """The table's entry of stage `name`."""
    return next(entry for entry in STAGE_TABLE if entry.name == name)


def enabled_stages(cfg: JobConfig) -> list[str]:
    """The stages `run` makes under `cfg`, in order."""
    return [entry.name for entry in STAGE_TABLE if entry.enabled(cfg)]


def preflight(cfg: JobConfig, stages: tuple[str, ...] | list[str]) -> None:
    """Every pre-flight check of the stages asked for (`all`: those `run` makes) and of
    every enabled stage, before anything starts."""
    asked = set(enabled_stages(cfg)) if RUN_ALL in stages else set(stages)
    for entry in STAGE_TABLE:
        if entry.enabled(cfg) or entry.name in asked:
            entry.preflight(cfg)
