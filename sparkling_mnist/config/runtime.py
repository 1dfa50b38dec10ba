"""Where a run writes, and the Spark and H2O it starts: `run`, `spark`, `h2o`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from sparkling_mnist.config.base import Section
from sparkling_mnist.config.recipe import (
    Scalar,
)


class RunSettings(Section):
    """Where a run writes everything, and the seed every random choice derives from."""

    dir: str = Field("runs/local", description="run directory: data, models, metrics, logs")
    seed: int = Field(42, description="run seed for splits, augmentation and models")


class SparkSettings(Section):
    """Spark master and tuning. Under spark-submit its own --master/--conf win."""

    master: str | None = Field(None, description="e.g. local[2], spark://host:7077; None: spark-submit's or local[*]")
    app_name: str = "sparkling-mnist"
    log_level: Literal["ALL", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"] = Field(
        "WARN", description="Spark's own log level in the driver, in every mode (spark-submit too)"
    )
    conf: dict[str, Scalar] = Field(default_factory=dict, description="any spark.* setting, spark.ext.h2o.* included")

    @field_validator("conf")
    @classmethod
    def _spark_keys(cls, conf: dict[str, Scalar]) -> dict[str, Scalar]:
        bad = [key for key in conf if not key.startswith("spark.")]
        if bad:
            raise ValueError(f"keys must start with 'spark.' (got {bad})")
        return conf


SECRET_KEYS = ("access_key", "secret_key", "aws_access_key_id", "aws_secret_access_key", "session_token", "password")


class H2OSecurity(Section):
    """H2O's own security: a login on every REST/Flow endpoint (H2O nodes and Sparkling
    Water's proxy) and TLS between the nodes. The password is read from the environment
    variable named by `password_env`, never from a config file."""

    login: Literal["none", "hash"] = Field("none", description="hash: user + password on every REST call")
    user: str = Field("sparkling", min_length=1)
    password_env: str = Field("SPARKLING_MNIST_H2O_PASSWORD", description="environment variable with the password")
    internal_tls: bool = Field(False, description="TLS between H2O nodes (keys generated per run)")

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(str(key).lower() in SECRET_KEYS for key in data):
            raise ValueError("a password never goes in a config file: put it in the variable named by password_env")
        return data


class H2OSettings(Section):
    """Sparkling Water's H2O cluster: logging, security. Sizing goes in spark.conf (spark.ext.h2o.*)."""

    log_level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERRR", "FATAL"] = "WARN"
    log_dir: str | None = Field(None, description="default: <run.dir>/logs/h2o")
    progress_seconds: float = Field(
        10.0, ge=0, description="report running H2O jobs (progress, time left) this often; 0: never"
    )
    security: H2OSecurity = Field(default_factory=H2OSecurity)
