"""The base of every config section, and the checks several sections share."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
)


def check_names(names: list[str], key: str) -> None:
    """At least one name, and no name twice.

    Raises:
        ValueError: naming `key` and the repeated names.
    """
    if not names:
        raise ValueError(f"{key}: at least one is needed")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{key}: names must be unique, repeated: {repeated}")


class Section(BaseModel):
    """Base of every config section: frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
