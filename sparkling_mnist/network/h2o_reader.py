"""Read a trained H2O deep-learning model into a `NetworkSpec`, or refuse clearly.

Where each part comes from (h2o-3 `hex.deeplearning`, `hex.DataInfo`):

- weights, biases, input scaling and response de-standardization: the model's MOJO
  (`model.ini`, written by `DeepLearningMojoWriter` as `Arrays.toString` of H2O's own
  arrays). Every deep-learning model has one, also one loaded with `h2o.load_model`
  into a fresh cluster, where the frames of `model.weights(i)` (written only with
  `export_weights_and_biases=True`, and not saved with the model) do not exist.
  Weights are float32 inside H2O and Java prints the shortest decimal of each, so
  rounding the parsed values to float32 makes them bit-exact; biases and scalings
  are doubles printed to round-trip;
- layer kinds: the model summary's `type` column (the neuron classes H2O scores with,
  e.g. `RectifierDropout`, `Softmax`, `Linear`), so an autoencoder's output layer and
  the dropout variants come out as H2O built them;
- hidden dropout ratios: the parameter, or 0.5 per layer when a `...WithDropout`
  activation was given none (`DeepLearningModel` sets that default inside the model;
  the summary's `dropout` column is checked against it);
- input layout: the output `names`/`domains` (categoricals first, response last, the
  constant columns H2O dropped absent), checked against the MOJO's `cat_offsets` and
  `neural_network_sizes`, and, where that frame exists, against the column names of
  `model.weights(0)`, which H2O sets to its expanded input names.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, cast

import numpy as np

from sparkling_mnist.errors import ExportError
from sparkling_mnist.network.spec import (
    MAXOUT_CHANNELS,
    Activation,
    CategoricalInput,
    Layer,
    ModelCategory,
    NetworkSpec,
)

log = logging.getLogger(__name__)

# H2O neuron class (model summary `type`) -> activation. The `...Dropout` classes scale
# their output by `1 - ratio` at inference.
NEURON_ACTIVATIONS: dict[str, Activation] = {
    "Tanh": "tanh",
    "TanhDropout": "tanh",
    "Rectifier": "relu",
    "RectifierDropout": "relu",
    "ExpRectifier": "elu",
    "ExpRectifierDropout": "elu",
    "Maxout": "maxout",
    "MaxoutDropout": "maxout",
    "Softmax": "softmax",
    "Linear": "linear",
}
DROPOUT_ACTIVATIONS = ("TanhWithDropout", "RectifierWithDropout", "MaxoutWithDropout", "ExpRectifierWithDropout")
DEFAULT_HIDDEN_DROPOUT = 0.5  # DeepLearningModel: "Automatically setting all hidden dropout ratios to 0.5"
IDENTITY_LINK_DISTRIBUTIONS = ("AUTO", "gaussian", "laplace", "huber", "quantile")
LOG_LINK_DISTRIBUTIONS = ("poisson", "gamma", "tweedie")
CLASSIFIER_DISTRIBUTIONS = ("AUTO", "bernoulli", "multinomial")
ONE_HOT_ENCODINGS = ("AUTO", "OneHotInternal")
FLOAT32_MAX = float(np.finfo(np.float32).max)  # H2O's default max_w2 (Float.MAX_VALUE): no constraint


def model_label(model: Any) -> str:
    """The model's key, for messages."""
    return str(getattr(model, "model_id", None) or getattr(model, "key", None) or "<unnamed model>")


def load_h2o_model(ref: str | Path) -> Any:
    """A model from a file saved with `h2o.save_model` (if `ref` is an existing path)
    or from the connected H2O cluster by its model id.

    Raises:
        ExportError: no such file and no such model on the cluster.
    """
    import h2o
    from h2o.exceptions import H2OError

    path = Path(ref).expanduser()
    try:
        if path.is_file():
            log.info("export: loading model file %s", path)
            return h2o.load_model(str(path.resolve()))
        return h2o.get_model(str(ref))
    except H2OError as exc:
        raise ExportError(
            f"model {ref!r}: no such model file and no model with that id on the H2O cluster ({exc.__class__.__name__})"
        ) from exc


