"""Experiment tracking (optional, `pip install -e '.[tracking]'`): a finished run's
config, figures, report, plots, manifest and PipelineModel logged to MLflow
(`mlflow_run`), so many runs can be compared side by side.
"""
