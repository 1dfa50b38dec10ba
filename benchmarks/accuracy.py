"""Plain scikit-learn anchors on exactly a finished run's split, beside the run's own team.

    python benchmarks/accuracy.py --run runs/local [--config-name local] \\
        [--out benchmarks/results/accuracy-local.json]
    python benchmarks/accuracy.py --config conf/local.yaml [--set run.dir=runs/acc]

With `--config`, the ingest and augment stages run first (`sparkling-mnist ingest` and
`sparkling-mnist augment`, skipped by the pipeline when already done) and the run is the
config's `run.dir`. Each anchor (CPU, random_state=0) is trained on the run's train split
(pixels scaled to [0, 1]) and scored on its valid and test splits; `mlp_pixels_augmented`
adds every row of `data/augmented`. When the run has a `metrics.json`, its team, kept
members and baseline are added as rows, with the team's test error relative to the best
anchor and to the best kept member. Writes JSON to --out (default
benchmarks/results/accuracy-<config-name>.json) and prints a Markdown table. Not run by CI;
needs the `bench` extra (scikit-learn).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow.parquet as pq
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from sparkling_mnist.config import load_config
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.schema import pixels_from_arrow

log = logging.getLogger("benchmarks.accuracy")

SPLITS = ("train", "valid", "test")
RANDOM_STATE = 0
# Kept modest: the anchors are a yardstick, not a tuned result, and the augmented MLP sees
# ~12x the rows of the others.
MLP_MAX_ITER = 30
SVC_MAX_ROWS = 20_000
"""An RBF SVC trains on at most this many rows (the first of a seeded shuffle): its fit
grows with the square of the rows (about 6 minutes for 20 K here, hours for 57 K)."""
PUBLISHED: dict[str, dict[str, dict[str, Any]]] = {
    "fashion-mnist": {
        "published_svc_rbf": {
            "test_error": round(1 - 0.897, 4),
            "cite": "Xiao et al. 2017, arXiv:1708.07747, table 3: SVC C=10 kernel=rbf, 60 K train, 10 K test",
        },
        "published_gbm": {
            "test_error": round(1 - 0.880, 4),
            "cite": "Xiao et al. 2017, table 3: GradientBoostingClassifier n_estimators=100 max_depth=10",
        },
        "published_mlp_sklearn": {
            "test_error": round(1 - 0.871, 4),
            "cite": "Xiao et al. 2017, table 3: MLPClassifier activation=relu hidden_layer_sizes=[100]",
        },
        "published_mlp_256_128_100": {
            "test_error": round(1 - 0.8833, 4),
            "cite": "zalandoresearch/fashion-mnist README benchmark: MLPClassifier 256-128-100 (submitted)",
        },
        "published_xgboost": {
            "test_error": round(1 - 0.898, 4),
            "cite": "zalandoresearch/fashion-mnist README benchmark: XGBoost (submitted)",
        },
    }
}
"""Published non-convolutional figures on the standard 10 K test set, by source format."""
RESULTS_DIR = Path(__file__).resolve().parent / "results"


class Classifier(Protocol):
    """The part of a scikit-learn classifier the anchors use."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> Any: ...

    def predict(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Examples:
    """Scaled pixels (N, 784) float32 in [0, 1] and their labels (N,) int64."""

    x: np.ndarray
    y: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.y.shape[0])

    def concat(self, other: Examples) -> Examples:
        """These rows followed by `other`'s."""
        return Examples(np.concatenate([self.x, other.x]), np.concatenate([self.y, other.y]))

    def subset(self, rows: int, seed: int = RANDOM_STATE) -> Examples:
        """At most `rows` rows, a seeded random choice in the original order (all when fewer)."""
        if self.rows <= rows:
            return self
        chosen = np.sort(np.random.default_rng(seed).choice(self.rows, size=rows, replace=False))
        return Examples(self.x[chosen], self.y[chosen])


@dataclass(frozen=True)
class Anchor:
    """One scikit-learn anchor: a fresh estimator and whether it also trains on augmented rows."""

    name: str
    build: Callable[[], Classifier]
    augmented: bool = False
    max_rows: int | None = None  # train on a seeded subset of at most this many rows


