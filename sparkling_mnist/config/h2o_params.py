"""H2O estimator parameters from the config, checked against the estimator's real ones."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any

from sparkling_mnist.errors import H2OParameterError

# Set by the stage that trains the model, never from the config.
RESERVED = frozenset({"training_frame", "validation_frame", "response_column", "ignored_columns", "model_id"})


def estimator_parameters(estimator_cls: type) -> list[str]:
    """The parameter names the H2O estimator class accepts, from its constructor."""
    signature = inspect.signature(estimator_cls)
    return sorted(
        name
        for name, param in signature.parameters.items()
        if name != "self" and param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL)
    )


def check_parameters(estimator_cls: type, params: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Return the params unchanged when every name is a parameter of the estimator.

    Args:
        estimator_cls: e.g. `h2o.estimators.H2ODeepLearningEstimator`.
        params: parameter names and values from the config.
        where: the config key path of the mapping, for messages.

    Raises:
        H2OParameterError: an unknown or reserved name; the message names the key
            path, the closest known names and where the full list comes from.
    """
    known = estimator_parameters(estimator_cls)
    problems = []
    for name in params:
        if name in RESERVED:
            problems.append(f"{where}.{name}: set by the job itself, remove it from the config")
        elif name not in known:
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"known names: {', '.join(known)}"
            problems.append(f"{where}.{name}: not a parameter of {estimator_cls.__name__} ({hint})")
    if problems:
        raise H2OParameterError("\n".join(problems))
    return dict(params)
