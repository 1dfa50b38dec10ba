"""What a torch-trained network must be so that H2O can take it over: pure numpy.

H2O deep learning (autoencoder or classifier) is described by its estimator parameters;
`network_plan` reads the ones that define the function (layers, activation, dropout,
regularisation, input scaling) and rejects the ones torch cannot reproduce. H2O's input
transform is reproduced exactly (`input_scaling`, from `ColumnStats` gathered over the
same rows H2O sees), and `h2o_initial_weights` turns torch's weights into H2O's
`initial_weights`/`initial_biases` so that H2O's scoring equals torch's eval mode.

The H2O facts used (h2o-3 3.46 `DataInfo`, `DeepLearning`, `Neurons`):
- transform: `standardize ? (autoencoder ? NORMALIZE : sparse ? DESCALE : STANDARDIZE) :
  NONE`; NORMALIZE: sub = mean, mul = 1/(max - min); STANDARDIZE: sub = mean,
  mul = 1/sd (n - 1); DESCALE: sub = 0, mul = 1/sd; a constant column gets mul = 1;
- `ignore_const_cols` (default on) drops columns with max == min before all that;
- an autoencoder's output layer uses the hidden activation (without dropout) and its
  MSE is taken on the transformed inputs;
- `...WithDropout` layers drop units without rescaling while training and multiply by
  `1 - ratio` at scoring (default ratio 0.5); input dropout is not applied at scoring.
  Torch's dropout is inverted (identity at eval), so the layer after a dropout layer
  gets its weights divided by `1 - ratio`: H2O then scores exactly as torch's eval mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Transform = Literal["normalize", "standardize", "descale", "none"]
Activation = Literal["tanh", "relu", "elu"]

_ACTIVATIONS: dict[str, tuple[Activation, bool]] = {
    "Tanh": ("tanh", False),
    "TanhWithDropout": ("tanh", True),
    "Rectifier": ("relu", False),
    "RectifierWithDropout": ("relu", True),
}
CHUNK_ROWS = 65_536
"""Rows converted to float64 at a time by the statistics and the scaling."""
DEFAULT_HIDDEN_DROPOUT = 0.5
"""H2O's hidden dropout ratio of a `...WithDropout` layer when none is given."""

# Parameters that change the trained function in ways the torch trainer does not
# reproduce: a torch-trained model with one of these would not be the model asked for.
UNSUPPORTED = {
    "checkpoint": "continue a torch-trained model with torch.h2o_epochs instead",
    "initial_weights": "set by the torch trainer",
    "initial_biases": "set by the torch trainer",
    "loss": "torch trains with H2O's default loss (CrossEntropy, Quadratic for autoencoders)",
    "distribution": "torch trains multinomial classifiers and autoencoders only",
    "max_w2": "torch does not cap the squared weights",
    "weights_column": "torch does not weight rows",
    "offset_column": "torch does not take offsets",
    "use_all_factor_levels": "torch takes numeric inputs only",
    "max_categorical_features": "torch takes numeric inputs only",
    "categorical_encoding": "torch takes numeric inputs only",
}
# Parameters that only steer H2O's own optimiser or scoring: the torch trainer uses
# its own (the `torch` settings); they still apply to the H2O fine-tuning epochs.
H2O_OPTIMISER = {
    "adaptive_rate",
    "rho",
    "epsilon",
    "rate",
    "rate_annealing",
    "rate_decay",
    "momentum_start",
    "momentum_ramp",
    "momentum_stable",
    "nesterov_accelerated_gradient",
    "train_samples_per_iteration",
    "target_ratio_comm_to_comp",
    "mini_batch_size",
    "fast_mode",
    "force_load_balance",
    "replicate_training_data",
    "shuffle_training_data",
    "reproducible",
    "single_node_mode",
    "score_interval",
    "score_duty_cycle",
    "score_each_iteration",
    "stopping_rounds",
    "stopping_metric",
    "stopping_tolerance",
    "classification_stop",
    "regression_stop",
    "overwrite_with_best_model",
    "max_runtime_secs",
    "initial_weight_distribution",
    "initial_weight_scale",
    "diagnostics",
    "variable_importances",
    "quiet_mode",
    "export_weights_and_biases",
    "elastic_averaging",
    "elastic_averaging_moving_rate",
    "elastic_averaging_regularization",
    "average_activation",
    "sparsity_beta",
    "model_id",
    "nfolds",
    "keep_cross_validation_models",
    "keep_cross_validation_predictions",
    "keep_cross_validation_fold_assignment",
    "fold_assignment",
    "fold_column",
    "balance_classes",
    "class_sampling_factors",
    "max_after_balance_size",
    "max_confusion_matrix_size",
    "max_hit_ratio_k",
    "missing_values_handling",
    "ignored_columns",
    "huber_alpha",
    "quantile_alpha",
    "tweedie_power",
    "col_major",
    "pretrained_autoencoder",
    "auc_type",
    "custom_metric_func",
    "export_checkpoints_dir",
}