def _mlp() -> MLPClassifier:
    return MLPClassifier(
        hidden_layer_sizes=(256,),
        solver="adam",
        early_stopping=False,
        max_iter=MLP_MAX_ITER,
        random_state=RANDOM_STATE,
    )


ANCHORS: tuple[Anchor, ...] = (
    Anchor("knn_pixels", lambda: KNeighborsClassifier(n_neighbors=3)),
    Anchor(
        "svc_rbf_pixels",
        lambda: SVC(kernel="rbf", C=5.0, gamma="scale", random_state=RANDOM_STATE),
        max_rows=SVC_MAX_ROWS,
    ),
    Anchor("hgb_pixels", lambda: HistGradientBoostingClassifier(max_iter=100, random_state=RANDOM_STATE)),
    Anchor("mlp_pixels", _mlp),
    Anchor("mlp_pixels_augmented", _mlp, augmented=True),
)


def read_examples(path: Path) -> Examples:
    """Read a Parquet directory or file of images (id, label, pixels) as scaled examples, in id order.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: a pixels value is null or not 784 bytes long.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is this a finished run directory (ingest done)?")
    table = pq.read_table(path, columns=["id", "label", "pixels"])
    # In id order, so a fit does not depend on how Spark laid the rows out in files.
    order = np.argsort(table.column("id").to_numpy(), kind="stable")
    pixels = pixels_from_arrow(table.column("pixels"))[order]
    labels = table.column("label").to_numpy().astype(np.int64)[order]
    return Examples(pixels.astype(np.float32) / np.float32(255.0), labels)


def foreign_sources(source_ids: np.ndarray, train_ids: np.ndarray) -> np.ndarray:
    """The augmented rows' source ids that are not train ids (sorted, unique). Pure."""
    return np.setdiff1d(source_ids, train_ids)


def read_run_examples(run: RunDir) -> tuple[dict[str, Examples], Examples | None]:
    """The run's train, valid and test splits, and its augmented rows (None when absent).

    Raises:
        ValueError: an augmented row was made from an image outside the train split, so an
            anchor trained on it would have seen valid or test images.
    """
    splits = {name: read_examples(run.split(name)) for name in SPLITS}
    if not run.augmented.exists():
        return splits, None
    foreign = foreign_sources(
        pq.read_table(run.augmented, columns=["source_id"]).column("source_id").to_numpy(),
        pq.read_table(run.split("train"), columns=["id"]).column("id").to_numpy(),
    )
    if foreign.size:
        raise ValueError(
            f"{run.augmented}: {foreign.size} source id(s) are not in the train split (e.g. id {int(foreign[0])}); "
            "rerun `sparkling-mnist augment` for this run so the augmented rows match its split"
        )
    return splits, read_examples(run.augmented)


