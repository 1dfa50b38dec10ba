"""Export an H2O deep-learning model, checked against H2O's own predictions.

`export_keras` writes, next to each other:

    <name>.keras          the Keras 3 model (standard layers only)
    <name>.network.npz    the NetworkSpec, for numpy scoring without H2O or Keras
    <name>.check.json     the agreement figures (max |H2O - export| per engine)

`export_network` writes the last two only (no Keras needed). Both refuse to leave a
model behind whose predictions differ from H2O's by more than the tolerance: the
check record is still written, and ExportError names the figure.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sparkling_mnist.errors import ExportError
from sparkling_mnist.export.check import (
    DEFAULT_SAMPLE_ROWS,
    DEFAULT_TOLERANCE,
    AgreementCheck,
    Engine,
    check_agreement,
    h2o_reference,
)
from sparkling_mnist.network.forward import encode, expand_inputs, forward, predict_labels
from sparkling_mnist.network.h2o_reader import read_network
from sparkling_mnist.network.spec import NetworkSpec

log = logging.getLogger(__name__)

KERAS_EXTRA_HINT = "install the Keras extra: pip install 'sparkling-mnist[keras]'"


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote and how closely it reproduces H2O.

    Args:
        spec: the network that was exported.
        check: the agreement figures.
        spec_path: the `.network.npz` file.
        check_path: the `.check.json` file.
        keras_path: the `.keras` file (None for `export_network`).
        notes: what differs from H2O outside inference (fine-tuning details).
        seconds: time the whole export took.
    """

    spec: NetworkSpec
    check: AgreementCheck
    spec_path: Path
    check_path: Path
    keras_path: Path | None = None
    notes: tuple[str, ...] = ()
    seconds: float = 0.0


def sidecar_paths(out_path: Path) -> tuple[Path, Path]:
    """The spec and check files beside an export: `<stem>.network.npz`, `<stem>.check.json`."""
    return out_path.with_name(f"{out_path.stem}.network.npz"), out_path.with_name(f"{out_path.stem}.check.json")


def numpy_engine(spec: NetworkSpec, layer: int | None) -> Engine:
    """The numpy forward pass as an engine for the check (output or deep features)."""
    if layer is None:
        return lambda inputs: forward(spec, inputs)
    return lambda inputs: encode(spec, inputs, layer)


def _labeller(spec: NetworkSpec, layer: int | None) -> Any:
    if spec.is_classifier and layer is None:
        return lambda probabilities: predict_labels(spec, probabilities)
    return None


def _checked(
    model: Any,
    frame: Any,
    spec: NetworkSpec,
    engines: Mapping[str, Engine],
    check_path: Path,
    *,
    layer: int | None,
    tolerance: float,
    sample_rows: int,
) -> AgreementCheck:
    """H2O's own output on `sample_rows` rows of `frame` against the numpy forward pass and
    `engines`; the record written to `check_path` either way.

    Raises:
        ExportError: an engine is further than `tolerance` from H2O.
    """
    reference = h2o_reference(model, spec, frame, layer=layer, sample_rows=sample_rows)
    every = {"numpy": numpy_engine(spec, layer), **engines}
    check = check_agreement(spec, reference, every, tolerance=tolerance, labeller=_labeller(spec, layer))
    check.write(check_path)
    if not check.passed:
        raise ExportError(
            f"model {spec.model_id}: the export does not reproduce H2O: {check.summary()}; nothing exported "
            f"(figures in {check_path})"
        )
    return check


def export_network(
    model: Any,
    frame: Any,
    out_path: str | Path,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    layer: int | None = None,
) -> ExportReport:
    """Export the network for numpy scoring (`NetworkSpec.load` + `network.forward`).

    Args:
        model: a trained H2O deep-learning model (fetched by id or loaded from a file).
        frame: an H2OFrame with the model's input columns, to check on.
        out_path: the `.npz` file to write (e.g. `model.network.npz`); the check
            record goes beside it (`model.check.json`).
        tolerance: the largest absolute difference from H2O that passes.
        sample_rows: how many rows of `frame` to check on.
        layer: check the deep features of this hidden layer instead of the output.

    Raises:
        ExportError: unsupported model, or the check failed.
        ValueError: `out_path` does not end in `.npz`.
    """
    started = time.monotonic()
    spec_path = Path(out_path)
    if spec_path.suffix != ".npz":
        raise ValueError(f"out_path must end in .npz, got {spec_path}")
    check_path = spec_path.with_name(f"{spec_path.name.removesuffix('.npz').removesuffix('.network')}.check.json")
    spec = read_network(model)
    check = _checked(model, frame, spec, {}, check_path, layer=layer, tolerance=tolerance, sample_rows=sample_rows)
    spec.save(spec_path)
    seconds = time.monotonic() - started
    log.info("export: wrote %s in %.1f s", spec_path, seconds)
    return ExportReport(spec=spec, check=check, spec_path=spec_path, check_path=check_path, seconds=seconds)


