"""The detectors in H2O: the isolation forest (checked parameters, training, its
anomaly score per row) and an autoencoder's reconstruction error (H2O's `anomaly`).
A thin layer over the `h2o` API (imported on use).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sparkling_mnist.config.h2o_params import check_parameters, estimator_parameters

log = logging.getLogger(__name__)

WHERE = "ood.params"


def isolation_forest_class() -> type:
    """`h2o.estimators.H2OIsolationForestEstimator`."""
    from h2o.estimators import H2OIsolationForestEstimator

    cls: type = H2OIsolationForestEstimator
    return cls


def isolation_forest_parameters(params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The isolation forest's checked parameters, the run seed filled in unless given.

    Raises:
        H2OParameterError: a name that is not a parameter of the estimator, naming
            `ood.params.<name>` and the closest known names.
    """
    cls = isolation_forest_class()
    checked = check_parameters(cls, params, WHERE)
    if "seed" in estimator_parameters(cls):
        checked.setdefault("seed", seed)
    return checked


def train_isolation_forest(frame: Any, columns: Sequence[str], params: Mapping[str, Any], model_id: str) -> Any:
    """An isolation forest on `columns` of `frame` (unsupervised: no response)."""
    started = time.monotonic()
    model = isolation_forest_class()(model_id=model_id, **params)
    model.train(x=list(columns), training_frame=frame)
    log.info(
        "ood: isolation forest %s on %d rows x %d columns in %.1f s",
        model_id,
        frame.nrows,
        len(columns),
        time.monotonic() - started,
    )
    return model


def anomaly_scores(model: Any, frame: Any) -> np.ndarray:
    """The isolation forest's anomaly score of every row (H2O's `predict` column: the
    mean path length normalized to [0, 1] by the training's; higher is more anomalous)."""
    predicted = model.predict(frame)
    return np.asarray(
        predicted["predict"].as_data_frame(use_multi_thread=False).iloc[:, 0].to_numpy(np.float64), dtype=np.float64
    )


def upload_table(table: pd.DataFrame) -> Any:
    """A small numeric pandas table (the mixed set's features) as an H2OFrame."""
    import h2o

    return h2o.H2OFrame(table, column_names=list(table.columns))


def reconstruction_errors(autoencoder: Any, frame: Any) -> np.ndarray:
    """An autoencoder's reconstruction error of every row (H2O's `anomaly`: the mean
    squared error over its scaled input units; `network.forward.reconstruction_error`
    computes the same without H2O)."""
    errors = autoencoder.anomaly(frame)
    return np.asarray(errors.as_data_frame(use_multi_thread=False).iloc[:, 0].to_numpy(np.float64), dtype=np.float64)
