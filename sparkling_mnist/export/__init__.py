"""Export H2O deep-learning models: a numpy forward pass and Keras 3, checked against H2O.

    from sparkling_mnist.export import export_keras
    report = export_keras(model, frame, "runs/x/export/classifier.keras")
    report.check.max_abs_diff  # {"numpy": ..., "keras": ..., "keras_reloaded": ...}

Modules: `network_spec` (the frozen NetworkSpec), `h2o_network` (read it from an H2O
model), `numpy_forward` (score it with numpy), `keras_model` (build the Keras model;
needs the `keras` extra), `check` (the agreement check), `exporter` (the functions
below), `encoder_chain` (the autoencoders' encoders chained in numpy, as H2O's
`deepfeatures`). The `export-keras` command is `sparkling_mnist.cli.export`.
"""

from sparkling_mnist.export.check import DEFAULT_SAMPLE_ROWS, DEFAULT_TOLERANCE, AgreementCheck
from sparkling_mnist.export.exporter import ExportReport, export_keras, export_network, score_exported
from sparkling_mnist.export.h2o_network import load_h2o_model, read_network
from sparkling_mnist.export.network_spec import CategoricalInput, Layer, NetworkSpec
from sparkling_mnist.export.numpy_forward import encode, expand_inputs, forward, predict_labels

__all__ = [
    "DEFAULT_SAMPLE_ROWS",
    "DEFAULT_TOLERANCE",
    "AgreementCheck",
    "CategoricalInput",
    "ExportReport",
    "Layer",
    "NetworkSpec",
    "encode",
    "expand_inputs",
    "export_keras",
    "export_network",
    "forward",
    "load_h2o_model",
    "predict_labels",
    "read_network",
    "score_exported",
]
