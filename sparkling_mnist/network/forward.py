"""Score an H2O deep-learning network with numpy alone, exactly as H2O does.

Pure functions over a `NetworkSpec` and a pandas DataFrame (columns by name) or a 2-D
numpy array (the spec's input columns, in order; numeric models only). No H2O, no
Keras: a scoring engine without an H2O cluster uses these directly.

What H2O does at inference, and so what these functions do (h2o-3,
`hex.deeplearning.Neurons` and `DeepLearningModel.score0`):

- categorical values become one-hot units; a missing value or a level not seen at
  training lights the column's "missing(NA)" unit;
- numerics are scaled `(x - sub) * mul`; a missing numeric becomes 0 after scaling
  (the training mean), or 0 when the model does not standardize;
- a hidden layer computes `act(W x + b)`; `...WithDropout` layers then multiply by
  `1 - hidden_dropout_ratio` (H2O drops units without rescaling while training);
  input dropout is not applied at inference;
- `Tanh` is evaluated as H2O writes it, `1 - 2 / (1 + exp(2x))`;
- a classifier ends in a softmax; a regression output is de-standardized with
  `out / response_mul + response_sub`, then the inverse link; an autoencoder's
  reconstruction has its numeric units scaled back with `out / mul + sub`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sparkling_mnist.network.spec import LOG_LINK_MAX, CategoricalInput, Layer, NetworkSpec

Inputs = pd.DataFrame | np.ndarray


def _level_index(value: object, lookup: dict[str, int]) -> int:
    """Index of a categorical value in the training levels; -1 for missing or unseen."""
    if value is None or value is pd.NA:
        return -1
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return -1
        if float(value).is_integer():
            value = int(value)  # pandas reads the level "3" back as 3.0
    return lookup.get(str(value), -1)


def one_hot_block(
    values: Sequence[object] | pd.Series, column: CategoricalInput, use_all_factor_levels: bool
) -> np.ndarray:
    """The one-hot units of one categorical column, H2O's way.

    With `use_all_factor_levels` every level has a unit; without, the first level is
    all zeros. The last unit is "missing(NA)": missing values and unseen levels.
    """
    lookup = {level: index for index, level in enumerate(column.levels)}
    codes = np.array([_level_index(value, lookup) for value in values], dtype=np.int64)
    width = column.width(use_all_factor_levels)
    positions = np.where(codes < 0, width - 1, codes if use_all_factor_levels else codes - 1)
    block = np.zeros((len(codes), width))
    lit = positions >= 0  # without all factor levels, the first level lights nothing
    block[np.flatnonzero(lit), positions[lit]] = 1.0
    return block


def expand_inputs(spec: NetworkSpec, data: Inputs) -> np.ndarray:
    """The raw input units: one-hot categoricals, then the numerics as they are.

    This is what the exported Keras model takes. Missing numerics are filled with the
    value that scales to H2O's 0 (the training mean, or 0 without standardization).

    Args:
        spec: the network.
        data: a DataFrame with the spec's `input_columns` (others are ignored), or an
            (n x len(input_columns)) numeric array in that order (no categoricals).

    Returns:
        (n x spec.n_inputs) float64.

    Raises:
        ValueError: columns missing, or an array given for a model with categoricals.
    """
    if isinstance(data, np.ndarray):
        if spec.categorical_inputs:
            raise ValueError(f"model {spec.model_id} has categorical inputs: pass a pandas DataFrame, not an array")
        if data.ndim != 2 or data.shape[1] != len(spec.numeric_inputs):
            raise ValueError(
                f"model {spec.model_id} takes {len(spec.numeric_inputs)} numeric columns "
                f"({_preview(spec.numeric_inputs)}); got an array of shape {data.shape}"
            )
        numeric = np.array(data, dtype=np.float64, copy=True)
        blocks: list[np.ndarray] = []
    else:
        missing = [name for name in spec.input_columns if name not in data.columns]
        if missing:
            raise ValueError(f"model {spec.model_id} needs columns missing from the data: {_preview(missing)}")
        blocks = [
            one_hot_block(data[column.name].tolist(), column, spec.use_all_factor_levels)
            for column in spec.categorical_inputs
        ]
        numeric = data.loc[:, list(spec.numeric_inputs)].to_numpy(dtype=np.float64, na_value=np.nan)
    fill = spec.norm_sub if spec.norm_sub is not None else np.zeros(len(spec.numeric_inputs))
    numeric = np.where(np.isnan(numeric), fill, numeric)
    return np.hstack([*blocks, numeric]) if blocks else numeric


def _preview(names: Sequence[str], shown: int = 8) -> str:
    head = ", ".join(names[:shown])
    return head if len(names) <= shown else f"{head}, ... ({len(names)} in all)"


def scale_inputs(spec: NetworkSpec, expanded: np.ndarray) -> np.ndarray:
    """H2O's input layer from the raw input units: `(x - sub) * mul` on the numerics."""
    scaling = spec.input_scaling()
    if scaling is None:
        return np.asarray(expanded, dtype=np.float64)
    sub, mul = scaling
    return np.asarray((expanded - sub) * mul)


