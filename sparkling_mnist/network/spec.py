"""A plain, frozen description of an H2O deep-learning network: everything needed to
score it without H2O (layer sizes, activations, weights, the input layout and scaling).

Pure: numpy only. `h2o_reader.read_network` fills it from a trained model;
`forward` and `export.keras_model` consume it; `save`/`load` keep it as one `.npz` file
for a scoring engine that has no H2O cluster.

Layouts follow H2O, not Keras:

- inputs: the categorical columns first (in H2O's order), each one-hot expanded with
  an extra "missing(NA)" unit, then the numeric columns (constant columns were dropped
  by H2O at training and are not part of the network);
- `Layer.weights` is (units x inputs), as `model.weights(i)` returns it (a Keras
  kernel is its transpose); Maxout layers keep both channels: (units x inputs x 2);
- numeric inputs are scaled as `(x - norm_sub) * norm_mul`; a regression prediction is
  `out / response_mul + response_sub`, then the inverse link.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

import numpy as np

from sparkling_mnist.errors import ExportError

Activation = Literal["tanh", "relu", "elu", "maxout", "softmax", "linear"]
HiddenActivation = Literal["tanh", "relu", "elu", "maxout"]
ModelCategory = Literal["Binomial", "Multinomial", "Regression", "AutoEncoder"]
ResponseLink = Literal["identity", "log"]

HIDDEN_ACTIVATIONS: tuple[str, ...] = get_args(HiddenActivation)
MAXOUT_CHANNELS = 2  # H2O hard-codes two channels per Maxout unit
LOG_LINK_MAX = 1e19  # H2O's LogExpUtil.exp clips the inverse log link here
SPEC_FORMAT = "sparkling-mnist.network-spec/1"


def _frozen_array(values: Any, name: str, ndim: int) -> np.ndarray:
    """A read-only float64 copy of `values`, checked to have `ndim` dimensions and no NaN."""
    array = np.array(values, dtype=np.float64, copy=True)
    if array.ndim != ndim:
        raise ExportError(f"{name}: expected {ndim} dimension(s), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ExportError(f"{name}: contains NaN or infinite values (an unstable H2O model cannot be exported)")
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class CategoricalInput:
    """One categorical input column and its training levels, in H2O's domain order."""

    name: str
    levels: tuple[str, ...]

    def expanded_names(self, use_all_factor_levels: bool) -> tuple[str, ...]:
        """H2O's names for the one-hot units of this column (`model.weights(0)` columns).

        Without `use_all_factor_levels` the first level has no unit (all zeros); the
        last unit takes missing values and levels not seen at training.
        """
        kept = self.levels if use_all_factor_levels else self.levels[1:]
        return (*(f"{self.name}.{level}" for level in kept), f"{self.name}.missing(NA)")

    def width(self, use_all_factor_levels: bool) -> int:
        """Number of input units this column expands to."""
        return len(self.levels) + (0 if use_all_factor_levels else -1) + 1


@dataclass(frozen=True, eq=False)
class Layer:
    """One fully connected layer: `activation(weights @ x + biases) * (1 - dropout)`.

    Args:
        activation: the activation; `maxout` takes the larger of two linear channels.
        weights: (units x inputs), or (units x inputs x 2) for Maxout.
        biases: (units,), or (units x 2) for Maxout.
        dropout: H2O's hidden dropout ratio. H2O zeroes units without rescaling while
            training, so at inference it multiplies the activations by `1 - dropout`.
    """

    activation: Activation
    weights: np.ndarray
    biases: np.ndarray
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.activation not in get_args(Activation):
            raise ExportError(f"unsupported activation {self.activation!r}; expected one of {get_args(Activation)}")
        maxout = self.activation == "maxout"
        weights = _frozen_array(self.weights, "layer weights", 3 if maxout else 2)
        biases = _frozen_array(self.biases, "layer biases", 2 if maxout else 1)
        if maxout and (weights.shape[2] != MAXOUT_CHANNELS or biases.shape[1] != MAXOUT_CHANNELS):
            raise ExportError(f"maxout layer: expected {MAXOUT_CHANNELS} channels, got {weights.shape}, {biases.shape}")
        if biases.shape[0] != weights.shape[0]:
            raise ExportError(f"layer with {weights.shape[0]} units has {biases.shape[0]} biases")
        if not 0.0 <= self.dropout < 1.0:
            raise ExportError(f"dropout ratio must be in [0, 1), got {self.dropout}")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "biases", biases)

    @property
    def units(self) -> int:
        """Number of units (outputs) of the layer."""
        return int(self.weights.shape[0])

    @property
    def inputs(self) -> int:
        """Number of inputs the layer takes."""
        return int(self.weights.shape[1])


