"""The agreement check: score the same rows with H2O and with an exported model, and
measure the largest absolute difference.

What is compared: class probabilities (classifiers), the prediction (regression), the
reconstruction (autoencoders) or the deep features of one hidden layer (encoders).
The figures are stored beside the exported model as JSON, passed or not.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sparkling_mnist.errors import ExportError
from sparkling_mnist.network.spec import NetworkSpec
from sparkling_mnist.rundir import write_json_atomic

log = logging.getLogger(__name__)

DEFAULT_TOLERANCE = 1e-5
DEFAULT_SAMPLE_ROWS = 200

Engine = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True, eq=False)
class ReferenceSample:
    """Rows scored by H2O: the inputs as a DataFrame and H2O's outputs.

    Args:
        inputs: the sampled rows as pandas (every column of the frame).
        outputs: H2O's numbers for them, (rows x outputs).
        labels: H2O's predicted labels (classifiers), else None.
        target: what the outputs are, in words.
    """

    inputs: pd.DataFrame
    outputs: np.ndarray
    labels: np.ndarray | None
    target: str


@dataclass(frozen=True)
class AgreementCheck:
    """The largest absolute difference between H2O and each exported engine.

    `max_abs_diff` maps an engine name (`numpy`, `keras`, `keras_reloaded`) to its
    figure; `label_mismatches` counts rows whose predicted class differs (classifiers,
    informational: the tolerance applies to the probabilities).
    """

    model_id: str
    target: str
    rows: int
    tolerance: float
    max_abs_diff: Mapping[str, float]
    label_mismatches: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether every engine is within the tolerance."""
        return all(diff <= self.tolerance for diff in self.max_abs_diff.values())

    @property
    def worst(self) -> float:
        """The largest difference over all engines."""
        return max(self.max_abs_diff.values(), default=0.0)

    def to_json(self) -> dict[str, Any]:
        """The record stored beside the model."""
        return {
            "model_id": self.model_id,
            "compared": self.target,
            "rows": self.rows,
            "tolerance": self.tolerance,
            "max_abs_diff": dict(self.max_abs_diff),
            "label_mismatches": dict(self.label_mismatches),
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        """One line for logs and errors."""
        figures = ", ".join(f"{engine} {diff:.3g}" for engine, diff in self.max_abs_diff.items())
        return f"{self.target} on {self.rows} rows, max |H2O - export|: {figures} (tolerance {self.tolerance:g})"

    def write(self, path: Path) -> Path:
        """Write the JSON record to `path` (atomically)."""
        write_json_atomic(path, self.to_json())
        return path


def _as_pandas(frame: Any) -> pd.DataFrame:
    with warnings.catch_warnings():
        # h2o warns that it converts single-threaded; a sample is small.
        warnings.simplefilter("ignore")
        table: pd.DataFrame = frame.as_data_frame(use_multi_thread=False)
    return table


def h2o_reference(
    model: Any, spec: NetworkSpec, frame: Any, *, layer: int | None = None, sample_rows: int = DEFAULT_SAMPLE_ROWS
) -> ReferenceSample:
    """Score the first `sample_rows` rows of `frame` with H2O itself.

    Args:
        model: the H2O model `spec` was read from.
        spec: its network spec.
        frame: an H2OFrame with (at least) the model's input columns.
        layer: compare the deep features of this hidden layer (0-based) instead of
            the model's output.
        sample_rows: how many rows to score (fewer if the frame is shorter).

    Raises:
        ExportError: the frame lacks input columns, or has no rows.
    """
    if sample_rows < 1:
        raise ValueError(f"sample_rows must be at least 1, got {sample_rows}")
    missing = [name for name in spec.input_columns if name not in frame.columns]
    if missing:
        raise ExportError(
            f"model {spec.model_id}: the check frame lacks {len(missing)} input column(s): {', '.join(missing[:5])}"
        )
    rows = min(sample_rows, frame.nrows)
    if rows == 0:
        raise ExportError(f"model {spec.model_id}: the check frame has no rows")
    sample = frame[:rows, :]
    labels = None
    if layer is not None:
        spec.check_layer_index(layer)
        outputs = _as_pandas(model.deepfeatures(sample, layer)).to_numpy(dtype=np.float64)
        target = f"deep features of hidden layer {layer}"
    else:
        predicted = _as_pandas(model.predict(sample))
        if spec.is_classifier:
            labels = predicted.iloc[:, 0].astype(str).to_numpy()
            outputs = predicted.iloc[:, 1:].to_numpy(dtype=np.float64)
            target = "class probabilities"
        else:
            outputs = predicted.to_numpy(dtype=np.float64)
            target = "reconstruction" if spec.is_autoencoder else "prediction"
    return ReferenceSample(inputs=_as_pandas(sample), outputs=outputs, labels=labels, target=target)


def max_abs_difference(expected: np.ndarray, actual: np.ndarray) -> float:
    """The largest |expected - actual|; infinite when either has a NaN where the other does not.

    Raises:
        ExportError: the shapes differ (the export computes something else).
    """
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if expected.shape != actual.shape:
        raise ExportError(f"exported model output has shape {actual.shape}, H2O's has {expected.shape}")
    if expected.size == 0:
        return 0.0
    both_nan = np.isnan(expected) & np.isnan(actual)
    diff = np.where(both_nan, 0.0, np.abs(expected - actual))
    return float(np.nan_to_num(diff, nan=np.inf).max())


def check_agreement(
    spec: NetworkSpec,
    reference: ReferenceSample,
    engines: Mapping[str, Engine],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    labeller: Callable[[np.ndarray], np.ndarray] | None = None,
) -> AgreementCheck:
    """Score the reference rows with each engine and measure the differences.

    Args:
        spec: the exported network.
        reference: rows with H2O's outputs (`h2o_reference`).
        engines: name -> function from the input DataFrame to outputs shaped like H2O's.
        tolerance: the largest absolute difference that passes.
        labeller: probabilities -> labels, to count label mismatches (classifiers).
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    started = time.monotonic()
    diffs: dict[str, float] = {}
    mismatches: dict[str, int] = {}
    for name, engine in engines.items():
        outputs = engine(reference.inputs)
        diffs[name] = max_abs_difference(reference.outputs, outputs)
        if labeller is not None and reference.labels is not None:
            mismatches[name] = int(np.sum(labeller(outputs).astype(str) != reference.labels))
    check = AgreementCheck(
        model_id=spec.model_id,
        target=reference.target,
        rows=len(reference.inputs),
        tolerance=tolerance,
        max_abs_diff=diffs,
        label_mismatches=mismatches,
        seconds=time.monotonic() - started,
    )
    log.info("export check %s: %s", "passed" if check.passed else "FAILED", check.summary())
    return check
