"""The `export-keras` command: export a trained H2O deep-learning model of a run to
Keras, checked against H2O on rows of the run's image split.

    sparkling-mnist export-keras --run runs/local --model baseline --out runs/local/export/baseline.keras
    sparkling-mnist export-keras --run runs/local --model models/ae200 --layer 0 --out ae200_encoder.keras

`--model` is a model id on the running H2O cluster or a file written by
`h2o.save_model` (a path, or relative to the run directory). The check frame is the
first `--sample-rows` rows of the run's `--split` (pixels px0..px783 + label), so the
model's inputs must be pixel columns; for other inputs call
`sparkling_mnist.export.export_keras(model, frame, out)` with your own frame.

`add_export_parser` adds the subcommand to a parser; `run_export` runs it;
`main` is the stand-alone entry point used by `jobs/export_keras.py`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkling_mnist.cli.options import add_job_options, configure_logging, parse_conf
from sparkling_mnist.config.loading import load_config
from sparkling_mnist.errors import ExportError, SparklingMnistError
from sparkling_mnist.export.check import DEFAULT_SAMPLE_ROWS, DEFAULT_TOLERANCE
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.schema import SPLITS

if TYPE_CHECKING:
    from sparkling_mnist.export.exporter import ExportReport
    from sparkling_mnist.runtime.session import SparkH2OSession

log = logging.getLogger("sparkling_mnist")

COMMAND = "export-keras"
HELP = "export a trained H2O deep-learning model to Keras, checked against H2O's predictions"


def add_export_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `export-keras` subcommand to an `add_subparsers()` object; returns its parser."""
    cmd: argparse.ArgumentParser = subparsers.add_parser(COMMAND, help=HELP, description=HELP)
    cmd.add_argument("--run", required=True, help="the run directory (its split gives the rows to check on)")
    cmd.add_argument("--model", required=True, help="H2O model id on the cluster, or a file saved with h2o.save_model")
    cmd.add_argument("--out", required=True, type=Path, help="the .keras file to write")
    cmd.add_argument("--layer", type=int, default=None, help="export the encoder up to this hidden layer (0-based)")
    cmd.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="max |H2O - export| (%(default)g)")
    cmd.add_argument("--sample-rows", type=int, default=DEFAULT_SAMPLE_ROWS, help="rows to check on (%(default)d)")
    cmd.add_argument("--split", choices=SPLITS, default="test", help="split of the run to check on (%(default)s)")
    cmd.add_argument(
        "--compile",
        action="store_true",
        help="save it compiled for further training: Adam + categorical cross-entropy (classifiers) or MSE",
    )
    add_job_options(cmd)
    return cmd


def resolve_model_ref(run: RunDir, model: str) -> str:
    """A model file path if `model` names one (as given, or under the run dir), else the id."""
    for candidate in (Path(model).expanduser(), run.root / model):
        if candidate.is_file():
            return str(candidate.resolve())
    return model


def export_from_run(
    session: SparkH2OSession,
    run: RunDir,
    model: str,
    out: Path,
    *,
    layer: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    split: str = "test",
    compile_model: bool = False,
) -> ExportReport:
    """Export `model` to `out`, checking it on the first rows of the run's `split`.

    Raises:
        ExportError: the split is missing, the model cannot be found or exported, or
            the check failed.
    """
    from sparkling_mnist.data.h2o_frames import images_to_h2o  # Spark and H2O: loaded when the command runs
    from sparkling_mnist.data.ingest import read_split
    from sparkling_mnist.export.exporter import export_keras
    from sparkling_mnist.network.h2o_reader import load_h2o_model

    if not run.split(split).is_dir():
        raise ExportError(f"run {run.root} has no {split} split at {run.split(split)}; run `sparkling-mnist ingest`")
    hc = session.h2o
    h2o_model = load_h2o_model(resolve_model_ref(run, model))
    images = read_split(session.spark, run, split).orderBy("id").limit(sample_rows)
    frame = images_to_h2o(hc, images, f"export_check_{split}")
    return export_keras(
        h2o_model, frame, out, tolerance=tolerance, sample_rows=sample_rows, layer=layer, compile_model=compile_model
    )


def run_export(args: argparse.Namespace) -> int:
    """Run a parsed `export-keras` command. Returns 0 done, 2 a problem the user can fix."""
    try:
        cfg = load_config(args.config, [*args.set, f"run.dir={args.run}"])
        from sparkling_mnist.runtime.session import SparkH2OSession  # Spark and H2O: once the config holds

        with SparkH2OSession(cfg, parse_conf(args.conf)) as session:
            report = export_from_run(
                session,
                RunDir.at(cfg.run.dir),
                args.model,
                args.out,
                layer=args.layer,
                tolerance=args.tolerance,
                sample_rows=args.sample_rows,
                split=args.split,
                compile_model=args.compile,
            )
    except SparklingMnistError as exc:
        log.error("%s failed: %s", COMMAND, exc)
        return 2
    log.info("%s finished: %s (check: %s)", COMMAND, report.keras_path, report.check_path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: `python -m sparkling_mnist.cli.export --run ... --model ... --out ...`."""
    parser = argparse.ArgumentParser(prog="sparkling-mnist", description=__doc__.split("\n\n")[0])
    add_export_parser(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args([COMMAND, *(argv if argv is not None else sys.argv[1:])])
    configure_logging(args.log_level)
    return run_export(args)


if __name__ == "__main__":
    sys.exit(main())
