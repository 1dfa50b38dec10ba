"""The Keras model built from a NetworkSpec: same outputs as the numpy forward pass,
H2O's training-time behaviour for dropout and regularization, and a `.keras` file that
reloads with standard layers only. No H2O needed."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sparkling_mnist.errors import ExportError
from sparkling_mnist.network.forward import encode, expand_inputs, forward, scale_inputs
from sparkling_mnist.network.spec import CategoricalInput, Layer, NetworkSpec

keras_model = pytest.importorskip(
    "sparkling_mnist.export.keras_model", reason="needs the keras extra: pip install '.[keras]'"
)
keras = keras_model.keras

FLOAT32 = 1e-5  # Keras computes in float32 (see keras_model); numpy in float64
RNG = np.random.default_rng(11)


def random_layer(activation: Any, units: int, inputs: int, dropout: float = 0.0) -> Layer:
    shape = (units, inputs, 2) if activation == "maxout" else (units, inputs)
    bias_shape = (units, 2) if activation == "maxout" else (units,)
    return Layer(activation, RNG.normal(size=shape) / 2, RNG.normal(size=bias_shape) / 4, dropout)


def classifier(activation: Any, dropout: float = 0.0, **overrides: Any) -> NetworkSpec:
    """3 numeric inputs + a 3-level categorical (4 units) -> 5 -> 4 -> 3 classes."""
    fields: dict[str, Any] = {
        "model_id": "hand/made-1",
        "category": "Multinomial",
        "activation": "x",
        "categorical_inputs": (CategoricalInput("c", ("p", "q", "r")),),
        "numeric_inputs": ("a", "b", "d"),
        "use_all_factor_levels": True,
        "norm_sub": np.array([1.0, -2.0, 0.5]),
        "norm_mul": np.array([0.5, 2.0, 4.0]),
        "layers": (
            random_layer(activation, 5, 7, dropout),
            random_layer(activation, 4, 5, dropout),
            random_layer("softmax", 3, 4),
        ),
        "class_labels": ("x", "y", "z"),
    }
    fields.update(overrides)
    return NetworkSpec(**fields)


def rows(n: int = 16) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": RNG.normal(size=n) * 3,
            "b": RNG.normal(size=n),
            "d": RNG.uniform(0, 1, size=n),
            "c": RNG.choice(["p", "q", "r", "unseen"], size=n),
        }
    )


def keras_outputs(model: Any, spec: NetworkSpec, data: pd.DataFrame) -> np.ndarray:
    return np.asarray(keras_model.keras_predict(model, expand_inputs(spec, data)))


@pytest.mark.parametrize("activation", ["relu", "tanh", "elu", "maxout"])
@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_keras_matches_numpy_forward(activation: str, dropout: float) -> None:
    spec = classifier(activation, dropout)
    data = rows()
    probabilities = keras_outputs(keras_model.build_keras_model(spec), spec, data)
    np.testing.assert_allclose(probabilities, forward(spec, data), rtol=0, atol=FLOAT32)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


def test_regression_log_link_and_destandardization() -> None:
    hidden = random_layer("tanh", 3, 2)
    gaussian = NetworkSpec(
        model_id="reg",
        category="Regression",
        activation="Tanh",
        categorical_inputs=(),
        numeric_inputs=("u", "v"),
        use_all_factor_levels=True,
        norm_sub=None,
        norm_mul=None,
        layers=(hidden, random_layer("linear", 1, 3)),
        response_sub=5.0,
        response_mul=0.5,
    )
    x = RNG.normal(size=(8, 2))
    built = keras_model.build_keras_model(gaussian)
    np.testing.assert_allclose(keras_model.keras_predict(built, x), forward(gaussian, x), rtol=0, atol=FLOAT32)
    poisson = dataclasses.replace(gaussian, response_sub=None, response_mul=None, response_link="log")
    built = keras_model.build_keras_model(poisson)
    np.testing.assert_allclose(keras_model.keras_predict(built, x), forward(poisson, x), rtol=1e-6)


def autoencoder(dropout: float = 0.0, input_dropout: float = 0.0) -> NetworkSpec:
    """3 inputs -> 2 Tanh units -> 3 (the reconstruction)."""
    return NetworkSpec(
        model_id="ae",
        category="AutoEncoder",
        activation="Tanh",
        categorical_inputs=(),
        numeric_inputs=("u", "v", "w"),
        use_all_factor_levels=True,
        norm_sub=np.array([0.0, 1.0, 2.0]),
        norm_mul=np.array([1.0, 0.5, 0.25]),
        layers=(random_layer("tanh", 2, 3, dropout), random_layer("tanh", 3, 2)),
        input_dropout=input_dropout,
    )


def test_autoencoder_and_encoder() -> None:
    spec = autoencoder(dropout=0.2, input_dropout=0.3)
    x = RNG.normal(size=(8, 3))
    full = keras_model.build_keras_model(spec)
    np.testing.assert_allclose(keras_model.keras_predict(full, x), forward(spec, x), rtol=0, atol=FLOAT32)
    encoder = keras_model.build_keras_model(spec, layer=0)
    assert encoder.output_shape == (None, 2)
    np.testing.assert_allclose(keras_model.keras_predict(encoder, x), encode(spec, x, 0), rtol=0, atol=FLOAT32)
    with pytest.raises(ExportError, match="hidden layer 1 does not exist"):
        keras_model.build_keras_model(spec, layer=1)


def test_training_mode_drops_hidden_units_like_h2o() -> None:
    # H2O while training: a dropped unit outputs 0, a kept one its plain activation
    # (no 1/(1-p) rescaling). Keras: Dropout then Rescaling(1 - p) does the same.
    spec = classifier("relu", dropout=0.5)
    model = keras_model.build_keras_model(spec)
    first_hidden = keras.Model(model.inputs, model.get_layer("hidden_1_dropout_scale").output)
    x = expand_inputs(spec, rows(64)).astype(np.float32)
    trained = keras.ops.convert_to_numpy(first_hidden(x, training=True))
    plain = np.maximum(scale_inputs(spec, x) @ spec.layers[0].weights.T + spec.layers[0].biases, 0.0)
    kept = trained != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(trained[kept], plain[kept], rtol=1e-5, atol=1e-6)
    inference = keras.ops.convert_to_numpy(first_hidden(x, training=False))
    np.testing.assert_allclose(inference, plain * 0.5, rtol=1e-5, atol=1e-6)


def test_regularizers_and_constraints_follow_h2o() -> None:
    spec = classifier("maxout", l1=1e-5, l2=1e-3, max_w2=4.0)
    model = keras_model.build_keras_model(spec)
    channel = model.get_layer("hidden_1_channel_0")
    # H2O adds l1*sign(w) + l2*w to each update: Keras' penalty l1*|w| + (l2/2)*w^2 has that gradient.
    assert channel.kernel_regularizer.get_config() == pytest.approx({"l1": 1e-5, "l2": 5e-4})
    assert channel.bias_regularizer.get_config() == pytest.approx({"l1": 1e-5, "l2": 5e-4})
    assert channel.kernel_constraint.get_config() == {"max_value": 2.0, "axis": 0}
    assert model.get_layer("probabilities").kernel_regularizer is not None
    notes = keras_model.keras_notes(spec)
    assert any("L1L2(l1=1e-05, l2=0.0005)" in note for note in notes)
    plain = keras_model.build_keras_model(classifier("relu"))
    assert plain.get_layer("hidden_1").kernel_regularizer is None and keras_model.keras_notes(classifier("relu")) == ()


def test_saved_file_reloads_without_custom_objects(tmp_path: Path) -> None:
    spec = classifier("maxout", dropout=0.25, input_dropout=0.1, l2=1e-4)
    model = keras_model.build_keras_model(spec)
    path = tmp_path / "model.keras"
    model.save(str(path))
    reloaded = keras.saving.load_model(str(path))  # plain Keras: no custom_objects, safe mode
    data = rows()
    np.testing.assert_array_equal(keras_outputs(reloaded, spec, data), keras_outputs(model, spec, data))
    assert {type(layer).__module__.split(".")[0] for layer in reloaded.layers} == {"keras"}


def _one_step_lowers_the_loss(model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    before = float(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])
    model.train_on_batch(x, y)
    after = float(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])
    return before, after


def test_compiled_classifier_trains_further_after_a_reload(tmp_path: Path) -> None:
    """`--compile`: Adam + categorical cross-entropy, kept in the `.keras` file; one
    training step on a batch lowers that batch's loss."""
    spec = classifier("relu", dropout=0.2)
    model = keras_model.compile_for_training(keras_model.build_keras_model(spec), spec)
    path = tmp_path / "model.keras"
    model.save(str(path))
    reloaded = keras.saving.load_model(str(path))
    assert reloaded.loss == "categorical_crossentropy"
    assert type(reloaded.optimizer).__name__ == "Adam"
    x = expand_inputs(spec, rows(64)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[RNG.integers(0, 3, size=64)]
    before, after = _one_step_lowers_the_loss(reloaded, x, y)
    assert after < before


def test_compiled_autoencoder_learns_its_inputs_and_an_encoder_is_refused() -> None:
    spec = autoencoder()
    model = keras_model.compile_for_training(keras_model.build_keras_model(spec), spec)
    assert model.loss == "mean_squared_error"
    x = RNG.normal(size=(64, 3)).astype(np.float32)
    before, after = _one_step_lowers_the_loss(model, x, x)
    assert after < before
    with pytest.raises(ExportError, match="--compile needs the whole model"):
        keras_model.compile_for_training(keras_model.build_keras_model(spec, layer=0), spec, layer=0)
