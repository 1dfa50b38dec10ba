"""How well a model does: classification metrics and log loss (`classification`),
binary metrics and curves (`binary`), an H2O classifier's probabilities and metrics
(`h2o_classifier`), charts (`charts`) and the run's HTML report (`report`).
"""
