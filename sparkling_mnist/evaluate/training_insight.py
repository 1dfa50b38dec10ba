"""What a trained model says about its own training, as plain data: cross-validation
(mean and sd across folds), how far training went (epochs or trees reached against the
limit, and whether early stopping ended it), the score history, and variable
importances (with the pixel ones laid out as a 28 x 28 map). Pure: pandas tables in,
dicts and arrays out; `evaluate.h2o_classifier.training_insight` reads them from H2O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sparkling_mnist.schema import PIXELS

SIDE = 28
TOP_IMPORTANCES = 20
CV_METRICS = {"err": "error", "logloss": "logloss"}
"""H2O's cross-validation summary rows we report, and our names for them."""

LIMITS = {"deeplearning": ("epochs", "epochs"), "gbm": ("trees", "ntrees"), "drf": ("trees", "ntrees")}
"""What bounds training, per algorithm: (unit, the parameter holding the limit)."""

PIXEL_COLUMN = re.compile(r"^px(\d+)$")


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return number


def cross_validation_summary(table: pd.DataFrame, nfolds: int) -> dict[str, Any]:
    """Mean and sd of error and logloss across the folds, from H2O's cross-validation
    metrics summary (a first column naming the metric, then `mean`, `sd`, `cv_1_valid`...).

    Returns:
        {"nfolds": k, "error": {"mean", "sd", "folds": [...]}, "logloss": {...}}; a metric
        H2O did not report is left out.
    """
    names = table.iloc[:, 0].astype(str).str.strip()
    folds = [column for column in table.columns if re.fullmatch(r"cv_\d+_valid", str(column))]
    summary: dict[str, Any] = {"nfolds": int(nfolds)}
    for h2o_name, ours in CV_METRICS.items():
        rows = table[names == h2o_name]
        if rows.empty:
            continue
        row = rows.iloc[0]
        summary[ours] = {
            "mean": _number(row["mean"]),
            "sd": _number(row["sd"]),
            "folds": [_number(row[column]) for column in folds],
        }
    return summary


def progress_summary(algorithm: str, params: Mapping[str, Any], history: pd.DataFrame | None) -> dict[str, Any]:
    """How far training went against its limit: epochs for deep learning, trees for
    GBM/DRF (None for the others), and whether early stopping ended it before the limit.

    `params` are the model's actual parameters (limit, stopping_rounds...); `history`
    its score history (the last row's `epochs` or `number_of_trees` is what it reached).
    """
    unit, limit_name = LIMITS.get(algorithm, (None, None))
    rounds = int(params.get("stopping_rounds") or 0)
    stopping = {
        "stopping_rounds": rounds,
        "stopping_metric": str(params.get("stopping_metric") or "AUTO"),
        "stopping_tolerance": _number(params.get("stopping_tolerance")),
    }
    if unit is None or limit_name is None:
        return {"unit": None, **stopping}
    limit = _number(params.get(limit_name))
    column = "epochs" if unit == "epochs" else "number_of_trees"
    reached = float("nan")
    if history is not None and column in history and len(history):
        reached = _number(history[column].iloc[-1])
    # Deep learning's epoch counter lands a little past or short of whole epochs.
    tolerance = 0.01 * limit if unit == "epochs" else 0.0
    stopped_early = rounds > 0 and not math.isnan(reached) and not math.isnan(limit) and reached < limit - tolerance
    return {"unit": unit, "limit": limit, "reached": reached, "stopped_early": bool(stopped_early), **stopping}


HISTORY_METRICS = ("classification_error", "logloss")


def history_table(raw: pd.DataFrame) -> pd.DataFrame:
    """A classifier's score history as one table: the x axis (`epochs` or
    `number_of_trees`) and training/validation error and logloss where H2O has them."""
    x = "epochs" if "epochs" in raw else "number_of_trees" if "number_of_trees" in raw else None
    table = pd.DataFrame({"step": raw[x].map(_number) if x else np.arange(1, len(raw) + 1, dtype=float)})
    table.attrs["x"] = x or "scoring event"
    for part in ("training", "validation"):
        for metric in HISTORY_METRICS:
            column = f"{part}_{metric}"
            if column in raw:
                table[column] = raw[column].map(_number)
    return table


def importance_rows(variables: Sequence[str], relative: Sequence[float]) -> list[dict[str, Any]]:
    """Importances sorted highest first, each with its share of the total (percent)."""
    values = np.asarray(relative, dtype=np.float64)
    total = float(values.sum()) if len(values) else 0.0
    order = np.argsort(-values, kind="stable")
    peak = float(values[order[0]]) if len(values) else 0.0
    return [
        {
            "variable": str(variables[i]),
            "relative_importance": float(values[i]),
            "scaled_importance": float(values[i] / peak) if peak > 0 else 0.0,
            "percentage": float(100 * values[i] / total) if total > 0 else 0.0,
        }
        for i in order
    ]


def pixel_importance_grid(importances: Sequence[Mapping[str, Any]]) -> np.ndarray | None:
    """The scaled importances of pixel columns (`px0`..`px783`) as a 28 x 28 map (0 for
    pixels the model dropped, e.g. constant ones); None when no column is a pixel."""
    grid = np.zeros(PIXELS, dtype=np.float64)
    found = False
    for row in importances:
        match = PIXEL_COLUMN.match(str(row["variable"]))
        if match and int(match.group(1)) < PIXELS:
            grid[int(match.group(1))] = float(row["scaled_importance"])
            found = True
    return grid.reshape(SIDE, SIDE) if found else None
