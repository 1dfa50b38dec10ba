"""Log a finished run to MLflow: the validated config as parameters, every figure of
`metrics.json` as a metric, `report.html`, `metrics.json`, the config, the plots and the
store's manifest as artifacts, and the run's PipelineModel with MLflow's Spark flavour.

The default tracking store is a SQLite file under the run directory, its artifacts in
`<run.dir>/mlartifacts`: no server, no network. `mlflow ui --backend-store-uri sqlite:///runs/local/mlflow.db` shows it.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sparkling_mnist.config.settings import JobConfig
from sparkling_mnist.config.store import TrackingSettings
from sparkling_mnist.errors import ConfigError
from sparkling_mnist.rundir import RunDir

log = logging.getLogger(__name__)

MAX_PARAM_VALUE = 6000  # MLflow's limit on a parameter's value
_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")


def tracking_uri(settings: TrackingSettings, run: RunDir) -> str:
    """The configured tracking URI, or a SQLite file under the run directory."""
    return settings.uri or f"sqlite:///{run.root / 'mlflow.db'}"


def artifact_location(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside a SQLite store's file (MLflow's
    default would be ./mlruns of whatever folder the job runs from); a server's own
    choice otherwise. Pure."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
    return None


def require_mlflow() -> None:
    """Raises ConfigError when tracking is on and MLflow is not installed (checked before a run starts)."""
    try:
        import mlflow  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "tracking.enabled is true but MLflow is not installed: pip install -e '.[tracking]' "
            "(or set tracking.enabled=false)"
        ) from exc


def flatten(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves of nested mappings and lists as (`a.b.0.c`, value). Pure."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list) and data and all(isinstance(item, Mapping | list) for item in data):
        for index, value in enumerate(data):
            yield from flatten(value, f"{prefix}.{index}")
    else:
        yield prefix, data


def params_of(cfg: JobConfig) -> dict[str, str]:
    """The validated config as MLflow parameters: one per leaf, lists as JSON. Pure."""
    params = {}
    for key, value in flatten(cfg.model_dump(mode="json")):
        text = value if isinstance(value, str) else json.dumps(value)
        params[_KEY.sub("_", key)] = text[:MAX_PARAM_VALUE]
    return params


def metrics_of(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Every finite number of metrics.json as an MLflow metric (booleans and per-row
    lists such as `no_member_right` left out). Pure."""
    result = {}
    for key, value in flatten(metrics):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            continue
        result[_KEY.sub("_", key)] = float(value)
    return result


def log_run(
    settings: TrackingSettings, cfg: JobConfig, run: RunDir, *, manifest: Mapping[str, Any] | None, pipeline: Any
) -> str:
    """Log the finished run to MLflow; returns the MLflow run id.

    Args:
        settings: the `tracking` section.
        cfg: the validated config (logged as parameters).
        run: the run directory (its metrics, report and plots are logged).
        manifest: the store's manifest of the run, when it was stored.
        pipeline: the run's PipelineModel, when it has one (logged with the Spark flavour).
    """
    import mlflow
    import mlflow.spark

    uri = tracking_uri(settings, run)
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(settings.experiment)
    if experiment is None:
        experiment_id = mlflow.create_experiment(settings.experiment, artifact_location=artifact_location(uri))
    else:
        experiment_id = experiment.experiment_id
    with mlflow.start_run(experiment_id=experiment_id, run_name=settings.run_name or run.root.name) as active:
        params = params_of(cfg)
        keys = list(params)
        for start in range(0, len(keys), 100):  # MLflow takes at most 100 parameters per call
            mlflow.log_params({key: params[key] for key in keys[start : start + 100]})
        mlflow.log_metrics(metrics_of(run.read_metrics()))
        mlflow.log_dict(cfg.model_dump(mode="json"), "config.json")
        for path in (run.report, run.metrics):
            if path.is_file():
                mlflow.log_artifact(str(path))
        if run.plot("x").parent.is_dir():
            mlflow.log_artifacts(str(run.plot("x").parent), artifact_path="plots")
        if manifest is not None:
            mlflow.log_dict(dict(manifest), "manifest.json")
        if pipeline is not None:
            mlflow.spark.log_model(pipeline, artifact_path="pipeline")
        run_id = str(active.info.run_id)
    log.info("tracking: run logged to %s as %s (experiment %s)", uri, run_id, settings.experiment)
    return run_id