def parse_mojo_info(text: str) -> dict[str, str]:
    """The `[info]` section of a MOJO's `model.ini` as key -> raw value. Pure."""
    info: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif section == "info" and " = " in stripped:
            key, _, value = stripped.partition(" = ")
            info[key.strip()] = value.strip()
    return info


def mojo_array(info: dict[str, str], key: str) -> np.ndarray | None:
    """A MOJO array value (`[1.0, 2.5]`, Java's Arrays.toString) as float64; None for `null`.

    Raises:
        ExportError: the key is missing or the value is not an array of numbers.
    """
    raw = info.get(key)
    if raw is None:
        raise ExportError(f"the model's MOJO has no {key!r}")
    if raw == "null":
        return None
    if not (raw.startswith("[") and raw.endswith("]")):
        raise ExportError(f"the model's MOJO value {key!r} is not an array: {raw[:60]}")
    body = raw[1:-1].strip()
    try:
        return np.array([float(item) for item in body.split(",")] if body else [], dtype=np.float64)
    except ValueError as exc:
        raise ExportError(f"the model's MOJO value {key!r} is not numeric: {exc}") from exc


def read_mojo_info(model: Any) -> dict[str, str]:
    """Download the model's MOJO into a temporary directory and read its `[info]` section.

    Raises:
        ExportError: H2O cannot write a MOJO for the model (e.g. an unstable one).
    """
    from h2o.exceptions import H2OError

    label = model_label(model)
    with tempfile.TemporaryDirectory(prefix="sparkling-mnist-mojo-") as folder:
        try:
            path = model.download_mojo(path=folder)
        except H2OError as exc:
            raise ExportError(f"model {label}: H2O could not write its MOJO to read the weights from: {exc}") from exc
        with zipfile.ZipFile(path) as archive:
            return parse_mojo_info(archive.read("model.ini").decode("utf-8"))


def _input_unit_names(model: Any, output: dict[str, Any]) -> list[str] | None:
    """H2O's names of the input units (columns of `model.weights(0)`), if that frame exists."""
    if not output.get("weights"):
        return None
    frame = model.weights(0)
    return None if frame is None else [str(name) for name in frame.columns]


def _summary_layers(output: dict[str, Any], label: str) -> list[tuple[int, str, float]]:
    """(units, neuron type, dropout ratio) per layer from the model summary, input first."""
    summary: Any = output.get("model_summary")
    header = [str(name).lower() for name in getattr(summary, "col_header", [])]
    if summary is None or not all(name in header for name in ("units", "type", "dropout")):
        raise ExportError(f"model {label}: its summary has no layer table (units, type, dropout); is it deep learning?")
    rows = []
    for row in summary.cell_values:
        dropout = row[header.index("dropout")]
        ratio = float(dropout) / 100.0 if isinstance(dropout, int | float) else 0.0
        rows.append((int(row[header.index("units")]), str(row[header.index("type")]), ratio))
    return rows


def _check_supported(model: Any, params: dict[str, Any], output: dict[str, Any], label: str) -> ModelCategory:
    """Refuse what cannot be converted exactly; returns the model category."""
    algo = str(getattr(model, "algo", "") or "")
    if algo != "deeplearning":
        raise ExportError(f"model {label} is a {algo or 'non-deep-learning'} model; only H2O deep learning is exported")
    category = str(output.get("model_category"))
    if category not in ("Binomial", "Multinomial", "Regression", "AutoEncoder"):
        raise ExportError(f"model {label}: model category {category} is not supported")
    encoding = str(params.get("categorical_encoding") or "AUTO")
    if encoding not in ONE_HOT_ENCODINGS:
        raise ExportError(
            f"model {label}: categorical_encoding={encoding} is not supported; train with the default (AUTO) one-hot"
        )
    for name in ("offset_column",):
        if params.get(name):
            raise ExportError(f"model {label}: models with an {name} are not supported")
    if params.get("balance_classes"):
        raise ExportError(
            f"model {label}: balance_classes=True makes H2O correct the probabilities by the class priors after "
            "the network; that is not exported"
        )
    distribution = str(params.get("distribution") or "AUTO")
    allowed: tuple[str, ...] = CLASSIFIER_DISTRIBUTIONS
    if category == "Regression":
        allowed = IDENTITY_LINK_DISTRIBUTIONS + LOG_LINK_DISTRIBUTIONS
    if category != "AutoEncoder" and distribution not in allowed:
        raise ExportError(
            f"model {label}: distribution {distribution} is not supported for a {category} model (supported: "
            f"{', '.join(allowed)})"
        )
    return cast(ModelCategory, category)


