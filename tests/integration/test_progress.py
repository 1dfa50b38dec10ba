"""Progress of a real H2O job, read from H2O's REST API while it trains."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from sparkling_mnist.runtime.progress import H2OProgress
from sparkling_mnist.runtime.session import SparkH2OSession


def test_a_training_job_reports_progress_and_time_left(
    jvm_session: SparkH2OSession, caplog: pytest.LogCaptureFixture
) -> None:
    import h2o
    from h2o.estimators import H2ODeepLearningEstimator

    _ = jvm_session.h2o
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.normal(size=(2000, 40)), columns=[f"x{i}" for i in range(40)])
    data["y"] = (data["x0"] > 0).astype(int).astype(str)
    frame = h2o.H2OFrame(data)
    frame["y"] = frame["y"].asfactor()
    # Polled often, on a job long enough to be seen running on a JVM already warmed up by
    # the rest of the suite (6 epochs there took under a poll interval: no line at all).
    watcher = H2OProgress(0.2, min_seconds=0.2)
    with caplog.at_level(logging.INFO, logger="sparkling_mnist.runtime.progress"):
        watcher.start()
        try:
            model = H2ODeepLearningEstimator(
                model_id="progress_test", hidden=[64, 64], epochs=40, seed=1, reproducible=True
            )
            model.train(y="y", training_frame=frame)
        finally:
            watcher.stop()
    lines = [record.getMessage() for record in caplog.records]
    assert any(line.startswith("h2o: ") and "progress_test" in line and "left" in line for line in lines), lines
    h2o.remove([model, frame])
