"""The `models` command: the model store from the command line.

    sparkling-mnist models list     --config conf/local.yaml --store s3://bucket/models
    sparkling-mnist models verify   --config conf/local.yaml [--run-id ID]
    sparkling-mnist models save-all --config conf/local.yaml [--run-id ID]
    sparkling-mnist models load     --config conf/local.yaml --run-id ID

`list` and `verify` read the store directly (no Spark for local and S3 stores);
`save-all` starts the job's Spark+H2O session and saves every model of the run
directory (those its metrics name, and every other model file) with its manifest; `load` loads a
stored run into a fresh cluster (a check that it is usable from anywhere).
Exit codes: 0 fine, 1 a model failed or a check found a problem, 2 a usage error.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

from sparkling_mnist.cli.options import add_job_options, add_store_options, parse_conf, store_overrides
from sparkling_mnist.config.loading import load_config
from sparkling_mnist.config.settings import JobConfig
from sparkling_mnist.errors import SparklingMnistError
from sparkling_mnist.rundir import RunDir

if TYPE_CHECKING:
    from sparkling_mnist.runtime.session import SparkH2OSession

log = logging.getLogger("sparkling_mnist")

COMMAND = "models"
ACTIONS = ("list", "verify", "save-all", "load")
HELP = "the model store: list runs, verify checksums, save every model, load a stored run"


def add_models_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `models` subcommand to an `add_subparsers()` object."""
    cmd: argparse.ArgumentParser = subparsers.add_parser(COMMAND, help=HELP, description=HELP)
    cmd.add_argument("action", choices=ACTIONS)
    add_job_options(cmd)
    add_store_options(cmd)
    return cmd


def run_models(args: argparse.Namespace) -> int:
    """Run one `models` action; returns the exit code."""
    try:
        cfg = load_config(args.config, store_overrides(args))
        from sparkling_mnist.runtime.session import SparkH2OSession  # Spark and H2O: once the config holds

        location = cfg.store.location
        if args.action in ("list", "verify") and not (location is not None and location.needs_spark):
            return _list_or_verify(cfg, args.action, explicit_run=args.run_id)
        with SparkH2OSession(cfg, parse_conf(args.conf)) as session:
            if args.action in ("list", "verify"):
                return _list_or_verify(cfg, args.action, explicit_run=args.run_id, spark=session.spark)
            if args.action == "save-all":
                return _save_all(cfg, session)
            return _load(cfg, session)
    except SparklingMnistError as exc:
        log.error("models %s failed: %s", args.action, exc)
        return 2


def _list_or_verify(cfg: JobConfig, action: str, *, explicit_run: str | None, spark: Any = None) -> int:
    from sparkling_mnist.store import open_store

    store = open_store(cfg.store, spark)
    runs = [explicit_run] if explicit_run else store.runs()
    problems = 0
    for run_id in runs:
        report = store.verify(run_id) if action == "verify" else None
        try:
            manifest = store.manifest(run_id)
            state = "complete" if manifest["complete"] else f"incomplete ({len(manifest['failed'])} failed)"
            line = f"{run_id}: {state}, {len(manifest['models'])} model(s), written {manifest['written_at']}"
        except SparklingMnistError as exc:
            line = f"{run_id}: {exc}"
            problems += 1
        if report is not None:
            line += f"; verified {report.checked} file(s)" + (
                "" if report.ok else f", {len(report.problems)} problem(s)"
            )
            problems += 0 if report.ok else 1
            for problem in report.problems:
                log.error("%s: %s", run_id, problem)
        log.info("%s", line)
    if not runs:
        log.info("no runs in %s", store.location.root)
    return 1 if problems and action == "verify" else 0


def _save_all(cfg: JobConfig, session: SparkH2OSession) -> int:
    """Every model of the run directory (those its metrics name, and every other model
    file) saved to the store with the manifest."""
    from sparkling_mnist.store import open_store
    from sparkling_mnist.store.run import save_run

    store = open_store(cfg.store, session.spark)
    report = save_run(store, session, RunDir.at(cfg.run.dir), cfg.store_run_id(), every_file=True)
    for model_id, reason in report.failed.items():
        log.error("not saved: %s: %s", model_id, reason)
    log.info("saved %d model(s) to %s", len(report.saved), report.manifest_path)
    return 0 if report.ok else 1


def _load(cfg: JobConfig, session: SparkH2OSession) -> int:
    from sparkling_mnist.store import open_store

    _ = session.h2o
    loaded = open_store(cfg.store, session.spark).load_run(cfg.store_run_id())
    for stored_id, model in loaded.items():
        log.info("loaded %s as %s (%s)", stored_id, model.model_id, model.algo)
    return 0
