"""The job configuration: settings models (`settings`), the recipe's defaults
(`recipe`), YAML and `--set` loading with messages that name the key (`loading`), and
the check of H2O parameter names against the estimators (`h2o_params`).

The names most code needs are importable from here: `load_config`, `JobConfig` and the
section models.
"""

from sparkling_mnist.config.augment import AugmentSettings
from sparkling_mnist.config.features import AutoencoderSpec, FeaturesSettings
from sparkling_mnist.config.loading import apply_overrides, load_config, parse_override, validate_config
from sparkling_mnist.config.settings import JobConfig
from sparkling_mnist.config.store import StoreSettings
from sparkling_mnist.config.team import MemberSpec, TeamSettings
from sparkling_mnist.config.training import BaselineSettings, TorchSettings, TrainingRowsSettings

__all__ = [
    "AugmentSettings",
    "AutoencoderSpec",
    "BaselineSettings",
    "FeaturesSettings",
    "JobConfig",
    "MemberSpec",
    "StoreSettings",
    "TeamSettings",
    "TorchSettings",
    "TrainingRowsSettings",
    "apply_overrides",
    "load_config",
    "parse_override",
    "validate_config",
]
