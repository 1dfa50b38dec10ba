"""Every exception the project raises on purpose, each with an actionable message.

The CLI turns these into a one-line error and exit code 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class SparklingMnistError(Exception):
    """Base class: a problem the user can fix (input, config, environment)."""


class ConfigError(SparklingMnistError):
    """The job configuration is invalid; the message names the key path."""


class InputDataError(SparklingMnistError):
    """A source file cannot be read as a whole (missing, corrupt, truncated, mismatched).

    The message names the file and, where it applies, the byte offset or row.
    """


class RejectThresholdError(SparklingMnistError):
    """More rows were rejected than the configured fraction allows."""


class StageError(SparklingMnistError):
    """A pipeline stage cannot run because an input it needs is missing or stale."""


class RunLockedError(SparklingMnistError):
    """Another job holds the run directory; the message names its host, pid and start."""


class DiskFullError(StageError):
    """A stage ran out of disk space; the message names the path being written."""


class H2OParameterError(ConfigError):
    """An H2O estimator parameter in the config is not a parameter of that estimator."""


class ExportError(SparklingMnistError):
    """A model cannot be exported exactly, or the export does not reproduce H2O.

    The message names the model and the setting to change, or the measured difference.
    """


class TeamError(SparklingMnistError):
    """The team cannot be built: members disagree on classes, or members failed."""


class StoreError(SparklingMnistError):
    """The model store cannot be read or written; the message names the path and why."""


class FeatureAgreementError(SparklingMnistError):
    """The numpy encoders disagree with H2O's own deep features beyond the tolerance."""


class TrainerAgreementError(SparklingMnistError):
    """A network trained by torch and loaded into H2O does not score like the torch model.

    The message names the model, the layer and the largest difference.
    """


class ClusterError(SparklingMnistError):
    """The local standalone cluster could not start (the message names the log to read)."""


class UnknownEffectError(SparklingMnistError, ValueError):
    """An augmentation effect name that is not registered; the message lists the known ones."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(f"unknown augmentation effect {name!r}; known effects: {', '.join(self.known)}")