def _tanh(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp overflows to inf for large z; the result is still exact (1)
        return np.asarray(1.0 - 2.0 / (1.0 + np.exp(2.0 * z)))


def _softmax(z: np.ndarray) -> np.ndarray:
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))


def layer_forward(layer: Layer, x: np.ndarray) -> np.ndarray:
    """One layer at inference: activation, then H2O's dropout scaling `1 - dropout`."""
    if layer.activation == "maxout":
        channels = np.einsum("nc,uck->nuk", x, layer.weights) + layer.biases
        out = channels.max(axis=2)
    else:
        z = x @ layer.weights.T + layer.biases
        if layer.activation == "tanh":
            out = _tanh(z)
        elif layer.activation == "relu":
            out = np.maximum(z, 0.0)
        elif layer.activation == "elu":
            with np.errstate(over="ignore"):
                out = np.where(z >= 0.0, z, np.exp(z) - 1.0)
        elif layer.activation == "softmax":
            out = _softmax(z)
        else:
            out = z
    if layer.dropout:
        out = out * (1.0 - layer.dropout)
    return np.asarray(out, dtype=np.float64)


def forward(spec: NetworkSpec, data: Inputs) -> np.ndarray:
    """The model's output, as H2O's `predict` gives it (without the label column).

    Returns:
        Classifiers: (n x classes) probabilities, classes in `spec.class_labels` order.
        Regression: (n x 1) predictions in the response's units.
        Autoencoders: (n x n_inputs) reconstruction, numerics in their original units.
    """
    x = scale_inputs(spec, expand_inputs(spec, data))
    for layer in spec.layers:
        x = layer_forward(layer, x)
    if spec.category == "Regression":
        if spec.response_mul is not None and spec.response_sub is not None:
            x = x / spec.response_mul + spec.response_sub
        if spec.response_link == "log":
            x = np.minimum(np.exp(x), LOG_LINK_MAX)
    elif spec.is_autoencoder:
        scaling = spec.input_scaling()
        if scaling is not None:
            sub, mul = scaling
            x = x / mul + sub
    return x


def reconstruction_error(spec: NetworkSpec, data: Inputs) -> np.ndarray:
    """An autoencoder's per-row reconstruction error, as H2O's `model.anomaly(frame)`
    gives it: the mean squared difference between the network's input layer (the
    scaled input units) and its output, over every input unit.

    Returns:
        (n,) float64.

    Raises:
        ValueError: the spec is not an autoencoder, or the inputs do not match it.
    """
    if not spec.is_autoencoder:
        raise ValueError(f"model {spec.model_id} is a {spec.category} model, not an autoencoder")
    x = scale_inputs(spec, expand_inputs(spec, data))
    out = x
    for layer in spec.layers:
        out = layer_forward(layer, out)
    return np.asarray(np.mean((out - x) ** 2, axis=1), dtype=np.float64)


def encode(spec: NetworkSpec, data: Inputs, layer: int) -> np.ndarray:
    """Deep features: the activations of hidden layer `layer` (0-based, as H2O's
    `deepfeatures(frame, layer)`), dropout scaling included.

    Raises:
        ExportError: `layer` is not a hidden layer of the network.
    """
    spec.check_layer_index(layer)
    x = scale_inputs(spec, expand_inputs(spec, data))
    for hidden in spec.hidden_layers[: layer + 1]:
        x = layer_forward(hidden, x)
    return x


def predict_labels(spec: NetworkSpec, probabilities: np.ndarray) -> np.ndarray:
    """Class labels from probabilities, H2O's rule: binomial models use the model's
    default threshold on the second class, multinomial ones the most probable class
    (first one on an exact tie, where H2O breaks ties by a hash of the row).

    Raises:
        ValueError: the spec is not a classifier or the shape does not match.
    """
    if not spec.is_classifier:
        raise ValueError(f"model {spec.model_id} is a {spec.category} model, not a classifier")
    if probabilities.ndim != 2 or probabilities.shape[1] != len(spec.class_labels):
        raise ValueError(f"expected (n x {len(spec.class_labels)}) probabilities, got {probabilities.shape}")
    labels = np.array(spec.class_labels, dtype=object)
    if spec.category == "Binomial" and spec.default_threshold is not None:
        return np.asarray(labels[(probabilities[:, 1] >= spec.default_threshold).astype(np.int64)])
    return np.asarray(labels[np.argmax(probabilities, axis=1)])
