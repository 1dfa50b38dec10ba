"""Build a Keras 3 model from a `NetworkSpec`, with standard layers only, so the saved
`.keras` file loads anywhere Keras does (no custom objects).

Needs the optional extra: `pip install 'sparkling-mnist[keras]'` (Keras with the
PyTorch CPU backend). The backend defaults to torch; an explicit `KERAS_BACKEND` wins.

The model takes the raw input units of `network.forward.expand_inputs` (one-hot
categoricals, numerics as they are; for an all-numeric model such as MNIST, simply
the spec's `input_columns`) and computes:

    inputs -> center (x - sub) -> scale (* mul)            H2O's standardization
           -> input_dropout                                if input_dropout_ratio > 0
           -> hidden_i: Dense(act)                         Maxout: two Dense + Maximum
              [-> hidden_i_dropout -> hidden_i_dropout_scale (1 - p)]
           -> probabilities (softmax) | prediction | reconstruction

Precision: the model computes in float32. Keras 3 demotes 64-bit results to 32-bit
on every backend but TensorFlow (`BIT64_TO_BIT32_DTYPE` in
keras/src/backend/common/dtypes.py), so a float64 Keras model would still multiply in
float32 with the torch backend; offering it would promise what it does not do. H2O
scores in float64, so the Keras model agrees to float32 rounding (about 1e-7 on class
probabilities), which the exporter's check measures against its tolerance; the numpy
forward pass is float64 and agrees to about 1e-15.

Exactness and fine-tuning:

- hidden dropout: H2O zeroes units without rescaling while training and multiplies by
  `1 - p` at inference; Keras `Dropout(p)` (which scales kept units by `1 / (1 - p)`
  while training) followed by `Rescaling(1 - p)` does both exactly;
- input dropout: exported as Keras `Dropout`: identical at inference (off), but while
  training Keras scales the kept inputs by `1 / (1 - p)` where H2O does not;
- l1/l2: every Dense kernel and bias gets `L1L2(l1, l2 / 2)`, whose gradient
  `l1 * sign(w) + l2 * w` is the term H2O adds to each update;
- max_w2: `MaxNorm(sqrt(max_w2), axis=0)` on the kernels (each unit's incoming weights);
- regression: `Rescaling(1 / response_mul, response_sub)`, then for the log link
  `exp` clipped at 1e19 as H2O does.
"""

from __future__ import annotations

import math
import os
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np

from sparkling_mnist.errors import ExportError
from sparkling_mnist.network.spec import LOG_LINK_MAX, Layer, NetworkSpec

KERAS_ACTIVATIONS = {"tanh": "tanh", "relu": "relu", "elu": "elu", "softmax": "softmax", "linear": None}


def _regularizer(spec: NetworkSpec) -> Any:
    if spec.l1 == 0.0 and spec.l2 == 0.0:
        return None
    return keras.regularizers.L1L2(l1=spec.l1, l2=spec.l2 / 2.0)


def _constraint(spec: NetworkSpec) -> Any:
    return None if math.isinf(spec.max_w2) else keras.constraints.MaxNorm(max_value=math.sqrt(spec.max_w2), axis=0)


def _dense(spec: NetworkSpec, units: int, activation: str | None, name: str) -> Any:
    return keras.layers.Dense(
        units,
        activation=activation,
        kernel_regularizer=_regularizer(spec),
        bias_regularizer=_regularizer(spec),
        kernel_constraint=_constraint(spec),
        name=name,
    )


def _apply_layer(spec: NetworkSpec, layer: Layer, x: Any, name: str) -> Any:
    """Add one H2O layer (weights set), its dropout and scaling, to the graph."""
    if layer.activation == "maxout":
        channels = []
        for k in range(layer.weights.shape[2]):
            dense = _dense(spec, layer.units, None, f"{name}_channel_{k}")
            out = dense(x)
            dense.set_weights([layer.weights[:, :, k].T, layer.biases[:, k]])
            channels.append(out)
        x = keras.layers.Maximum(name=name)(channels)
    else:
        dense = _dense(spec, layer.units, KERAS_ACTIVATIONS[layer.activation], name)
        x = dense(x)
        dense.set_weights([layer.weights.T, layer.biases])
    if layer.dropout:
        x = keras.layers.Dropout(layer.dropout, name=f"{name}_dropout")(x)
        x = keras.layers.Rescaling(1.0 - layer.dropout, name=f"{name}_dropout_scale")(x)
    return x