def _inputs(
    output: dict[str, Any], supervised: bool, response: str | None, label: str
) -> tuple[tuple[CategoricalInput, ...], tuple[str, ...], tuple[str, ...]]:
    """Categorical inputs, numeric inputs and the class labels, from names/domains."""
    names = [str(name) for name in output["names"]]
    domains = list(output["domains"])
    class_labels: tuple[str, ...] = ()
    if supervised:
        if names[-1] != response:
            raise ExportError(f"model {label}: expected the response {response!r} last in the model's columns")
        class_labels = tuple(str(level) for level in domains[-1] or ())
        names, domains = names[:-1], domains[:-1]
    categoricals: list[CategoricalInput] = []
    numerics: list[str] = []
    for name, domain in zip(names, domains, strict=True):
        if domain is None:
            numerics.append(name)
        elif numerics:
            raise ExportError(f"model {label}: categorical column {name} after numeric ones; unexpected H2O layout")
        else:
            categoricals.append(CategoricalInput(name, tuple(str(level) for level in domain)))
    return tuple(categoricals), tuple(numerics), class_labels


def _dropout_ratios(params: dict[str, Any], hidden: int, label: str) -> list[float]:
    activation = str(params.get("activation"))
    given = params.get("hidden_dropout_ratios")
    if activation not in DROPOUT_ACTIVATIONS:
        return [0.0] * hidden
    ratios = [float(r) for r in given] if given else [DEFAULT_HIDDEN_DROPOUT] * hidden
    if len(ratios) != hidden:
        raise ExportError(f"model {label}: {len(ratios)} hidden dropout ratios for {hidden} hidden layers")
    return ratios


def _read_layer(
    info: dict[str, str], index: int, *, units: int, inputs: int, activation: Activation, dropout: float
) -> Layer:
    """One layer's parameters from the MOJO, in H2O's layout."""
    weights = mojo_array(info, f"weight_layer{index}")
    biases = mojo_array(info, f"bias_layer{index}")
    channels = MAXOUT_CHANNELS if activation == "maxout" else 1
    if (
        weights is None
        or biases is None
        or weights.size != channels * units * inputs
        or biases.size != channels * units
    ):
        raise ExportError(
            f"layer {index + 1}: {None if weights is None else weights.size} weights and "
            f"{None if biases is None else biases.size} biases do not fit {units} {activation} units on {inputs} inputs"
        )
    # H2O keeps weights as float32: rounding the decimal back to float32 makes them exact.
    weights = weights.astype(np.float32).astype(np.float64)
    if activation == "maxout":
        # Maxout stores channel k of unit u, input c at flat index 2 * (u * inputs + c) + k.
        return Layer(
            activation,
            weights.reshape(units, inputs, MAXOUT_CHANNELS),
            biases.reshape(units, MAXOUT_CHANNELS),
            dropout,
        )
    return Layer(activation, weights.reshape(units, inputs), biases, dropout)


def _read_layers(
    info: dict[str, str], summary: list[tuple[int, str, float]], params: dict[str, Any], label: str
) -> tuple[Layer, ...]:
    """Every layer above the input: kind and dropout from the summary, parameters from the MOJO."""
    sizes = mojo_array(info, "neural_network_sizes")
    if sizes is None or sizes.astype(np.int64).tolist() != [units for units, _, _ in summary]:
        raise ExportError(f"model {label}: layer sizes {sizes} in its MOJO differ from its summary's")
    hidden = len(summary) - 2
    ratios = _dropout_ratios(params, hidden, label)
    layers: list[Layer] = []
    for index, (units, neuron, summary_dropout) in enumerate(summary[1:]):
        if neuron not in NEURON_ACTIVATIONS:
            raise ExportError(f"model {label}: layer {index + 2} has unsupported neuron type {neuron}")
        dropout = ratios[index] if neuron.endswith("Dropout") else 0.0
        if index < hidden and abs(summary_dropout - dropout) > 1e-9:
            raise ExportError(
                f"model {label}: hidden layer {index + 1} dropout {summary_dropout} in the summary, {dropout} derived"
            )
        try:
            layer = _read_layer(
                info,
                index,
                units=units,
                inputs=summary[index][0],
                activation=NEURON_ACTIVATIONS[neuron],
                dropout=dropout,
            )
        except ExportError as exc:
            raise ExportError(f"model {label}: {exc}") from exc
        layers.append(layer)
    return tuple(layers)


