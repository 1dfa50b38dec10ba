"""The `sparkling-mnist` command: one subcommand per job, the same functions the
`jobs/*.py` spark-submit entry points call.

    sparkling-mnist run --config conf/local.yaml
    sparkling-mnist ingest --config conf/fashion-mnist.yaml --set run.dir=runs/fashion
    sparkling-mnist augment --config conf/local.yaml --set augment.copies=2
    sparkling-mnist train-baseline --config conf/local.yaml --conf spark.driver.memory=4g
    sparkling-mnist train-team --config conf/local.yaml --set team.keep=2
    sparkling-mnist models verify --config conf/local.yaml --store s3://bucket/models
    sparkling-mnist export-keras --run runs/local --model models/AE200_... --out ae200.keras --layer 0

Each command imports what it runs (the stages, Spark, H2O) when it runs: a mistyped
option or config key is answered before any of them loads.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sparkling_mnist import __version__
from sparkling_mnist.cli.export import COMMAND as EXPORT_COMMAND
from sparkling_mnist.cli.export import add_export_parser, run_export
from sparkling_mnist.cli.models import COMMAND as MODELS_COMMAND
from sparkling_mnist.cli.models import add_models_parser, run_models
from sparkling_mnist.cli.options import (
    add_job_options,
    add_log_level,
    add_store_options,
    configure_logging,
    parse_conf,
    store_overrides,
)
from sparkling_mnist.config.loading import load_config, shipped_configs
from sparkling_mnist.errors import SparklingMnistError
from sparkling_mnist.pipeline.stages import RUN_ALL, STAGE_TABLE
from sparkling_mnist.scoring import ENGINES

log = logging.getLogger("sparkling_mnist")

CLUSTER_HELP = "start or stop a Spark standalone cluster of N workers on 127.0.0.1 (pyspark's own launcher)"
PIPELINE_HELP = "save a stored run as a Spark ML PipelineModel (PipelineModel.load(path) scores without H2O)"
CONFIG_HELP = "list the shipped configs, or print one (`sparkling-mnist config local > mine.yaml`)"
SCORE_HELP = "score new images (the config's source) through a stored run's autoencoders and team"

COMMANDS: dict[str, tuple[list[str], str]] = {
    **{entry.command: ([entry.name], entry.command_help()) for entry in STAGE_TABLE if entry.command},
    "run": ([RUN_ALL], "the main job: every stage the config enables, resuming finished ones"),
}
"""Subcommand -> (the runner's stages, help), from the stage table."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `sparkling-mnist` command."""
    parser = argparse.ArgumentParser(prog="sparkling-mnist", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        add_job_options(cmd)
        cmd.add_argument("--force", action="store_true", help="rerun stages even when they are done")
    add_export_parser(sub)
    add_models_parser(sub)
    cluster = sub.add_parser("cluster", help=CLUSTER_HELP, description=CLUSTER_HELP)
    cluster.add_argument("action", choices=["start", "stop"])
    cluster.add_argument("--workers", type=int, default=2, help="worker processes (%(default)s)")
    cluster.add_argument("--cores", type=int, default=1, help="cores per worker (%(default)s)")
    cluster.add_argument("--memory", default="3g", help="memory per worker (%(default)s)")
    cluster.add_argument("--root", type=Path, default=Path("runs/cluster"), help="logs, work dirs (%(default)s)")
    add_log_level(cluster)
    pipeline = sub.add_parser("export-pipeline", help=PIPELINE_HELP, description=PIPELINE_HELP)
    add_job_options(pipeline, config_help="YAML job config: its store section")
    add_store_options(pipeline)
    pipeline.add_argument("--out", required=True, help="where to save it: a path, file:// or hdfs:// URI")
    shown = sub.add_parser("config", help=CONFIG_HELP, description=CONFIG_HELP)
    shown.add_argument("name", nargs="?", help="a shipped config's name (none: list them)")
    add_log_level(shown)
    score = sub.add_parser("score", help=SCORE_HELP, description=SCORE_HELP)
    add_job_options(score, config_help="YAML job config: its store and source sections")
    add_store_options(score)
    score.add_argument("--engine", choices=ENGINES, default="h2o", help="h2o cluster, or spark without H2O")
    score.add_argument("--out", required=True, type=Path, help="predictions Parquet file to write")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand. Returns the exit code: 0 done, 2 a problem the user can fix."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    handlers = {
        EXPORT_COMMAND: run_export,
        "score": _score,
        "cluster": _cluster,
        MODELS_COMMAND: run_models,
        "config": _config,
        "export-pipeline": _export_pipeline,
    }
    if args.command in handlers:
        return handlers[args.command](args)
    stages, _ = COMMANDS[args.command]
    try:
        cfg = load_config(args.config, args.set)
        from sparkling_mnist.pipeline.runner import run_stages  # the stages, Spark and H2O: once the config holds

        run = run_stages(cfg, stages, parse_conf(args.conf), force=args.force)
    except SparklingMnistError as exc:
        log.error("%s failed: %s", args.command, exc)
        return 2
    log.info("%s finished: %s", args.command, run.root)
    return 0


def _export_pipeline(args: argparse.Namespace) -> int:
    from sparkling_mnist.runtime.session import SparkH2OSession
    from sparkling_mnist.scoring.pipeline_model import export_pipeline
    from sparkling_mnist.scoring.plan import ScoringPlan
    from sparkling_mnist.store import open_store

    try:
        cfg = load_config(args.config, store_overrides(args))
        with SparkH2OSession(cfg, parse_conf(args.conf)) as session:
            store = open_store(cfg.store, session.spark)
            plan = ScoringPlan.from_manifest(store.manifest(cfg.store_run_id()))
            out = export_pipeline(plan, store, args.out)
    except SparklingMnistError as exc:
        log.error("export-pipeline failed: %s", exc)
        return 2
    log.info("export-pipeline finished: %s", out)
    return 0


def _config(args: argparse.Namespace) -> int:
    """List the shipped configs, or print one to stdout (the command's output, not a log)."""
    shipped = shipped_configs()
    if args.name is None:
        for name, path in shipped.items():
            sys.stdout.write(f"{name}\t{path}\n")
        return 0
    if args.name not in shipped:
        log.error("config %s: not a shipped config (%s)", args.name, ", ".join(shipped))
        return 2
    sys.stdout.write(shipped[args.name].read_text())
    return 0


def _cluster(args: argparse.Namespace) -> int:
    from sparkling_mnist.runtime.cluster import LocalCluster, stop_recorded

    try:
        if args.action == "stop":
            log.info("stopped %d process group(s)", stop_recorded(args.root.resolve()))
            return 0
        cluster = LocalCluster(workers=args.workers, cores=args.cores, memory=args.memory, root=args.root).start()
        state = cluster.save_state()
    except SparklingMnistError as exc:
        log.error("cluster %s failed: %s", args.action, exc)
        return 2
    conf = " ".join(f"--conf {key}={value}" for key, value in cluster.spark_conf().items() if key != "spark.master")
    log.info("cluster up (%s): spark-submit --master %s %s ...", state, cluster.master_url, conf)
    return 0


def _score(args: argparse.Namespace) -> int:
    from sparkling_mnist.scoring.job import run_score

    try:
        cfg = load_config(args.config, store_overrides(args))
        out = run_score(cfg, engine=args.engine, out=args.out.resolve(), cli_conf=parse_conf(args.conf))
    except SparklingMnistError as exc:
        log.error("score failed: %s", exc)
        return 2
    log.info("score finished: %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
