"""Export H2O deep-learning models to Keras 3 or a numpy `.npz`, checked against H2O.

    from sparkling_mnist.export.exporter import export_keras
    report = export_keras(model, frame, "runs/x/export/classifier.keras")
    report.check.max_abs_diff  # {"numpy": ..., "keras": ..., "keras_reloaded": ...}

Modules: `exporter` (export_keras, export_network, score_exported), `keras_model` (build
the Keras model; needs the `keras` extra), `check` (the agreement check and its file).
The network itself (its spec, reading it from H2O, the numpy forward pass) is
:mod:`sparkling_mnist.network`; the `export-keras` command is `sparkling_mnist.cli.export`.
"""
