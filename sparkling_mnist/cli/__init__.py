"""The `sparkling-mnist` command (`main`): one subcommand per job, the same functions the
`jobs/*.py` spark-submit entry points call; the options every command shares
(`options`), `export-keras` (`export`) and `models` (`models`).
"""

from sparkling_mnist.cli.main import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