def error_rate(predicted: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of `predicted` that differs from `labels`."""
    return float(np.mean(np.asarray(predicted) != labels))


def fit_and_score(model: Classifier, train: Examples, valid: Examples, test: Examples) -> dict[str, Any]:
    """Fit `model` on `train`; its rows, valid and test error, seconds to fit and to predict both splits."""
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(train.x, train.y)
    seconds = time.monotonic() - started
    started = time.monotonic()
    valid_error = error_rate(model.predict(valid.x), valid.y)
    test_error = error_rate(model.predict(test.x), test.y)
    result: dict[str, Any] = {
        "source": "anchor",
        "rows": train.rows,
        "valid_error": round(valid_error, 5),
        "test_error": round(test_error, 5),
        "seconds": round(seconds, 2),
        "predict_seconds": round(time.monotonic() - started, 2),
    }
    # An iterative fit (the MLP: epochs) says how far it got; SVC's n_iter_ is per class pair.
    iterations = getattr(model, "n_iter_", None)
    if isinstance(iterations, int):
        result["iterations"] = iterations
        result["converged"] = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return result


def score_anchors(
    anchors: tuple[Anchor, ...], splits: Mapping[str, Examples], augmented: Examples | None
) -> dict[str, dict[str, Any]]:
    """Train and score each anchor; an augmented anchor is skipped (logged) without augmented rows."""
    results: dict[str, dict[str, Any]] = {}
    for anchor in anchors:
        train = splits["train"]
        if anchor.augmented:
            if augmented is None:
                log.warning("%s: skipped, the run has no augmented rows (data/augmented)", anchor.name)
                continue
            train = train.concat(augmented)
        if anchor.max_rows is not None:
            train = train.subset(anchor.max_rows)
        log.info("%s: training on %d rows", anchor.name, train.rows)
        results[anchor.name] = fit_and_score(anchor.build(), train, splits["valid"], splits["test"])
        log.info(
            "%s: valid error %.4f, test error %.4f, %.1f s",
            anchor.name,
            results[anchor.name]["valid_error"],
            results[anchor.name]["test_error"],
            results[anchor.name]["seconds"],
        )
    return results


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def run_models(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The run's own team, kept members and baseline from its metrics.json, where recorded.

    Each row has `source` "run" and whichever of `rows`, `valid_error`, `test_error` and
    `seconds` the metrics hold; a model without a test error is left out.
    """
    models: dict[str, dict[str, Any]] = {}
    candidates: dict[str, tuple[Any, Any]] = {
        "team": (_dig(metrics, "team", "valid", "team", "error"), _dig(metrics, "team", "test", "team", "error"))
    }
    rules = _dig(metrics, "team", "test", "rules")
    for rule in rules if isinstance(rules, Mapping) else {}:
        candidates[f"team_{rule}"] = (
            _dig(metrics, "team", "valid", "rules", rule, "error"),
            _dig(metrics, "team", "test", "rules", rule, "error"),
        )
    members = _dig(metrics, "team", "test", "members")
    for name in members if isinstance(members, Mapping) else {}:
        candidates[f"member_{name}"] = (
            _dig(metrics, "team", "valid", "members", name, "error"),
            _dig(metrics, "team", "test", "members", name, "error"),
        )
    candidates["baseline"] = (_dig(metrics, "baseline", "valid", "error"), _dig(metrics, "baseline", "test", "error"))
    for name, (valid_error, test_error) in candidates.items():
        if _number(test_error) is None:
            continue
        models[name] = {
            "source": "run",
            "rows": None,
            "valid_error": _number(valid_error),
            "test_error": _number(test_error),
        }
    if "baseline" in models:
        rows = _number(_dig(metrics, "baseline", "train_rows"))
        models["baseline"]["rows"] = int(rows) if rows is not None else None
        models["baseline"]["seconds"] = _number(_dig(metrics, "baseline", "train_seconds"))
    return models


def _best(models: Mapping[str, Mapping[str, Any]], accept: Callable[[str, Mapping[str, Any]], bool]) -> str | None:
    chosen = [name for name, model in models.items() if accept(name, model)]
    return min(chosen, key=lambda name: float(models[name]["test_error"])) if chosen else None


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if numerator is None or denominator is None or float(denominator) == 0.0:
        return None
    return round(float(numerator) / float(denominator), 4)


def compare_team(models: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The best anchor and kept member by test error, and the team's test error relative to each."""
    best_anchor = _best(models, lambda _, model: model["source"] == "anchor")
    best_member = _best(models, lambda name, model: model["source"] == "run" and name.startswith("member_"))
    team_error = models["team"]["test_error"] if "team" in models else None
    return {
        "best_anchor": best_anchor,
        "best_member": best_member,
        "team_to_best_anchor": _ratio(team_error, models[best_anchor]["test_error"] if best_anchor else None),
        "team_to_best_member": _ratio(team_error, models[best_member]["test_error"] if best_member else None),
    }


def published_models(source_format: str) -> dict[str, dict[str, Any]]:
    """The published figures for a source format (none for most), as model rows."""
    return {
        name: {"source": "published", "rows": None, "valid_error": None, "seconds": None, **figure}
        for name, figure in PUBLISHED.get(source_format, {}).items()
    }


def markdown_table(models: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per model: source, rows trained, valid and test error, seconds to fit."""

    def cell(value: Any, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    lines = [
        "| model | source | rows | valid error | test error | seconds |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, model in models.items():
        lines.append(
            f"| {name} | {model['source']} | {cell(model.get('rows'), 'd')} | {cell(model.get('valid_error'), '.4f')}"
            f" | {cell(model.get('test_error'), '.4f')} | {cell(model.get('seconds'), '.1f')} |"
        )
    return "\n".join(lines)


def _shown(path: Path) -> str:
    """`path` relative to the working directory when under it, so results name no machine."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def measure(
    run: RunDir,
    anchors: tuple[Anchor, ...] = ANCHORS,
    source_format: str = "",
    earlier: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Score the anchors on `run`'s split and set them beside the run's own models and the
    published figures for `source_format`; `earlier`: anchor rows already measured on
    this split (an earlier result's), kept as they are."""
    splits, augmented = read_run_examples(run)
    log.info(
        "%s: %s rows, %s augmented",
        run.root,
        {name: examples.rows for name, examples in splits.items()},
        augmented.rows if augmented is not None else "no",
    )
    models = {name: dict(row) for name, row in (earlier or {}).items() if row.get("source") == "anchor"}
    models.update(score_anchors(anchors, splits, augmented))
    metrics = json.loads(run.metrics.read_text()) if run.metrics.is_file() else {}
    if not metrics:
        log.info("%s: no metrics.json, so no team or baseline to compare", run.root)
    models.update(run_models(metrics))
    comparison = compare_team(models)
    models.update(published_models(source_format))
    return {
        "run": _shown(run.root),
        "split_rows": {name: examples.rows for name, examples in splits.items()},
        "augmented_rows": augmented.rows if augmented is not None else 0,
        "random_state": RANDOM_STATE,
        "team_rule": _dig(metrics, "team", "rule") or ("summed" if "team" in models else None),
        "models": models,
        **comparison,
    }


def prepare_run(config: Path, overrides: list[str]) -> RunDir:
    """Run the ingest and augment stages of `config` (with `--set` overrides); its run directory.

    Raises:
        subprocess.CalledProcessError: a stage failed.
    """
    sets = [item for override in overrides for item in ("--set", override)]
    for stage in ("ingest", "augment"):
        log.info("running sparkling-mnist %s --config %s %s", stage, config, " ".join(sets))
        # The CLI module under this interpreter: the same environment as the anchors.
        subprocess.run(
            [sys.executable, "-m", "sparkling_mnist.cli.main", stage, "--config", str(config), *sets], check=True
        )
    return RunDir.at(load_config(config, overrides).run.dir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="a run directory with data/images (ingest done)")
    source.add_argument("--config", type=Path, help="run ingest and augment of this config first, then use its run.dir")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override for --config (repeatable)",
    )
    parser.add_argument(
        "--config-name",
        help="names the default --out (default: the --config file's stem, else the run directory's name)",
    )
    parser.add_argument(
        "--out", type=Path, help="JSON output (default: benchmarks/results/accuracy-<config-name>.json)"
    )
    parser.add_argument(
        "--anchors",
        default=",".join(anchor.name for anchor in ANCHORS),
        help="comma-separated anchors to train (default: all; empty: none)",
    )
    parser.add_argument(
        "--anchors-from",
        type=Path,
        help="an earlier result JSON of the same run: its anchor rows are kept (train none again: --anchors '')",
    )
    parser.add_argument(
        "--source-format",
        default=None,
        help="adds that source's published figures (default: the --config's source.format; fashion-mnist has some)",
    )
    args = parser.parse_args()
    if args.overrides and args.config is None:
        parser.error("--set applies to --config only")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    run = prepare_run(args.config, args.overrides) if args.config else RunDir.at(args.run)
    name = args.config_name or (args.config.stem if args.config else run.root.name)
    out = args.out or RESULTS_DIR / f"accuracy-{name}.json"
    wanted = {name for name in args.anchors.split(",") if name}
    unknown = wanted - {anchor.name for anchor in ANCHORS}
    if unknown:
        parser.error(f"--anchors: unknown {', '.join(sorted(unknown))} (known: {', '.join(a.name for a in ANCHORS)})")
    source_format = args.source_format
    if source_format is None and args.config is not None:
        source_format = load_config(args.config, args.overrides).source.format
    anchors = tuple(anchor for anchor in ANCHORS if anchor.name in wanted)
    earlier = json.loads(args.anchors_from.read_text())["models"] if args.anchors_from else None
    result = measure(run, anchors, source_format or "", earlier)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    log.info("wrote %s", out)
    print(markdown_table(result["models"]))
    for key in ("team_to_best_anchor", "team_to_best_member"):
        if result[key] is not None:
            print(f"\n{key}: {result[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