@dataclass(frozen=True, eq=False)
class NetworkSpec:
    """A trained H2O deep-learning network, frozen, typed, with numpy parameters.

    Args:
        model_id: the H2O model key it was read from.
        category: H2O's model category.
        activation: H2O's `activation` parameter (e.g. `RectifierWithDropout`).
        categorical_inputs: categorical columns in H2O's input order (first).
        numeric_inputs: numeric columns in H2O's input order (after the categoricals).
        use_all_factor_levels: whether the first level of each categorical has a unit.
        norm_sub, norm_mul: numeric input scaling `(x - sub) * mul`; None when the
            model was trained with `standardize=False`.
        layers: hidden layers, then the output layer (softmax for classifiers, linear
            for regression, the hidden activation for an autoencoder).
        input_dropout: H2O's `input_dropout_ratio` (training only; inputs are used as
            they are at inference).
        l1, l2: H2O's regularization; its update adds `l1*sign(w) + l2*w` to the
            gradient of every weight and bias.
        max_w2: H2O's bound on the squared norm of each unit's incoming weights
            (infinite when unconstrained).
        response_name: the response column of a supervised model.
        class_labels: the classes in H2O's order (classifiers).
        default_threshold: a binomial model labels a row with the second class when
            its probability is at least this.
        response_sub, response_mul: regression response de-standardization.
        response_link: the inverse link applied last to a regression prediction.
    """

    model_id: str
    category: ModelCategory
    activation: str
    categorical_inputs: tuple[CategoricalInput, ...]
    numeric_inputs: tuple[str, ...]
    use_all_factor_levels: bool
    norm_sub: np.ndarray | None
    norm_mul: np.ndarray | None
    layers: tuple[Layer, ...]
    input_dropout: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    max_w2: float = math.inf
    response_name: str | None = None
    class_labels: tuple[str, ...] = ()
    default_threshold: float | None = None
    response_sub: float | None = None
    response_mul: float | None = None
    response_link: ResponseLink = "identity"

    def __post_init__(self) -> None:
        if self.category not in get_args(ModelCategory):
            raise ExportError(f"model {self.model_id}: unsupported model category {self.category!r}")
        if (self.norm_sub is None) != (self.norm_mul is None):
            raise ExportError(f"model {self.model_id}: norm_sub and norm_mul must both be given or both be None")
        if self.norm_sub is not None and self.norm_mul is not None:
            for name, values in (("norm_sub", self.norm_sub), ("norm_mul", self.norm_mul)):
                array = _frozen_array(values, name, 1)
                if len(array) != len(self.numeric_inputs):
                    raise ExportError(f"{name} has {len(array)} values for {len(self.numeric_inputs)} numeric inputs")
                object.__setattr__(self, name, array)
        if not self.layers:
            raise ExportError(f"model {self.model_id}: a network needs at least an output layer")
        if not 0.0 <= self.input_dropout < 1.0:
            raise ExportError(f"input dropout ratio must be in [0, 1), got {self.input_dropout}")
        if self.response_link not in get_args(ResponseLink):
            raise ExportError(f"model {self.model_id}: unsupported response link {self.response_link!r}")
        self._check_layers()
        self._check_output()

    def _check_layers(self) -> None:
        width = self.n_inputs
        for index, layer in enumerate(self.layers):
            if layer.inputs != width:
                raise ExportError(
                    f"model {self.model_id}: layer {index + 1} takes {layer.inputs} inputs, the layer below has {width}"
                )
            width = layer.units
        for index, layer in enumerate(self.hidden_layers):
            if layer.activation not in HIDDEN_ACTIVATIONS:
                raise ExportError(f"model {self.model_id}: hidden layer {index + 1} has activation {layer.activation}")

    def _check_output(self) -> None:
        output = self.output_layer
        if output.dropout:
            raise ExportError(f"model {self.model_id}: the output layer has no dropout in H2O")
        if self.is_classifier:
            if output.activation != "softmax" or len(self.class_labels) != output.units:
                raise ExportError(
                    f"model {self.model_id}: a classifier needs a softmax output with one unit per class "
                    f"({output.activation}, {output.units} units, {len(self.class_labels)} classes)"
                )
            if self.category == "Binomial" and (output.units != 2 or self.default_threshold is None):
                raise ExportError(f"model {self.model_id}: a binomial model needs 2 classes and a default threshold")
        elif self.category == "Regression":
            if output.activation != "linear" or output.units != 1:
                raise ExportError(f"model {self.model_id}: a regression model needs one linear output unit")
        elif output.activation not in HIDDEN_ACTIVATIONS or output.activation == "maxout":
            raise ExportError(f"model {self.model_id}: autoencoder output activation {output.activation}")
        elif output.units != self.n_inputs:
            raise ExportError(f"model {self.model_id}: an autoencoder must reconstruct its {self.n_inputs} inputs")
        if (self.response_sub is None) != (self.response_mul is None):
            raise ExportError(f"model {self.model_id}: response_sub and response_mul must both be given or both None")
        if self.response_mul is not None and self.category != "Regression":
            raise ExportError(f"model {self.model_id}: only regression models de-standardize their response")

    @property
    def input_columns(self) -> tuple[str, ...]:
        """The raw columns the network reads, in H2O's order (categoricals first)."""
        return tuple(c.name for c in self.categorical_inputs) + self.numeric_inputs

    @property
    def expanded_input_names(self) -> tuple[str, ...]:
        """One name per input unit, as H2O names the columns of `model.weights(0)`."""
        names: list[str] = []
        for column in self.categorical_inputs:
            names.extend(column.expanded_names(self.use_all_factor_levels))
        return (*names, *self.numeric_inputs)

    @property
    def n_inputs(self) -> int:
        """Number of input units (categoricals expanded)."""
        return len(self.expanded_input_names)

    @property
    def numeric_start(self) -> int:
        """Index of the first numeric input unit (after the one-hot blocks)."""
        return self.n_inputs - len(self.numeric_inputs)

    @property
    def hidden_layers(self) -> tuple[Layer, ...]:
        """The hidden layers (every layer but the output)."""
        return self.layers[:-1]

    @property
    def output_layer(self) -> Layer:
        """The output layer."""
        return self.layers[-1]

    @property
    def is_classifier(self) -> bool:
        """Binomial or multinomial."""
        return self.category in ("Binomial", "Multinomial")

    @property
    def is_autoencoder(self) -> bool:
        """Whether the output reconstructs the inputs."""
        return self.category == "AutoEncoder"

    def input_scaling(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per input unit `(sub, mul)`: H2O's scaling for numerics, (0, 1) for one-hot units.

        None when the model does not standardize its inputs.
        """
        if self.norm_sub is None or self.norm_mul is None:
            return None
        sub = np.zeros(self.n_inputs)
        mul = np.ones(self.n_inputs)
        sub[self.numeric_start :] = self.norm_sub
        mul[self.numeric_start :] = self.norm_mul
        return sub, mul

    def check_layer_index(self, layer: int) -> None:
        """Raise ExportError unless `layer` is a 0-based hidden layer index (as in H2O's deepfeatures)."""
        hidden = len(self.hidden_layers)
        if not 0 <= layer < hidden:
            raise ExportError(
                f"model {self.model_id}: hidden layer {layer} does not exist; it has {hidden} hidden layer(s), "
                f"numbered 0 to {hidden - 1}"
            )

    def save(self, path: str | Path) -> Path:
        """Write the spec to one `.npz` file (arrays plus JSON metadata; no pickle)."""
        target = Path(path)
        arrays: dict[str, np.ndarray] = {"metadata": np.array(json.dumps(self._metadata(), sort_keys=True))}
        if self.norm_sub is not None and self.norm_mul is not None:
            arrays["norm_sub"] = self.norm_sub
            arrays["norm_mul"] = self.norm_mul
        for index, layer in enumerate(self.layers):
            arrays[f"layer{index}_weights"] = layer.weights
            arrays[f"layer{index}_biases"] = layer.biases
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
        return target

    def _metadata(self) -> dict[str, Any]:
        return {
            "format": SPEC_FORMAT,
            "model_id": self.model_id,
            "category": self.category,
            "activation": self.activation,
            "categorical_inputs": [{"name": c.name, "levels": list(c.levels)} for c in self.categorical_inputs],
            "numeric_inputs": list(self.numeric_inputs),
            "use_all_factor_levels": self.use_all_factor_levels,
            "layers": [{"activation": layer.activation, "dropout": layer.dropout} for layer in self.layers],
            "input_dropout": self.input_dropout,
            "l1": self.l1,
            "l2": self.l2,
            "max_w2": None if math.isinf(self.max_w2) else self.max_w2,
            "response_name": self.response_name,
            "class_labels": list(self.class_labels),
            "default_threshold": self.default_threshold,
            "response_sub": self.response_sub,
            "response_mul": self.response_mul,
            "response_link": self.response_link,
        }

    @classmethod
    def load(cls, path: str | Path) -> NetworkSpec:
        """Read a spec written by `save`.

        Raises:
            ExportError: the file is not a network spec of this format.
        """
        with np.load(Path(path), allow_pickle=False) as data:
            if "metadata" not in data.files:
                raise ExportError(f"{path} is not a network spec (no metadata)")
            meta = json.loads(str(data["metadata"]))
            if meta.get("format") != SPEC_FORMAT:
                raise ExportError(f"{path}: unknown network spec format {meta.get('format')!r}, expected {SPEC_FORMAT}")
            layers = tuple(
                Layer(
                    activation=cast(Activation, item["activation"]),
                    weights=data[f"layer{index}_weights"],
                    biases=data[f"layer{index}_biases"],
                    dropout=float(item["dropout"]),
                )
                for index, item in enumerate(meta["layers"])
            )
            norm_sub = data["norm_sub"] if "norm_sub" in data.files else None
            norm_mul = data["norm_mul"] if "norm_mul" in data.files else None
            return cls(
                model_id=meta["model_id"],
                category=meta["category"],
                activation=meta["activation"],
                categorical_inputs=tuple(
                    CategoricalInput(item["name"], tuple(item["levels"])) for item in meta["categorical_inputs"]
                ),
                numeric_inputs=tuple(meta["numeric_inputs"]),
                use_all_factor_levels=bool(meta["use_all_factor_levels"]),
                norm_sub=norm_sub,
                norm_mul=norm_mul,
                layers=layers,
                input_dropout=float(meta["input_dropout"]),
                l1=float(meta["l1"]),
                l2=float(meta["l2"]),
                max_w2=math.inf if meta["max_w2"] is None else float(meta["max_w2"]),
                response_name=meta["response_name"],
                class_labels=tuple(meta["class_labels"]),
                default_threshold=meta["default_threshold"],
                response_sub=meta["response_sub"],
                response_mul=meta["response_mul"],
                response_link=meta["response_link"],
            )
