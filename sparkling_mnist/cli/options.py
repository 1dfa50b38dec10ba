"""The options every command shares, declared once: `--config`, `--set`, `--conf`,
`--log-level` (and `--store`/`--run-id` for the commands that read the model store),
with the parsing of `--conf` and the logging set-up they imply.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sparkling_mnist.errors import ConfigError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_CONFIG = "local"  # the shipped conf/local.yaml, found from any folder


def add_job_options(parser: argparse.ArgumentParser, *, config_help: str = "YAML job config") -> None:
    """`--config`, `--set`, `--conf` and `--log-level`."""
    parser.add_argument(
        "--config",
        default=DEFAULT_CONFIG,
        help=f"{config_help}: a YAML path or a shipped config's name (default: %(default)s; "
        "`sparkling-mnist config` lists them)",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a config value (repeatable)"
    )
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="spark.KEY=VALUE",
        help="a Spark or Sparkling Water (spark.ext.h2o.*) setting (repeatable)",
    )
    add_log_level(parser)


def add_log_level(parser: argparse.ArgumentParser) -> None:
    """`--log-level` alone (commands without a job config)."""
    parser.add_argument("--log-level", default="INFO", choices=LOG_LEVELS, help="(default: %(default)s)")


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """`--store` and `--run-id`: which stored run (defaults: the config's)."""
    parser.add_argument("--store", default=None, help="store URI (default: the config's store.uri)")
    parser.add_argument("--run-id", default=None, help="run id in the store (default: the config's)")


def store_overrides(args: argparse.Namespace) -> list[str]:
    """`--set` overrides plus what `--store` and `--run-id` say, as overrides too."""
    overrides = list(args.set)
    overrides += [f"store.uri={args.store}"] if args.store else []
    overrides += [f"store.run_id={args.run_id}"] if args.run_id else []
    return overrides


def parse_conf(items: Sequence[str]) -> dict[str, str]:
    """`--conf spark.key=value` items as a mapping.

    Raises:
        ConfigError: an item that is not `spark.key=value`.
    """
    conf = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("spark."):
            raise ConfigError(f"--conf {item!r}: expected spark.key=value")
        conf[key] = value
    return conf


def configure_logging(level: str) -> None:
    """Log lines with time and module to stderr; quiet the chattiest libraries."""
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("py4j", "urllib3", "h2o"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
