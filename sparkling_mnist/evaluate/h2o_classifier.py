"""An H2O classifier's class probabilities as numpy, its metrics on a frame with a
`label`, and what it says about its own training (cross-validation, early stopping,
score history, importances): the thin H2O layer every stage that evaluates a
classifier shares.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sparkling_mnist.errors import InputDataError, TeamError
from sparkling_mnist.evaluate import training_insight as insight
from sparkling_mnist.evaluate.charts import classifier_history_chart, importance_map_chart
from sparkling_mnist.evaluate.classification import classification_summary, multiclass_logloss
from sparkling_mnist.rundir import RunDir, committed

log = logging.getLogger(__name__)


def response_classes(model: Any) -> list[str]:
    """The class labels a classifier predicts, in H2O's domain order."""
    domain = model._model_json["output"]["domains"][-1]
    if not domain:
        raise TeamError(f"model {model.model_id} is not a classifier (its response has no classes)")
    return [str(level) for level in domain]


def predict_probabilities(model: Any, frame: Any, classes: Sequence[str]) -> np.ndarray:
    """Class probabilities of every row of `frame`, shape (rows, classes), columns in
    `classes` order; the `predict` column is dropped."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # h2o: single-threaded conversion of a small frame
        predicted = model.predict(frame).as_data_frame(use_multi_thread=False)
    columns = []
    for level in classes:
        name = level if level in predicted.columns else f"p{level}"
        if name not in predicted.columns:
            raise TeamError(f"model {model.model_id}: no probability column for class {level} in {list(predicted)}")
        columns.append(name)
    return np.asarray(predicted[columns].to_numpy(dtype=np.float64))


def evaluate_h2o_classifier(model: Any, frame: Any) -> dict[str, Any]:
    """Error, logloss and confusion matrix of an H2O classifier on a frame with `label`,
    from one scoring pass (the predicted class is the most probable one, as H2O's)."""
    classes = sorted(response_classes(model), key=int)
    probabilities = predict_probabilities(model, frame, classes)
    with warnings.catch_warnings():
        # h2o warns that it converts single-threaded; this is one small column.
        warnings.simplefilter("ignore")
        labels = frame["label"].as_data_frame(use_multi_thread=False)
    levels = np.array([int(level) for level in classes])
    truth = labels["label"].astype(int).to_numpy()
    index = np.searchsorted(levels, truth)
    if np.any(index >= len(levels)) or np.any(levels[index.clip(0, len(levels) - 1)] != truth):
        raise InputDataError(f"model {model.model_id}: labels outside its classes {classes}")
    predicted = levels[np.argmax(probabilities, axis=1)]
    logloss = multiclass_logloss(probabilities, index)
    return classification_summary(np.asarray(truth), np.asarray(predicted), logloss)


@dataclass
class TrainingInsight:
    """What a trained classifier says about its training (see `evaluate.training_insight`)."""

    summary: dict[str, Any]
    """cross_validation (or None), progress, importances (top ones; None when the algorithm has none)."""
    history: pd.DataFrame | None
    """The score history (`training_insight.history_table`), None when H2O kept none."""
    pixel_grid: np.ndarray | None
    """Scaled importances of the pixel inputs as a 28 x 28 map, None when no input is a pixel."""


def training_insight(model: Any, algorithm: str, torch_history: pd.DataFrame | None = None) -> TrainingInsight:
    """Cross-validation, progress against the limit (early stopping), score history and
    variable importances of an H2O classifier (trained, or loaded from a file: H2O keeps
    all of them in the model). `torch_history`: the torch trainer's epochs, for a network
    whose weights torch learnt (its H2O model was built, not trained)."""
    params = dict(model.actual_params)
    cross_validation = None
    nfolds = int(params.get("nfolds") or 0)
    if nfolds >= 2:
        table = model.cross_validation_metrics_summary().as_data_frame()
        cross_validation = insight.cross_validation_summary(table, nfolds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = torch_history if torch_history is not None else model.scoring_history()
    history = insight.history_table(raw) if isinstance(raw, pd.DataFrame) and len(raw) else None
    progress = insight.progress_summary(algorithm, params, raw if isinstance(raw, pd.DataFrame) else None)
    importances = _importances(model)
    grid = insight.pixel_importance_grid(importances) if importances else None
    top = importances[: insight.TOP_IMPORTANCES] if importances is not None else None
    summary = {"cross_validation": cross_validation, "progress": progress, "importances": top}
    return TrainingInsight(summary, history, grid)


def _importances(model: Any) -> list[dict[str, Any]] | None:
    """Every input's importance (H2O's: Gedeon's method for deep learning, split gains
    for trees, coefficient magnitudes for GLM), or None when the model has none."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # "This model doesn't have variable importances"
        table = model.varimp(use_pandas=True)
    if table is None or len(table) == 0:
        return None
    return insight.importance_rows(table["variable"].astype(str).tolist(), table["relative_importance"].tolist())


def record_training_insight(
    model: Any, algorithm: str, name: str, run: RunDir, torch_record: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`training_insight` of a classifier, its score history written beside the run
    (`training/<name>.csv`, `plots/history_<name>.png`) and, for a model on pixels, its
    importance map (`plots/importance_<name>.png`). Returns the summary for metrics.json."""
    torch_history = pd.DataFrame(torch_record["history"]) if torch_record and torch_record.get("history") else None
    found = training_insight(model, algorithm, torch_history)
    summary = dict(found.summary)
    if found.history is not None:
        with committed(run.root / "training" / f"{name}.csv") as tmp:
            found.history.to_csv(tmp, index=False)
        chart = classifier_history_chart(found.history, f"{name}: score history", run.plot(f"history_{name}.png"))
        summary["history_plot"] = chart.name
    if found.pixel_grid is not None:
        chart = importance_map_chart(found.pixel_grid, f"{name}: pixel importances", run.plot(f"importance_{name}.png"))
        summary["importance_plot"] = chart.name
    progress = summary["progress"]
    if progress.get("stopped_early"):
        log.info(
            "%s: early stopping ended training at %.4g of %.4g %s (%s did not improve by %g for %d scoring rounds)",
            name,
            progress["reached"],
            progress["limit"],
            progress["unit"],
            progress["stopping_metric"],
            progress["stopping_tolerance"],
            progress["stopping_rounds"],
        )
    return summary