def _scalar(values: np.ndarray | None) -> float | None:
    return None if values is None else float(values[0])


def read_network(model: Any) -> NetworkSpec:
    """Read an H2O deep-learning model (trained here, fetched by id, or loaded from a
    file) into a `NetworkSpec`.

    Supported: classifiers (binomial, multinomial), regression (identity-link
    distributions with response de-standardization; poisson/gamma/tweedie with the
    log link), autoencoders; Tanh, Rectifier, ExpRectifier and Maxout activations,
    with or without dropout; numeric and categorical inputs (one-hot, missing values,
    unseen levels); with or without standardization. The model need not have been
    trained with `export_weights_and_biases`: the parameters come from its MOJO.

    Raises:
        ExportError: not a deep-learning model, or using something that is not exported
            exactly (non one-hot categorical encodings, offset columns, balance_classes,
            hashed categoricals, other distributions), or an unexpected layout.
    """
    started = time.monotonic()
    label = model_label(model)
    output = dict(model._model_json["output"])
    params = dict(model.actual_params)
    category = _check_supported(model, params, output, label)
    supervised = category != "AutoEncoder"
    response = str(params.get("response_column")) if supervised else None
    categoricals, numerics, class_labels = _inputs(output, supervised, response, label)
    use_all = bool(params.get("use_all_factor_levels")) or not supervised  # H2O forces it for autoencoders

    expected_offsets = np.cumsum([0] + [c.width(use_all) for c in categoricals]).tolist()
    max_categorical = params.get("max_categorical_features")
    if max_categorical is not None and int(max_categorical) < expected_offsets[-1]:
        raise ExportError(
            f"model {label}: max_categorical_features={max_categorical} hashes its {expected_offsets[-1]} "
            "categorical units; hashed inputs are not exported"
        )
    info = read_mojo_info(model)
    offsets = mojo_array(info, "cat_offsets")
    if offsets is None or offsets.astype(np.int64).tolist() != expected_offsets:
        raise ExportError(f"model {label}: categorical offsets {offsets} in its MOJO, expected {expected_offsets}")
    layers = _read_layers(info, _summary_layers(output, label), params, label)

    max_w2 = float(params.get("max_w2") or math.inf)
    threshold = output.get("default_threshold") if category == "Binomial" else None
    spec = NetworkSpec(
        model_id=label,
        category=category,
        activation=str(params.get("activation")),
        categorical_inputs=categoricals,
        numeric_inputs=numerics,
        use_all_factor_levels=use_all,
        norm_sub=mojo_array(info, "norm_sub"),
        norm_mul=mojo_array(info, "norm_mul"),
        layers=layers,
        input_dropout=float(params.get("input_dropout_ratio") or 0.0),
        l1=float(params.get("l1") or 0.0),
        l2=float(params.get("l2") or 0.0),
        max_w2=math.inf if max_w2 >= FLOAT32_MAX else max_w2,
        response_name=response,
        class_labels=class_labels,
        default_threshold=None if threshold is None else float(threshold),
        response_sub=_scalar(mojo_array(info, "norm_resp_sub")),
        response_mul=_scalar(mojo_array(info, "norm_resp_mul")),
        response_link="log" if str(params.get("distribution")) in LOG_LINK_DISTRIBUTIONS else "identity",
    )
    unit_names = _input_unit_names(model, output)
    if unit_names is not None and tuple(unit_names) != spec.expanded_input_names:
        raise ExportError(
            f"model {label}: H2O's input units {unit_names[:6]}... differ from the expected layout "
            f"{list(spec.expanded_input_names[:6])}..."
        )
    log.info(
        "export: read %s (%s, %s, layers %s) in %.1f s",
        label,
        category,
        spec.activation,
        "-".join(str(n) for n in [spec.n_inputs, *(layer.units for layer in spec.layers)]),
        time.monotonic() - started,
    )
    return spec
