"""The numpy forward pass of exported H2O networks, on hand-made specs with known answers.

Each expected value is computed by hand (or by the formula H2O's Neurons.java uses),
not by the code under test.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sparkling_mnist.cli.export import add_export_parser, resolve_model_ref
from sparkling_mnist.errors import ExportError
from sparkling_mnist.export.check import AgreementCheck, ReferenceSample, check_agreement, max_abs_difference
from sparkling_mnist.network.forward import (
    encode,
    expand_inputs,
    forward,
    layer_forward,
    one_hot_block,
    predict_labels,
    reconstruction_error,
    scale_inputs,
)
from sparkling_mnist.network.h2o_reader import mojo_array, parse_mojo_info
from sparkling_mnist.network.spec import CategoricalInput, Layer, NetworkSpec
from sparkling_mnist.rundir import RunDir

IDENTITY2 = np.eye(2)


def make_spec(layers: tuple[Layer, ...], **overrides: Any) -> NetworkSpec:
    """A two-input numeric network; overrides replace any field."""
    fields: dict[str, Any] = {
        "model_id": "hand_made",
        "category": "Regression",
        "activation": "Rectifier",
        "categorical_inputs": (),
        "numeric_inputs": ("a", "b"),
        "use_all_factor_levels": True,
        "norm_sub": None,
        "norm_mul": None,
        "layers": layers,
    }
    fields.update(overrides)
    return NetworkSpec(**fields)


def linear_output(inputs: int) -> Layer:
    """A regression output that sums its inputs."""
    return Layer("linear", np.ones((1, inputs)), np.zeros(1))


# --- layers ---------------------------------------------------------------------------


def test_relu_layer_known_answer() -> None:
    layer = Layer("relu", np.array([[1.0, -1.0], [2.0, 0.5]]), np.array([0.5, -4.0]))
    x = np.array([[3.0, 1.0], [0.0, 2.0]])
    # row 0: [3 - 1 + 0.5, 6 + 0.5 - 4] = [2.5, 2.5]; row 1: [-2 + 0.5, 1 - 4] -> relu -> [0, 0]
    np.testing.assert_array_equal(layer_forward(layer, x), [[2.5, 2.5], [0.0, 0.0]])


def test_tanh_is_h2o_formula_and_saturates_without_nan() -> None:
    layer = Layer("tanh", IDENTITY2, np.zeros(2))
    x = np.array([[0.3, -1.7], [500.0, -500.0]])
    out = layer_forward(layer, x)
    np.testing.assert_allclose(out[0], np.tanh(x[0]), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(out[1], [1.0, -1.0])


def test_elu_matches_h2o_exp_rectifier() -> None:
    layer = Layer("elu", IDENTITY2, np.zeros(2))
    out = layer_forward(layer, np.array([[-2.0, 3.0]]))
    np.testing.assert_array_equal(out, [[math.exp(-2.0) - 1.0, 3.0]])


def test_maxout_takes_the_larger_channel() -> None:
    # unit 0: channel 0 = x0, channel 1 = x1; unit 1: channel 0 = -x0 + 1, channel 1 = -x1
    weights = np.zeros((2, 2, 2))
    weights[0, 0, 0] = weights[0, 1, 1] = 1.0
    weights[1, 0, 0] = weights[1, 1, 1] = -1.0
    biases = np.array([[0.0, 0.0], [1.0, 0.0]])
    out = layer_forward(Layer("maxout", weights, biases), np.array([[2.0, 5.0], [4.0, -3.0]]))
    np.testing.assert_array_equal(out, [[5.0, -1.0], [4.0, 3.0]])


@pytest.mark.parametrize("activation", ["relu", "tanh", "elu"])
def test_dropout_layers_scale_by_keep_ratio_at_inference(activation: Any) -> None:
    # H2O's ...WithDropout neurons zero units without rescaling while training and
    # multiply by (1 - ratio) when scoring (Neurons.java, RectifierDropout.fprop).
    weights, biases = np.array([[0.7, -0.2], [0.1, 0.4]]), np.array([0.05, -0.3])
    x = np.array([[1.5, 2.0], [-1.0, 0.25]])
    plain = layer_forward(Layer(activation, weights, biases), x)
    dropped = layer_forward(Layer(activation, weights, biases, dropout=0.3), x)
    np.testing.assert_allclose(dropped, plain * 0.7, rtol=0, atol=1e-16)


def test_softmax_output_sums_to_one_and_handles_large_logits() -> None:
    layer = Layer("softmax", np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), np.zeros(3))
    out = layer_forward(layer, np.array([[1000.0, 999.0], [0.0, 0.0]]))
    expected_row0 = np.array([1.0, math.exp(-1.0), 0.0]) / (1.0 + math.exp(-1.0))
    np.testing.assert_allclose(out[0], expected_row0, atol=1e-15)
    np.testing.assert_allclose(out[1], [1 / 3, 1 / 3, 1 / 3], atol=1e-15)


# --- inputs ---------------------------------------------------------------------------


def test_numeric_standardization_and_missing_values() -> None:
    spec = make_spec((linear_output(2),), norm_sub=np.array([1.0, 10.0]), norm_mul=np.array([2.0, 0.5]))
    data = pd.DataFrame({"b": [14.0, np.nan], "a": [2.0, None], "ignored": ["x", "y"]})
    expanded = expand_inputs(spec, data)
    # a missing numeric becomes the training mean, i.e. 0 after scaling
    np.testing.assert_array_equal(expanded, [[2.0, 14.0], [1.0, 10.0]])
    np.testing.assert_array_equal(scale_inputs(spec, expanded), [[2.0, 2.0], [0.0, 0.0]])
    np.testing.assert_array_equal(forward(spec, data), [[4.0], [0.0]])


def test_without_standardization_missing_numerics_are_zero() -> None:
    spec = make_spec((linear_output(2),))
    np.testing.assert_array_equal(forward(spec, np.array([[3.0, np.nan]])), [[3.0]])


def test_one_hot_with_all_levels_na_and_unseen() -> None:
    column = CategoricalInput("color", ("red", "green", "blue"))
    block = one_hot_block(["green", None, "purple", "red", float("nan")], column, use_all_factor_levels=True)
    np.testing.assert_array_equal(
        block,
        [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1]],
    )
    assert column.expanded_names(True) == ("color.red", "color.green", "color.blue", "color.missing(NA)")


def test_one_hot_without_first_level() -> None:
    column = CategoricalInput("color", ("red", "green", "blue"))
    block = one_hot_block(["red", "blue", None], column, use_all_factor_levels=False)
    # the first level has no unit: all zeros
    np.testing.assert_array_equal(block, [[0, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert column.expanded_names(False) == ("color.green", "color.blue", "color.missing(NA)")


def test_numeric_looking_levels_read_back_as_numbers() -> None:
    column = CategoricalInput("digit", ("0", "1", "7"))
    block = one_hot_block([7.0, 1, np.int64(0), "7"], column, use_all_factor_levels=True)
    np.testing.assert_array_equal(block.argmax(axis=1), [2, 1, 0, 2])


def test_categoricals_come_first_in_the_expanded_inputs() -> None:
    spec = make_spec(
        (linear_output(3),),
        categorical_inputs=(CategoricalInput("flag", ("no", "yes")),),
        numeric_inputs=("a",),
        norm_sub=np.array([1.0]),
        norm_mul=np.array([3.0]),
        use_all_factor_levels=False,
    )
    # units: flag.yes, flag.missing(NA), a
    assert spec.expanded_input_names == ("flag.yes", "flag.missing(NA)", "a")
    data = pd.DataFrame({"a": [2.0, 2.0, 2.0], "flag": ["yes", "no", None]})
    np.testing.assert_array_equal(expand_inputs(spec, data), [[1, 0, 2], [0, 0, 2], [0, 1, 2]])
    # sum of units after scaling: one-hot units unchanged, (2 - 1) * 3 = 3 for a
    np.testing.assert_array_equal(forward(spec, data)[:, 0], [4.0, 3.0, 4.0])


def test_input_errors_name_the_problem() -> None:
    spec = make_spec((linear_output(2),))
    with pytest.raises(ValueError, match="needs columns missing from the data: b"):
        expand_inputs(spec, pd.DataFrame({"a": [1.0]}))
    with pytest.raises(ValueError, match=r"takes 2 numeric columns \(a, b\); got an array of shape \(3,\)"):
        expand_inputs(spec, np.zeros(3))
    categorical = make_spec(
        (linear_output(3),), categorical_inputs=(CategoricalInput("c", ("x", "y")),), numeric_inputs=()
    )
    with pytest.raises(ValueError, match="has categorical inputs: pass a pandas DataFrame"):
        expand_inputs(categorical, np.zeros((1, 1)))


# --- outputs --------------------------------------------------------------------------


def test_regression_destandardizes_then_applies_the_link() -> None:
    out = Layer("linear", np.array([[1.0, 0.0]]), np.array([0.5]))
    gaussian = make_spec((out,), response_sub=10.0, response_mul=0.25)
    # (x0 + 0.5) / 0.25 + 10
    np.testing.assert_array_equal(forward(gaussian, np.array([[1.5, 9.0]])), [[18.0]])
    poisson = make_spec((out,), response_link="log")
    np.testing.assert_allclose(forward(poisson, np.array([[1.5, 0.0], [100.0, 0.0]])), [[math.exp(2.0)], [1e19]])


def _constant_autoencoder() -> NetworkSpec:
    """A 2-1-2 autoencoder that outputs (tanh 0.5, -tanh 0.5) in its scaled units."""
    return make_spec(
        (Layer("tanh", np.zeros((1, 2)), np.zeros(1)), Layer("tanh", np.zeros((2, 1)), np.array([0.5, -0.5]))),
        category="AutoEncoder",
        activation="Tanh",
        norm_sub=np.array([1.0, 2.0]),
        norm_mul=np.array([0.5, 4.0]),
    )


def test_autoencoder_reconstruction_is_unscaled() -> None:
    spec = _constant_autoencoder()
    t = math.tanh(0.5)
    np.testing.assert_allclose(forward(spec, np.zeros((1, 2))), [[t / 0.5 + 1.0, -t / 4.0 + 2.0]], atol=1e-15)


def test_reconstruction_error_is_h2os_anomaly_in_the_scaled_units() -> None:
    spec = _constant_autoencoder()
    t = math.tanh(0.5)
    # Inputs (0, 0) scale to (-0.5, -8); the network outputs (t, -t) in those units.
    expected = ((t + 0.5) ** 2 + (-t + 8.0) ** 2) / 2
    np.testing.assert_allclose(reconstruction_error(spec, np.zeros((2, 2))), [expected, expected], rtol=1e-15)
    with pytest.raises(ValueError, match="not an autoencoder"):
        reconstruction_error(make_spec((linear_output(2),)), np.zeros((1, 2)))


def test_encode_stops_at_the_hidden_layer_with_its_dropout_scale() -> None:
    first = Layer("relu", np.array([[1.0, 1.0]]), np.array([0.0]), dropout=0.5)
    second = Layer("relu", np.array([[2.0]]), np.array([1.0]))
    spec = make_spec((first, second, linear_output(1)))
    x = np.array([[3.0, 1.0]])
    np.testing.assert_array_equal(encode(spec, x, 0), [[2.0]])  # (3 + 1) * 0.5
    np.testing.assert_array_equal(encode(spec, x, 1), [[5.0]])  # 2 * 2 + 1
    with pytest.raises(ExportError, match="hidden layer 2 does not exist; it has 2 hidden layer"):
        encode(spec, x, 2)


def test_predict_labels_follows_h2o_rules() -> None:
    out = Layer("softmax", np.zeros((2, 2)), np.zeros(2))
    binomial = make_spec((out,), category="Binomial", class_labels=("no", "yes"), default_threshold=0.3)
    probabilities = np.array([[0.65, 0.35], [0.75, 0.25], [0.7, 0.3]])
    assert list(predict_labels(binomial, probabilities)) == ["yes", "no", "yes"]  # p >= threshold
    three = make_spec(
        (Layer("softmax", np.zeros((3, 2)), np.zeros(3)),), category="Multinomial", class_labels=("a", "b", "c")
    )
    assert list(predict_labels(three, np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]))) == ["b", "a"]
    with pytest.raises(ValueError, match="not a classifier"):
        predict_labels(make_spec((linear_output(2),)), probabilities)


# --- the spec -------------------------------------------------------------------------


def test_spec_validation_errors() -> None:
    with pytest.raises(ExportError, match="layer 1 takes 3 inputs, the layer below has 2"):
        make_spec((linear_output(3),))
    with pytest.raises(ExportError, match="a classifier needs a softmax output"):
        make_spec((linear_output(2),), category="Multinomial", class_labels=("a",))
    with pytest.raises(ExportError, match="a binomial model needs 2 classes and a default threshold"):
        make_spec((Layer("softmax", np.zeros((2, 2)), np.zeros(2)),), category="Binomial", class_labels=("n", "y"))
    with pytest.raises(ExportError, match="must reconstruct its 2 inputs"):
        make_spec((Layer("tanh", np.zeros((3, 2)), np.zeros(3)),), category="AutoEncoder")
    with pytest.raises(ExportError, match="norm_sub has 1 values for 2 numeric inputs"):
        make_spec((linear_output(2),), norm_sub=np.zeros(1), norm_mul=np.ones(1))
    with pytest.raises(ExportError, match="contains NaN"):
        Layer("relu", np.array([[np.nan]]), np.zeros(1))
    with pytest.raises(ExportError, match="dropout ratio must be in"):
        Layer("relu", np.ones((1, 1)), np.zeros(1), dropout=1.0)
    with pytest.raises(ExportError, match="maxout layer: expected 2 channels"):
        Layer("maxout", np.ones((1, 1, 3)), np.zeros((1, 3)))
    with pytest.raises(ExportError, match="unsupported activation 'sigmoid'"):
        Layer("sigmoid", np.ones((1, 1)), np.zeros(1))  # type: ignore[arg-type]


def test_spec_parameters_are_read_only_copies() -> None:
    weights = np.ones((1, 2))
    layer = Layer("linear", weights, np.zeros(1))
    weights[0, 0] = 5.0
    assert layer.weights[0, 0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        layer.weights[0, 0] = 2.0


def test_spec_round_trips_through_npz(tmp_path: Path) -> None:
    spec = make_spec(
        (
            Layer("maxout", np.arange(12.0).reshape(3, 2, 2) / 7, np.arange(6.0).reshape(3, 2), dropout=0.25),
            Layer("softmax", np.full((2, 3), 0.1), np.array([0.2, -0.2])),
        ),
        category="Binomial",
        activation="MaxoutWithDropout",
        categorical_inputs=(CategoricalInput("c", ("x", "y")),),
        numeric_inputs=(),
        use_all_factor_levels=False,
        class_labels=("no", "yes"),
        default_threshold=0.42,
        l1=1e-5,
        l2=1e-4,
        max_w2=10.0,
        input_dropout=0.1,
    )
    path = spec.save(tmp_path / "spec.network.npz")
    loaded = NetworkSpec.load(path)
    for name in ("category", "activation", "categorical_inputs", "class_labels", "default_threshold", "l1", "max_w2"):
        assert getattr(loaded, name) == getattr(spec, name), name
    for mine, theirs in zip(spec.layers, loaded.layers, strict=True):
        np.testing.assert_array_equal(mine.weights, theirs.weights)
        assert mine.activation == theirs.activation and mine.dropout == theirs.dropout
    data = pd.DataFrame({"c": ["x", "y", None]})
    np.testing.assert_array_equal(forward(loaded, data), forward(spec, data))
    np.savez(tmp_path / "other.npz", metadata=np.array(json.dumps({"format": "something-else"})))
    with pytest.raises(ExportError, match="unknown network spec format"):
        NetworkSpec.load(tmp_path / "other.npz")


# --- the check ------------------------------------------------------------------------


def test_max_abs_difference_treats_nan_as_disagreement() -> None:
    assert max_abs_difference(np.array([[1.0, 2.0]]), np.array([[1.0, 2.5]])) == 0.5
    assert max_abs_difference(np.array([[np.nan]]), np.array([[np.nan]])) == 0.0
    assert max_abs_difference(np.array([[1.0]]), np.array([[np.nan]])) == math.inf
    with pytest.raises(ExportError, match=r"shape \(1, 2\), H2O's has \(1, 1\)"):
        max_abs_difference(np.zeros((1, 1)), np.zeros((1, 2)))


def test_check_agreement_passes_and_fails_on_the_tolerance() -> None:
    spec = make_spec((linear_output(2),))
    inputs = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    reference = ReferenceSample(inputs=inputs, outputs=np.array([[4.0], [6.0]]), labels=None, target="prediction")
    engines = {"numpy": lambda rows: forward(spec, rows), "off": lambda rows: forward(spec, rows) + 2e-5}
    check = check_agreement(spec, reference, engines, tolerance=1e-5)
    assert check.max_abs_diff["numpy"] == 0.0 and check.max_abs_diff["off"] == pytest.approx(2e-5)
    assert not check.passed and check.worst == pytest.approx(2e-5)
    record = check.to_json()
    assert record["passed"] is False and record["rows"] == 2 and record["compared"] == "prediction"
    assert AgreementCheck("m", "prediction", 2, 1e-5, {"numpy": 1e-6}).passed


# --- the MOJO ---------------------------------------------------------------------


def test_mojo_info_parsing() -> None:
    text = "\n".join(
        [
            "[info]",
            "h2o_version = 3.46.0.6",
            "weight_layer0 = [0.1, -2.5E-4, 3.0]",
            "norm_mul = null",
            "cat_offsets = [0, 4]",
            "empty = []",
            "",
            "[columns]",
            "px0 = ignored",
        ]
    )
    info = parse_mojo_info(text)
    assert "px0" not in info and info["h2o_version"] == "3.46.0.6"
    np.testing.assert_array_equal(mojo_array(info, "weight_layer0"), [0.1, -2.5e-4, 3.0])
    assert mojo_array(info, "norm_mul") is None and mojo_array(info, "empty") is not None
    with pytest.raises(ExportError, match="has no 'bias_layer0'"):
        mojo_array(info, "bias_layer0")
    with pytest.raises(ExportError, match="is not an array"):
        mojo_array(info, "h2o_version")


def test_float32_weights_survive_the_decimal_transfer() -> None:
    # Java prints each float32 weight as its shortest decimal; float32 rounding gets it back exactly.
    weights = np.random.default_rng(3).normal(size=50).astype(np.float32)
    printed = "[" + ", ".join(np.format_float_positional(w, unique=True) for w in weights) + "]"
    parsed = mojo_array({"w": printed}, "w")
    assert parsed is not None
    np.testing.assert_array_equal(parsed.astype(np.float32), weights)


# --- the command ----------------------------------------------------------------------


def test_export_parser_and_model_reference(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_export_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export-keras", "--run", "r", "--model", "m1", "--out", "x.keras", "--layer", "1"])
    assert (args.run, args.model, args.out, args.layer, args.tolerance, args.split) == (
        "r",
        "m1",
        Path("x.keras"),
        1,
        1e-5,
        "test",
    )
    run = RunDir.at(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "ae").write_bytes(b"model")
    assert resolve_model_ref(run, "models/ae") == str((tmp_path / "models" / "ae").resolve())
    assert resolve_model_ref(run, "DeepLearning_model_1") == "DeepLearning_model_1"