@dataclass(frozen=True)
class NetworkPlan:
    """The function a torch network must compute to become this H2O model.

    Attributes:
        autoencoder: reconstruct the (transformed) inputs, else classify.
        hidden: units per hidden layer.
        activation: of every hidden layer (and an autoencoder's output layer).
        input_dropout: ratio of inputs dropped while training.
        hidden_dropout: ratio per hidden layer (0 where the layer has none).
        l1, l2: weight penalties (weights only, not biases).
        transform: H2O's input transform.
        ignore_const_cols: drop constant input columns (as H2O does).
        epochs: passes over the training rows.
        seed: the weight initialisation and shuffling seed.
        score_training_samples: rows of the training data scored per epoch (0: all).
        score_validation_samples: rows of the validation data scored per epoch (0: all).
        ignored: H2O optimiser parameters the torch trainer does not use.
    """

    autoencoder: bool
    hidden: tuple[int, ...]
    activation: Activation
    input_dropout: float
    hidden_dropout: tuple[float, ...]
    l1: float
    l2: float
    transform: Transform
    ignore_const_cols: bool
    epochs: float
    seed: int
    score_training_samples: int = 10_000
    score_validation_samples: int = 0
    ignored: tuple[str, ...] = field(default=())


def network_plan(params: Mapping[str, Any], *, autoencoder: bool, where: str, seed: int = 42) -> NetworkPlan:
    """The plan of an H2O deep-learning model from its estimator parameters.

    Args:
        params: H2ODeepLearningEstimator parameters by their H2O names, including
            `hidden` (for autoencoders: the one hidden layer).
        autoencoder: an autoencoder (else a classifier).
        where: the config key path of `params`, for errors.
        seed: used when `params` has no `seed`.

    Raises:
        ValueError: a parameter torch cannot reproduce, naming `where.<name>` and why.
    """
    for name, why in UNSUPPORTED.items():
        if params.get(name) is not None:
            raise ValueError(f"{where}.{name}: not supported with trainer: torch ({why})")
    activation_name = str(params.get("activation") or "Rectifier")
    if activation_name not in _ACTIVATIONS:
        raise ValueError(
            f"{where}.activation: {activation_name!r} is not supported with trainer: torch "
            f"(one of {', '.join(_ACTIVATIONS)})"
        )
    activation, with_dropout = _ACTIVATIONS[activation_name]
    hidden_value = params.get("hidden", [200, 200])
    hidden = tuple(int(units) for units in (hidden_value if isinstance(hidden_value, list | tuple) else [hidden_value]))
    dropout = _hidden_dropout(params.get("hidden_dropout_ratios"), len(hidden), with_dropout, where)
    standardize = bool(params.get("standardize", True))
    transform: Transform = "none"
    if standardize:
        transform = "normalize" if autoencoder else ("descale" if params.get("sparse") else "standardize")
    epochs = float(params.get("epochs", 10))
    if epochs <= 0:
        raise ValueError(f"{where}.epochs: {epochs} (the torch trainer needs at least a fraction of one epoch)")
    return NetworkPlan(
        autoencoder=autoencoder,
        hidden=hidden,
        activation=activation,
        input_dropout=float(params.get("input_dropout_ratio") or 0.0),
        hidden_dropout=dropout,
        l1=float(params.get("l1") or 0.0),
        l2=float(params.get("l2") or 0.0),
        transform=transform,
        ignore_const_cols=bool(params.get("ignore_const_cols", True)),
        epochs=epochs,
        seed=int(params.get("seed", seed)) & 0x7FFFFFFF,
        score_training_samples=int(params.get("score_training_samples", 10_000)),
        score_validation_samples=int(params.get("score_validation_samples", 0)),
        ignored=tuple(sorted(name for name in params if name in H2O_OPTIMISER)),
    )


def _hidden_dropout(given: Any, layers: int, with_dropout: bool, where: str) -> tuple[float, ...]:
    if not with_dropout:
        if given is not None and any(float(ratio) for ratio in given):
            raise ValueError(f"{where}.hidden_dropout_ratios: needs a ...WithDropout activation (as in H2O)")
        return (0.0,) * layers
    ratios = [DEFAULT_HIDDEN_DROPOUT] * layers if given is None else [float(ratio) for ratio in given]
    if len(ratios) != layers:
        raise ValueError(f"{where}.hidden_dropout_ratios: {len(ratios)} ratios for {layers} hidden layers")
    if any(not 0.0 <= ratio < 1.0 for ratio in ratios):
        raise ValueError(f"{where}.hidden_dropout_ratios: each ratio must be in [0, 1), got {ratios}")
    return tuple(ratios)


