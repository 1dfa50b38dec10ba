"""The recipe's defaults: the baseline network, the autoencoders AE200, AE32, AE768 ->
AE128 and their parameter profiles, and the team's members. Plain data; the settings
models (the section modules of `config`) take them as their defaults.
"""

from __future__ import annotations

from typing import Any

Scalar = str | int | float | bool
H2OParamValue = Scalar | list[Any] | None  # lists: hidden layers, dropout ratios, ...

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

DEFAULT_BASELINE_PARAMS: dict[str, H2OParamValue] = {
    "hidden": [200, 200],
    "epochs": 10,
    "activation": "RectifierWithDropout",
}

RECIPE_AUTOENCODERS: list[dict[str, Any]] = [
    {"name": "AE200", "hidden": 200, "params": {"input_dropout_ratio": 0.3, "l2": 1e-4}},
    {"name": "AE32", "hidden": 32, "params": {"input_dropout_ratio": 0.1, "l2": 1e-5}},
    {"name": "AE768", "hidden": "nonconstant", "params": {"input_dropout_ratio": 0.3, "l2": 1e-4}},
    {"name": "AE128", "hidden": 128, "input": "AE768", "params": {"input_dropout_ratio": 0.0, "l2": 1e-5}},
]
RECIPE_AUTOENCODER_PARAMS: dict[str, H2OParamValue] = {
    "activation": "Tanh",
    "epochs": 20,
    "train_samples_per_iteration": 0,
}
# Plain SGD with momentum instead of ADADELTA, scoring on 1,000 sampled rows: 1.37x the
# samples/s of the recipe at a 6% higher reconstruction MSE after 2 epochs on 3,167
# digits (benchmarks/autoencoders.py; figures in the README).
AUTOENCODER_PROFILES: dict[str, dict[str, H2OParamValue]] = {
    "recipe": RECIPE_AUTOENCODER_PARAMS,
    "fast": {
        **RECIPE_AUTOENCODER_PARAMS,
        "adaptive_rate": False,
        "rate": 0.005,
        "momentum_start": 0.5,
        "momentum_stable": 0.9,
        "momentum_ramp": 1e6,
        "score_training_samples": 1000,
        "score_validation_samples": 1000,
    },
}


# The recipe's team: "two deep learning models, one random forest, one GBM", the
# strongest three kept. Sized for the embedded default; conf/bench-fashion.yaml scales up.
DEFAULT_MEMBERS: list[dict[str, Any]] = [
    {
        "name": "dl_rectifier",
        "algorithm": "deeplearning",
        "params": {
            "activation": "RectifierWithDropout",
            "hidden": [200, 200],
            "input_dropout_ratio": 0.2,
            "l1": 1e-5,
            "epochs": 10,
        },
    },
    {
        "name": "dl_tanh",
        "algorithm": "deeplearning",
        "params": {"activation": "Tanh", "hidden": [256], "l2": 1e-4, "epochs": 10},
    },
    {"name": "drf", "algorithm": "drf", "params": {"ntrees": 50}},
    {"name": "gbm", "algorithm": "gbm", "params": {"ntrees": 50, "max_depth": 5, "learn_rate": 0.1}},
]

# The out-of-distribution isolation forest (the walkthrough's detector), small enough to
# cost seconds on the embedded default: H2O's default depth, a 256-row sample per tree.
DEFAULT_ISOLATION_FOREST_PARAMS: dict[str, H2OParamValue] = {"ntrees": 50, "max_depth": 8, "sample_size": 256}
