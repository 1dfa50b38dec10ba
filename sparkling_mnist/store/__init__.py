"""The model store on shared storage: local directories, S3 and HDFS.

store = open_store(cfg.store)                # local or S3: no Spark needed
report = store.save(run_id, models, roles=..., lineage=...)
models = store.load_run(run_id)              # needs the H2O session
"""

from __future__ import annotations

from typing import Any

from sparkling_mnist.config.store import StoreSettings
from sparkling_mnist.errors import ConfigError
from sparkling_mnist.store.files import HadoopFiles, LocalFiles, S3Files, StoreFiles
from sparkling_mnist.store.model_store import ModelStore, SaveReport, VerifyReport
from sparkling_mnist.store_location import StoreLocation

__all__ = ["ModelStore", "SaveReport", "StoreLocation", "VerifyReport", "open_store"]


def open_store(settings: StoreSettings, spark: Any | None = None) -> ModelStore:
    """The configured store; `spark` is needed (and only used) when its location needs
    Spark's JVM (`StoreLocation.needs_spark`).

    Raises:
        ConfigError: no store configured, or an `hdfs://` store without a Spark session.
    """
    location = settings.location
    if location is None:
        raise ConfigError("store.uri: no model store configured (set store.uri or pass --store)")
    files: StoreFiles
    if location.scheme == "s3":
        s3 = settings.s3
        files = S3Files(
            location,
            endpoint=s3.endpoint,
            path_style=s3.path_style,
            region=s3.region,
            attempts=s3.max_attempts,
            timeout=s3.timeout_seconds,
            backoff=s3.backoff_seconds,
            max_backoff=s3.max_backoff_seconds,
        )
    elif location.scheme == "hdfs":
        if spark is None:
            raise ConfigError(
                f"store {location.root}: hdfs:// is read through Spark's Hadoop client; start a session first"
            )
        files = HadoopFiles(spark)
    else:
        files = LocalFiles()
    return ModelStore(location, files)
