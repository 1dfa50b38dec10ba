"""Loading a job config: YAML file, `--set key.path=value` overrides applied to the raw
mapping before validation (so they are checked exactly like the file), and error
messages that list every invalid or unknown key by its path.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_type_hints

import yaml
from pydantic import ValidationError

from sparkling_mnist.config.data import CsvSource, FashionMnistSource, IdxSource, MlxtendSource, ParquetSource
from sparkling_mnist.config.settings import JobConfig
from sparkling_mnist.errors import ConfigError


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


def _key_path(loc: Sequence[str | int]) -> str:
    """`('augment', 'effects', 2)` -> `augment.effects[2]`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        loc = _key_path(err["loc"])
        # Pydantic reports an unknown key of a model as extra_forbidden and of a
        # dataclass (the effect settings) as an unexpected keyword argument.
        if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            known = _known_keys(err["loc"][:-1])
            lines.append(f"  {loc}: unknown key (known keys here: {', '.join(known)})")
            continue
        got = err.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        message = err["msg"].removeprefix("Value error, ")
        lines.append(f"  {loc}: {message}{shown}")
    return "\n".join(lines)


def _known_keys(loc: Sequence[Any]) -> list[str]:
    """The field names of the section at `loc`, for 'unknown key' messages."""
    model: Any = JobConfig
    for part in loc:
        if dataclasses.is_dataclass(model) and isinstance(part, str):
            model = get_type_hints(model).get(part)
            continue
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
    if dataclasses.is_dataclass(model):
        return sorted(field.name for field in dataclasses.fields(model))
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


SHIPPED_PACKAGE = "sparkling_mnist"
SHIPPED_FOLDER = "configs"  # the repository's conf/, installed with the package


def shipped_configs() -> dict[str, Path]:
    """The configs that travel with the package (`conf/*.yaml` in the repository), by name."""
    folder = Path(str(resources.files(SHIPPED_PACKAGE).joinpath(SHIPPED_FOLDER)))
    return {path.stem: path for path in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def config_file(name_or_path: str | Path) -> Path:
    """The config file `--config` names: a path to a YAML file, or the name of a shipped
    config (`local`, `bench-fashion`; also `conf/local.yaml` when run from a folder that
    has no `conf/`).

    Raises:
        ConfigError: neither a file nor a shipped config (lists the shipped ones).
    """
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    shipped = shipped_configs()
    name = path.stem if path.suffix in (".yaml", ".yml") and path.parent.name in ("conf", "") else str(name_or_path)
    if name in shipped:
        return shipped[name]
    raise ConfigError(
        f"config file {name_or_path} not found, and it is not a shipped config "
        f"({', '.join(shipped) or 'none installed'}); pass --config PATH or --config NAME"
    )


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> JobConfig:
    """Load a YAML config (a path or a shipped config's name), apply `--set` overrides,
    validate.

    Raises:
        ConfigError: missing or unreadable file, invalid YAML, invalid keys or values.
    """
    file = config_file(path)
    try:
        raw = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {file} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {file}: expected a mapping at the top level, got {type(raw).__name__}")
    return validate_config(apply_overrides(raw, overrides), source=str(file))