def export_keras(
    model: Any,
    frame: Any,
    out_path: str | Path,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    layer: int | None = None,
    compile_model: bool = False,
) -> ExportReport:
    """Export an H2O deep-learning model to a Keras 3 `.keras` file, checked.

    The check scores `sample_rows` rows of `frame` with H2O, the numpy forward pass,
    the Keras model, and the Keras model reloaded from the written file; every one
    must be within `tolerance` of H2O (class probabilities, regression prediction,
    autoencoder reconstruction, or deep features when `layer` is given). The Keras
    model computes in float32 (see `keras_model`), so an absolute tolerance of 1e-5
    suits probabilities and features; regression on large values needs a larger one.

    Args:
        model: a trained H2O deep-learning model (fetched by id or loaded from a file).
        frame: an H2OFrame with the model's input columns, to check on.
        out_path: the `.keras` file to write.
        tolerance: the largest absolute difference from H2O that passes (1e-5).
        sample_rows: how many rows of `frame` to check on.
        layer: export the encoder up to this hidden layer (0-based, as H2O's
            `deepfeatures`) instead of the whole model.
        compile_model: save the model compiled for further training (Adam; categorical
            cross-entropy for classifiers, MSE for autoencoders and regressions).

    Returns:
        The report: paths written, the figures, notes for fine-tuning.

    Raises:
        ExportError: unsupported model, the Keras extra is missing, or the check
            failed (then no `.keras` file is left; the check record is written).
        ValueError: `out_path` does not end in `.keras`.
    """
    started = time.monotonic()
    out = Path(out_path)
    if out.suffix != ".keras":
        raise ValueError(f"out_path must end in .keras (Keras 3 native format), got {out}")
    try:
        from sparkling_mnist.export import keras_model
    except ImportError as exc:
        raise ExportError(f"Keras is not available ({exc}); {KERAS_EXTRA_HINT}") from exc

    spec = read_network(model)
    built = keras_model.build_keras_model(spec, layer=layer)
    if compile_model:
        keras_model.compile_for_training(built, spec, layer=layer)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.stem}.{os.getpid()}.tmp.keras")
    built.save(str(staging))
    try:
        reloaded = keras_model.load_keras_model(str(staging))

        def keras_engine(net: Any) -> Engine:
            return lambda inputs: keras_model.keras_predict(net, expand_inputs(spec, inputs))

        engines = {"keras": keras_engine(built), "keras_reloaded": keras_engine(reloaded)}
        spec_path, check_path = sidecar_paths(out)
        check = _checked(
            model, frame, spec, engines, check_path, layer=layer, tolerance=tolerance, sample_rows=sample_rows
        )
        os.replace(staging, out)
    finally:
        staging.unlink(missing_ok=True)
    spec.save(spec_path)
    notes = keras_model.keras_notes(spec)
    for note in notes:
        log.info("export: %s", note)
    seconds = time.monotonic() - started
    log.info("export: wrote %s (%s) in %.1f s", out, check.summary(), seconds)
    return ExportReport(
        spec=spec,
        check=check,
        spec_path=spec_path,
        check_path=check_path,
        keras_path=out,
        notes=notes,
        seconds=seconds,
    )


def score_exported(spec_path: str | Path, data: pd.DataFrame | np.ndarray, layer: int | None = None) -> np.ndarray:
    """Score rows with an exported `.network.npz` (numpy only, no H2O, no Keras)."""
    spec = NetworkSpec.load(spec_path)
    return forward(spec, data) if layer is None else encode(spec, data, layer)
