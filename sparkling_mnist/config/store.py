"""Where models are stored (`store`, with its S3 settings) and where runs are tracked (`tracking`)."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from sparkling_mnist.config.base import Section
from sparkling_mnist.config.runtime import SECRET_KEYS
from sparkling_mnist.errors import ConfigError
from sparkling_mnist.store_location import StoreLocation, check_run_id


class S3Settings(Section):
    """How to reach S3 (or an S3-compatible server). Credentials are never configured here:
    they come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the AWS
    chain (instance role, ~/.aws)."""

    endpoint: str | None = Field(None, description="e.g. http://127.0.0.1:9000; None: AWS")
    path_style: bool = Field(False, description="bucket in the path, not the host name (most local servers)")
    region: str = "us-east-1"
    max_attempts: int = Field(3, ge=1, le=20, description="tries per request before a clear error")
    timeout_seconds: float = Field(10.0, gt=0, description="connect and read timeout per try")
    backoff_seconds: float = Field(
        0.2, ge=0, le=60, description="wait before the first retry (a 5xx answer, a timeout); doubled per retry"
    )
    max_backoff_seconds: float = Field(5.0, ge=0, le=300, description="longest wait between two tries")

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            secrets = sorted(key for key in data if str(key).lower() in SECRET_KEYS)
            if secrets:
                raise ValueError(
                    f"{', '.join(secrets)}: credentials never go in a config file; set AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY in the environment (or use an instance role)"
                )
        return data


class TrackingSettings(Section):
    """Experiment tracking with MLflow (`pip install -e '.[tracking]'`): after the report,
    the run's config, figures, report, plots, manifest and PipelineModel are logged."""

    enabled: bool = Field(False, description="log the finished run to MLflow")
    uri: str | None = Field(None, description="tracking URI; default: sqlite:///<run.dir>/mlflow.db (no server)")
    experiment: str = Field("sparkling-mnist", min_length=1)
    run_name: str | None = Field(None, description="default: the run directory's name")


class StoreSettings(Section):
    """The model store on shared storage: a path, file://, s3://bucket/prefix or
    hdfs://namenode/path. The `store` stage saves every model of the run under
    `<uri>/<run_id>/` with a manifest."""

    uri: str | None = Field(None, description="None: no store stage")
    run_id: str | None = Field(None, description="default: the run directory's name")
    s3: S3Settings = Field(default_factory=S3Settings)
    _location: StoreLocation | None = PrivateAttr(default=None)

    @field_validator("uri")
    @classmethod
    def _parsable(cls, uri: str | None) -> str | None:
        if uri is not None:
            try:
                StoreLocation.parse(uri)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return uri

    def model_post_init(self, context: Any, /) -> None:
        """Parse `uri` once into the typed location every user of the store reads."""
        self._location = StoreLocation.parse(self.uri) if self.uri is not None else None

    @property
    def location(self) -> StoreLocation | None:
        """Where the store lives (scheme, root, whether it needs Spark); None: no store."""
        return self._location

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, run_id: str | None) -> str | None:
        if run_id is not None:
            try:
                check_run_id(run_id)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return run_id