@dataclass
class ColumnStats:
    """Count, sum, sum of squares, min and max per column: mergeable partial statistics
    (one per data shard, added up across processes)."""

    count: int
    total: np.ndarray
    squares: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, chunk: int = CHUNK_ROWS) -> ColumnStats:
        """Statistics of a (rows x columns) array, summed in float64 a chunk at a time
        (a float64 copy of a million rows of pixels would take 6 GB)."""
        width = values.shape[1]
        stats = cls(0, np.zeros(width), np.zeros(width), np.full(width, np.inf), np.full(width, -np.inf))
        for start in range(0, len(values), chunk):
            data = np.asarray(values[start : start + chunk], dtype=np.float64)
            part = cls(len(data), data.sum(axis=0), np.square(data).sum(axis=0), data.min(axis=0), data.max(axis=0))
            stats = stats.merge(part)
        return stats

    def merge(self, other: ColumnStats) -> ColumnStats:
        """The statistics of both shards together."""
        return ColumnStats(
            self.count + other.count,
            self.total + other.total,
            self.squares + other.squares,
            np.minimum(self.low, other.low),
            np.maximum(self.high, other.high),
        )

    def mean(self) -> np.ndarray:
        """Column means."""
        return np.asarray(self.total / max(self.count, 1))

    def sd(self) -> np.ndarray:
        """Column standard deviations with n - 1 in the denominator (H2O's sigma)."""
        if self.count < 2:
            return np.zeros_like(self.total)
        variance = (self.squares - self.count * np.square(self.mean())) / (self.count - 1)
        return np.asarray(np.sqrt(np.maximum(variance, 0.0)))


@dataclass(frozen=True)
class InputScaling:
    """Which input columns the network reads (H2O drops constant ones) and H2O's
    transform of them: `(x - sub) * mul`.

    Attributes:
        columns: indices of the kept columns in the data's column order.
        sub, mul: one value per kept column.
    """

    columns: np.ndarray
    sub: np.ndarray
    mul: np.ndarray

    def apply(self, values: np.ndarray, dtype: Any = np.float32, chunk: int = CHUNK_ROWS) -> np.ndarray:
        """The network's inputs from raw rows (all data columns), computed in float64 a
        chunk at a time and stored as `dtype`."""
        out = np.empty((len(values), len(self.columns)), dtype=dtype)
        for start in range(0, len(values), chunk):
            data = np.asarray(values[start : start + chunk], dtype=np.float64)[:, self.columns]
            out[start : start + chunk] = (data - self.sub) * self.mul
        return out


def input_scaling(stats: ColumnStats, transform: Transform, ignore_const_cols: bool) -> InputScaling:
    """H2O's input columns and transform for data with these statistics.

    Raises:
        ValueError: no rows, or every column constant.
    """
    if stats.count == 0:
        raise ValueError("no training rows")
    constant = stats.high <= stats.low
    columns = np.flatnonzero(~constant) if ignore_const_cols else np.arange(len(constant))
    if len(columns) == 0:
        raise ValueError("every input column is constant in the training rows")
    mean = stats.mean()[columns]
    sd = stats.sd()[columns]
    spread = (stats.high - stats.low)[columns]
    ones = np.ones(len(columns))
    if transform == "normalize":
        return InputScaling(columns, mean, np.divide(ones, spread, out=ones.copy(), where=spread > 0))
    if transform in ("standardize", "descale"):
        mul = np.divide(ones, sd, out=ones.copy(), where=sd > 0)
        return InputScaling(columns, mean if transform == "standardize" else np.zeros(len(columns)), mul)
    return InputScaling(columns, np.zeros(len(columns)), ones)


def h2o_initial_weights(
    layers: Sequence[tuple[np.ndarray, np.ndarray]], plan: NetworkPlan
) -> list[tuple[np.ndarray, np.ndarray]]:
    """H2O's initial weights and biases from torch's (weight out x in, bias out) per
    layer, input to output: the layer after a `...WithDropout` layer is divided by
    `1 - ratio`, undoing the scaling H2O applies at scoring. Float64 copies."""
    result = []
    for index, (weight, bias) in enumerate(layers):
        scale = 1.0
        if 0 < index <= len(plan.hidden):
            scale = 1.0 / (1.0 - plan.hidden_dropout[index - 1])
        result.append((np.asarray(weight, dtype=np.float64) * scale, np.asarray(bias, dtype=np.float64).copy()))
    return result


def layer_names(plan: NetworkPlan) -> list[str]:
    """Names of the layers as errors and reports call them: hidden 1.., then output."""
    return [f"hidden layer {index + 1} ({units} units)" for index, units in enumerate(plan.hidden)] + [
        "reconstruction" if plan.autoencoder else "output (class probabilities)"
    ]