def build_keras_model(spec: NetworkSpec, *, layer: int | None = None) -> Any:
    """A Keras model computing what H2O computes for `spec`.

    Args:
        spec: the network.
        layer: build the encoder up to this hidden layer (0-based, like H2O's
            `deepfeatures`); None for the whole model.

    Returns:
        A `keras.Model` with input `inputs` (n x spec.n_inputs) and one output:
        class probabilities, the prediction (n x 1), the reconstruction, or the
        hidden layer's activations.

    Raises:
        ExportError: `layer` is not a hidden layer.
    """
    if layer is not None:
        spec.check_layer_index(layer)
    inputs = keras.Input(shape=(spec.n_inputs,), name="inputs")
    x = inputs
    scaling = spec.input_scaling()
    if scaling is not None:
        sub, mul = scaling
        # Two steps, in H2O's order: (x - sub) * mul.
        x = keras.layers.Rescaling(1.0, offset=-sub, name="center")(x)
        x = keras.layers.Rescaling(mul, name="scale")(x)
    if spec.input_dropout:
        x = keras.layers.Dropout(spec.input_dropout, name="input_dropout")(x)
    last_hidden = len(spec.hidden_layers) if layer is None else layer + 1
    for index, hidden in enumerate(spec.hidden_layers[:last_hidden]):
        x = _apply_layer(spec, hidden, x, f"hidden_{index + 1}")
    if layer is not None:
        return keras.Model(inputs, x, name=f"{_safe_name(spec.model_id)}_encoder_{layer}")
    x = _apply_output(spec, x)
    return keras.Model(inputs, x, name=_safe_name(spec.model_id))


def _apply_output(spec: NetworkSpec, x: Any) -> Any:
    output = spec.output_layer
    if spec.is_classifier:
        return _apply_layer(spec, output, x, "probabilities")
    if spec.category == "Regression":
        x = _apply_layer(spec, output, x, "prediction_standardized")
        if spec.response_mul is not None and spec.response_sub is not None:
            x = keras.layers.Rescaling(1.0 / spec.response_mul, offset=spec.response_sub, name="destandardize")(x)
        if spec.response_link == "log":
            x = keras.layers.Activation("exponential", name="inverse_link")(x)
            x = keras.layers.ReLU(max_value=LOG_LINK_MAX, name="inverse_link_clip")(x)
        return x
    x = _apply_layer(spec, output, x, "reconstruction_scaled")
    scaling = spec.input_scaling()
    if scaling is not None:
        sub, mul = scaling
        x = keras.layers.Rescaling(1.0 / mul, offset=sub, name="reconstruction")(x)
    return x


def compile_for_training(
    model: Any, spec: NetworkSpec, *, layer: int | None = None, learning_rate: float = 1e-3
) -> Any:
    """Compile an exported model so `fit` continues training it: Adam with categorical
    cross-entropy (targets one-hot) for a classifier, mean squared error for an
    autoencoder (targets: the inputs) or a regression. Returns the model.

    Raises:
        ExportError: an encoder (`layer` given) has no training target.
    """
    if layer is not None:
        raise ExportError(
            f"{spec.model_id}: --compile needs the whole model; an encoder up to hidden layer {layer} has no "
            "training target (export without --layer, or compile it yourself for your own target)"
        )
    if spec.is_classifier:
        loss, metrics = "categorical_crossentropy", ["categorical_accuracy"]
    else:
        loss, metrics = "mean_squared_error", []
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=loss, metrics=metrics)
    model.optimizer.build(model.trainable_variables)  # saved with its slots: the reload warns of none
    return model


def _safe_name(model_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in model_id) or "h2o_model"


def keras_predict(model: Any, expanded: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Run a Keras model on raw input units (float32, inference mode, no progress output)."""
    values = np.asarray(expanded, dtype=np.float32)
    return np.asarray(model.predict(values, batch_size=batch_size, verbose=0), dtype=np.float64)


def load_keras_model(path: str) -> Any:
    """Load a `.keras` file written by the exporter (standard layers only)."""
    return keras.saving.load_model(path)


def keras_notes(spec: NetworkSpec) -> tuple[str, ...]:
    """What a user fine-tuning the Keras model should know about this spec."""
    notes = []
    if spec.input_dropout:
        notes.append(
            f"input dropout {spec.input_dropout:g} exported as keras Dropout: identical at inference; while training "
            "keras rescales kept inputs by 1/(1-p), H2O does not"
        )
    if any(layer.dropout for layer in spec.hidden_layers):
        notes.append("hidden dropout exported as Dropout + Rescaling(1-p): H2O's behaviour in training and inference")
    if spec.l1 or spec.l2:
        notes.append(
            f"regularizers L1L2(l1={spec.l1:g}, l2={spec.l2 / 2:g}) on kernels and biases (H2O's l2={spec.l2:g})"
        )
    if not math.isinf(spec.max_w2):
        notes.append(f"max_w2={spec.max_w2:g} exported as MaxNorm({math.sqrt(spec.max_w2):g}, axis=0) on the kernels")
        if any(layer.activation == "maxout" for layer in spec.hidden_layers):
            notes.append(
                "on Maxout units H2O rescales a unit's two channels together; keras bounds each channel on its own"
            )
    return tuple(notes)
