"""Saving a run's models to the store: the one place that decides which models a run
has and where each is read from (the `store` stage and `models save-all` both call it).
"""

from __future__ import annotations

import logging
from typing import Any

from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.models import load_model
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.store.manifest import model_roles, run_lineage
from sparkling_mnist.store.model_store import ModelStore, SaveReport

log = logging.getLogger(__name__)


def run_model_files(run: RunDir) -> list[str]:
    """The H2O model files of the run directory (not the torch trainer's `.json` records)."""
    if not run.models.is_dir():
        return []
    return sorted(path.name for path in run.models.iterdir() if path.is_file() and path.suffix != ".json")


def save_run(
    store: ModelStore, session: SparkH2OSession, run: RunDir, run_id: str, *, every_file: bool = False
) -> SaveReport:
    """Save the models the run's metrics name (with their roles and the run's lineage in
    the manifest), each taken from the cluster or reloaded from the run directory.

    Args:
        every_file: also save every other model file of the run directory (models no
            stage names any more, such as members of an earlier config).

    Returns:
        The report; failures (a model neither in the cluster nor on disk, a failed
        write) are in it, never raised.
    """
    metrics = run.read_metrics()
    roles = model_roles(metrics)
    wanted = list(roles)
    if every_file:
        wanted += [name for name in run_model_files(run) if name not in roles]
    models: list[Any] = []
    for model_id in wanted:
        model = session.h2o_model(model_id)
        if model is None and (run.models / model_id).is_file():
            model = load_model(run.models / model_id)
        models.append(model if model is not None else model_id)
    log.info("store: saving %d model(s) of %s as run %s", len(models), run.root, run_id)
    return store.save(run_id, models, roles=roles, lineage=run_lineage(metrics))
