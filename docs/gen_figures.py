"""Write the measured figures in README.md and docs/*.md from benchmarks/results/*.json.

Every block of a page between `<!-- figures: NAME -->` and `<!-- /figures -->` is
replaced by the table (or short list) that NAME's entry in `FIGURES` renders from its
results file, followed by a line naming that file and the benchmark command that wrote
it. Nothing else in a page is touched, so the prose around a block says how to read it
and no measured number is copied by hand. `tests/test_docs.py` fails when a block is
stale:

    .venv/bin/python docs/gen_figures.py            # rewrite every block
    .venv/bin/python docs/gen_figures.py --check    # exit 1 and name the stale blocks

To add a figure: add its renderer and an entry to `FIGURES`, then put the empty block
`<!-- figures: NAME -->` / `<!-- /figures -->` where it belongs and run the script.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
GENERATOR = "docs/gen_figures.py"

BLOCK = re.compile(r"^<!-- figures: (?P<name>[\w.-]+) -->\n(?P<body>.*?)^<!-- /figures -->$", re.MULTILINE | re.DOTALL)
OPENING = re.compile(r"^<!-- figures: (?P<name>[\w.-]+) -->$", re.MULTILINE)
CLOSING = "<!-- /figures -->"

SEED = re.compile(r" \(seed \d+\)")  # a row selection's seed: noise in a table

Json = dict[str, Any]


class FiguresError(Exception):
    """A page's blocks cannot be generated: an unknown name, an unclosed block, a missing results file."""


@dataclass(frozen=True)
class Figure:
    """What one block shows: the results files it reads, how, and the command that wrote them."""

    results: tuple[str, ...]
    render: Callable[[list[Json]], list[str]]
    command: str
    note: str = ""


# ---------------------------------------------------------------------------- numbers


def _int(value: float) -> str:
    """1234.5 -> '1,234' (figures counted in rows, samples or cells)."""
    return f"{value:,.0f}"


def _seconds(value: float) -> str:
    return f"{value:,.1f}"


def _percent(value: float | None, digits: int = 1) -> str:
    """An error as a fraction -> '4.3 %'; missing -> ''."""
    return "" if value is None else f"{100 * value:.{digits}f} %"


def _ratio(value: float) -> str:
    return f"{value:.2f}"


def _mse(value: float) -> str:
    return f"{value:.4f}"


def _table(header: Sequence[str], align: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table; `align` holds '---' or '---:' per column."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


# ---------------------------------------------------------------------------- accuracy


def render_accuracy(docs: list[Json]) -> list[str]:
    """benchmarks/accuracy.py: every anchor, published figure and run model, then the ratios."""
    (doc,) = docs
    order = {"anchor": 0, "published": 1, "run": 2}
    models = sorted(doc["models"].items(), key=lambda item: order.get(item[1]["source"], 3))
    rows = []
    for name, model in models:
        label = f"`{name}`" + (f" ({model['cite']})" if model.get("cite") else "")
        test = model.get("test_error")
        rows.append(
            [
                label,
                model["source"],
                _int(model["rows"]) if model.get("rows") else "",
                _percent(model.get("valid_error"), 2),
                _percent(test, 2),
                "" if test is None else f"{1 - test:.3f}",
                _seconds(model["seconds"]) if model.get("seconds") is not None else "",
            ]
        )
    split = doc["split_rows"]
    lines = _table(
        ["model", "source", "rows", "valid error", "test error", "test accuracy", "train s"],
        ["---", "---", "---:", "---:", "---:", "---:", "---:"],
        rows,
    )
    lines += [
        "",
        f"- Split: {_int(split['train'])} train, {_int(split['valid'])} valid, {_int(split['test'])} test rows; "
        f"{_int(doc['augmented_rows'])} augmented rows.",
        f"- Best anchor `{doc['best_anchor']}`, best kept member `{doc['best_member']}`; the team's test error is "
        f"{doc['team_to_best_anchor']:.2f}x the best anchor's and {doc['team_to_best_member']:.2f}x the best member's.",
    ]
    rule = doc.get("team_rule")
    if rule:
        weights = ", ".join(
            f"{member} {weight:g}" for member, weight in zip(rule["members"], rule["weights"], strict=True)
        )
        lines.append(f"- The team's rule: `{rule['name']}`, weights {weights}.")
    return lines


def render_first_look(docs: list[Json]) -> list[str]:
    """benchmarks/accuracy.py, one row per results file: the team against its best anchor and best member."""
    rows = []
    for doc in docs:
        models = doc["models"]
        team = models.get("team") or next(model for name, model in models.items() if name.startswith("team"))
        split = doc["split_rows"]
        anchor, member = models[doc["best_anchor"]], models[doc["best_member"]]
        rows.append(
            [
                f"`{doc['run']}`",
                f"{_int(split['train'])} / {_int(split['valid'])} / {_int(split['test'])}",
                f"{_percent(team['test_error'], 2)} (accuracy {1 - team['test_error']:.3f})",
                f"{_percent(anchor['test_error'], 2)} (`{doc['best_anchor']}`)",
                f"{_percent(member['test_error'], 2)} (`{doc['best_member']}`)",
            ]
        )
    return _table(
        ["run", "train / valid / test rows", "team test error", "best anchor", "best kept member"],
        ["---", "---", "---:", "---:", "---:"],
        rows,
    )


# ---------------------------------------------------------------------------- ingest and augment


def render_ingest(docs: list[Json]) -> list[str]:
    """benchmarks/ingest.py: rows/s of each ingest step and of the Spark -> H2O conversions."""
    (doc,) = docs
    steps = [
        ("read_validate", "read + validate + split (numpy, driver)"),
        ("ingest_to_parquet", f"whole ingest stage to Parquet (Spark {doc['master']})"),
        ("spark_to_h2o_first", "Spark -> H2O, first conversion (JVM warm-up)"),
        ("spark_to_h2o_second", "Spark -> H2O, second conversion"),
    ]
    rows = []
    for key, label in steps:
        step = doc[key]
        cells = f"{step['cells_per_s'] / 1e6:.1f} M ({step['columns']} columns)" if "cells_per_s" in step else ""
        rows.append([label, _int(step["rows"]), f"{step['seconds']:.2f}", _int(step["rows_per_s"]), cells])
    return _table(["step", "rows", "seconds", "rows/s", "cells/s"], ["---", "---:", "---:", "---:", "---:"], rows)


def render_augment(docs: list[Json]) -> list[str]:
    """benchmarks/augment.py: each effect's kernels against scikit-image, then the Spark stage."""
    (doc,) = docs
    rows = [
        [
            f"`{effect}`",
            _int(doc["kernels_one_core"][effect]["rows_per_s"]),
            _int(doc["scikit_image_one_core"][effect]["rows_per_s"]),
            f"{doc['kernels_vs_scikit_image'][effect]:.1f}",
        ]
        for effect in doc["effects"]
    ]
    lines = _table(
        ["effect", "kernels, rows/s, one core", "scikit-image per image, rows/s", "ratio"],
        ["---", "---:", "---:", "---:"],
        rows,
    )
    spark = doc["spark"]
    lines += [
        "",
        f"- Source rows {_int(doc['source_rows'])}, {doc['copies']} copies per effect; the kernels on the whole mix: "
        f"{_int(doc['kernels_mix_rows_per_s'])} rows/s on one core.",
    ]
    for run in ("warm", "cold"):
        stage = spark[run]
        lines.append(
            f"- Spark stage ({spark['master']}, {run}): {_int(stage['rows_in'])} rows in, "
            f"{_int(stage['rows_out'])} out, "
            f"written in {stage['write_seconds']:.1f} s: {_int(stage['rows_per_s_per_core'])} rows/s per core "
            f"({doc[f'spark_{run}_per_core_vs_kernels_mix']:.2f}x the kernels' mix)."
        )
    return lines


# ---------------------------------------------------------------------------- H2O settings


def render_h2o_classifiers(docs: list[Json]) -> list[str]:
    """benchmarks/autoencoders.py, section classifiers, both runs side by side."""
    (doc,) = docs
    first, second = doc["classifiers"], doc.get("classifiers_run2", {})
    rows = []
    for name, run1 in first.items():
        run2 = second.get(name)
        errors = [run1["validation_error"]] + ([run2["validation_error"]] if run2 else [])
        rows.append(
            [
                name,
                " / ".join(_ratio(run["x_reference"]) for run in (run1, run2) if run),
                " / ".join(_int(run["samples_per_s"]) for run in (run1, run2) if run),
                " / ".join(_percent(error) for error in errors),
                _percent(sum(errors) / len(errors)),
            ]
        )
    return _table(
        ["setting", "x reference, run 1 / run 2", "samples/s", "valid error, run 1 / run 2", "mean error"],
        ["---", "---:", "---:", "---:", "---:"],
        rows,
    )


def render_h2o_autoencoders(docs: list[Json]) -> list[str]:
    """benchmarks/autoencoders.py, section autoencoders, and its Spark -> H2O conversion."""
    (doc,) = docs
    rows = [
        [
            name,
            _int(setting["samples_per_s"]),
            _ratio(setting["x_reference"]),
            _mse(setting["validation_mse"]),
            _mse(setting["validation_mse_pixels_01"]),
            _seconds(setting["seconds"]),
        ]
        for name, setting in doc["autoencoders"].items()
    ]
    lines = _table(
        ["setting", "samples/s", "x reference", "validation MSE", "valid MSE [0, 1]", "seconds"],
        ["---", "---:", "---:", "---:", "---:", "---:"],
        rows,
    )
    conversion = doc.get("conversion")
    if conversion:
        lines += [
            "",
            f"- Spark -> H2O of the {_int(conversion['rows'])} training rows: "
            f"{conversion['binary_column_mapInArrow_seconds']:.1f} s through the binary image column "
            f"(expanded on the executors with `mapInArrow`), {conversion['plain_785_int_columns_seconds']:.1f} s "
            "for an already materialized 785-integer-column DataFrame.",
        ]
    return lines


def render_h2o_trees(docs: list[Json]) -> list[str]:
    """benchmarks/autoencoders.py, section trees."""
    (doc,) = docs
    rows = [
        [
            name,
            _seconds(tree["seconds"]),
            _ratio(tree["x_reference_speed"]),
            str(tree["scoring_events"]),
            _percent(tree["validation_error"]),
            f"{tree['validation_logloss']:.3f}",
        ]
        for name, tree in doc["trees"].items()
    ]
    return _table(
        ["setting", "seconds", "speed x reference", "scoring events", "valid error", "logloss"],
        ["---", "---:", "---:", "---:", "---:", "---:"],
        rows,
    )


def render_h2o_threads(docs: list[Json]) -> list[str]:
    """benchmarks/autoencoders.py, section threads: one fresh session per nthreads value."""
    (doc,) = docs
    rows = [
        [
            f"`{name}`",
            ", ".join(str(node["nthreads"]) for node in run["h2o_nodes"]),
            _int(run["samples_per_s"]),
            _ratio(run["x_reference"]),
            _percent(run["validation_error"]),
        ]
        for name, run in doc["threads"].items()
    ]
    return _table(
        ["`spark.ext.h2o.nthreads`", "H2O node threads", "samples/s", "x default", "valid error"],
        ["---", "---:", "---:", "---:", "---:"],
        rows,
    )


# ---------------------------------------------------------------------------- scaling and scoring


def render_scaling(docs: list[Json]) -> list[str]:
    """benchmarks/scaling.py: seconds per stage for each cluster size, the speed-up, the team's error."""
    (doc,) = docs
    results = doc["results"]
    stages = list(dict.fromkeys(stage for result in results for stage in result["stages"]))
    order = ["ingest", "augment", "baseline", "features", "team"]
    stages.sort(key=lambda stage: order.index(stage) if stage in order else len(order))
    header = ["stage"] + [
        f"{r['workers']} worker{'s' if r['workers'] > 1 else ''} x {r['cores_per_worker']} core (s)" for r in results
    ]
    rows = [
        [stage] + [_seconds(r["stages"][stage]) if stage in r["stages"] else "" for r in results] for stage in stages
    ]
    reference = results[0]["seconds"]
    rows.append(["whole job (incl. start-up)"] + [_seconds(r["seconds"]) for r in results])
    rows.append(["speed-up"] + [_ratio(reference / r["seconds"]) for r in results])
    rows.append(["team test error"] + [_percent(r.get("team_test_error")) for r in results])
    return _table(header, ["---"] + ["---:"] * len(results), rows)


def render_scoring_scale(docs: list[Json]) -> list[str]:
    """benchmarks/scoring_scale.py: each engine at each input size, with the driver's peak memory."""
    (doc,) = docs
    rows = [
        [
            f"`{r['engine']}`",
            _int(r["rows"]),
            _seconds(r["seconds"]),
            _int(r["rows_per_s"]),
            f"{_int(r['driver_python_peak_mib'])} MiB",
            f"{_int(r['driver_jvm_peak_mib'])} MiB",
        ]
        for r in doc["results"]
    ]
    lines = _table(
        ["engine", "rows", "seconds", "rows/s", "driver Python peak", "driver JVM peak (local mode: the executor too)"],
        ["---", "---:", "---:", "---:", "---:", "---:"],
        rows,
    )
    lines += ["", f"- Scored run: {doc['setup']}.", f"- Measured: {doc['measured']}."]
    return lines


def render_scoring(docs: list[Json]) -> list[str]:
    """benchmarks/scoring.py: both engines on one test split, and their agreement with the team's H2O scores."""
    (doc,) = docs
    rows = [
        [
            f"`{r['engine']}`",
            _int(r["rows"]),
            _seconds(r["seconds"]),
            _int(r["rows_per_s"]),
            f"{r['max_abs_probability_difference']:.1g}",
            "identical" if r["labels_identical"] else "differ",
        ]
        for r in doc["results"]
    ]
    return _table(
        ["engine", "rows", "seconds", "rows/s", "max difference from the team's H2O probabilities", "labels"],
        ["---", "---:", "---:", "---:", "---:", "---"],
        rows,
    )


# ---------------------------------------------------------------------------- trainers and team members


def _x_h2o(entries: list[Json], entry: Json) -> str:
    """This entry's samples/s over the same model's H2O entry's."""
    h2o = next(e for e in entries if e["model"] == entry["model"] and e["trainer"] == "h2o")
    return _int(entry["samples_per_s"] / h2o["samples_per_s"])


def render_trainer_autoencoders(docs: list[Json]) -> list[str]:
    """benchmarks/trainers.py, section autoencoders: each autoencoder trained by H2O and by torch."""
    (doc,) = docs
    entries = doc["autoencoders"]
    rows = [
        [
            e["model"],
            e["trainer"],
            f"{e['epochs']:g}",
            _seconds(e["train_seconds"]),
            _int(e["samples_per_s"]),
            _x_h2o(entries, e),
            _mse(e["validation_mse"]),
        ]
        for e in entries
    ]
    return _table(
        ["model", "trainer", "epochs", "train s", "samples/s", "x H2O", "validation MSE"],
        ["---", "---", "---:", "---:", "---:", "---:", "---:"],
        rows,
    )


def render_trainer_classifiers(docs: list[Json]) -> list[str]:
    """benchmarks/trainers.py, section classifiers: H2O and torch side by side per model."""
    (doc,) = docs
    entries = doc["classifiers"]
    rows = []
    for model in dict.fromkeys(e["model"] for e in entries):
        h2o = next(e for e in entries if e["model"] == model and e["trainer"] == "h2o")
        torch = next(e for e in entries if e["model"] == model and e["trainer"] == "torch")
        rows.append(
            [
                model,
                _int(h2o["rows"]),
                f"{h2o['epochs']:.2f} / {torch['epochs']:.2f}",
                _int(h2o["samples_per_s"]),
                _int(torch["samples_per_s"]),
                _x_h2o(entries, torch),
                f"{_percent(h2o['validation_error'])} / {_percent(torch['validation_error'])}",
            ]
        )
    return _table(
        ["model", "rows", "epochs h2o / torch", "h2o samples/s", "torch samples/s", "x H2O", "valid error h2o / torch"],
        ["---", "---:", "---:", "---:", "---:", "---:", "---"],
        rows,
    )


def _candidate_shape(candidate: Json) -> str:
    """What a candidate is, from its parameters: hidden layers and epochs, or trees and depth."""
    params = candidate["params"]
    if "hidden" in params:
        shape = f"hidden {params['hidden']}, {params.get('activation', '')}".rstrip(", ")
        return f"{shape}, {candidate['epochs']:.1f} epochs"
    return ", ".join(f"{key} {params[key]}" for key in ("ntrees", "max_depth") if key in params)


def render_team_members(docs: list[Json]) -> list[str]:
    """benchmarks/team_members.py: every candidate of every results file, then each file's best team."""
    rows = []
    teams = []
    for index, doc in enumerate(docs, start=1):
        for name, c in doc["candidates"].items():
            rows.append(
                [
                    str(index),
                    f"`{name}`",
                    _candidate_shape(c),
                    f"{_int(c['rows']['total'])}: {SEED.sub('', c['rows']['selection'])}",
                    _seconds(c["train_seconds"]),
                    _int(c["samples_per_s"]) if c.get("samples_per_s") else "",
                    _percent(c["valid_error"]),
                    _percent(c["test_error"]),
                ]
            )
        if doc.get("teams"):
            best = min(doc["teams"], key=lambda team: team["valid_error"])
            teams.append(
                f"- File {index}: best team by valid error {', '.join(best['members'])}: valid "
                f"{_percent(best['valid_error'])}, test {_percent(best['test_error'])} "
                f"({best['test_ratio_to_best_member']:.2f}x its best member's test error)."
            )
    table = _table(
        ["file", "candidate", "network or trees", "rows", "seconds", "samples/s", "valid error", "test error"],
        ["---:", "---", "---", "---", "---:", "---:", "---:", "---:"],
        rows,
    )
    return [*table, "", *teams]


# ---------------------------------------------------------------------------- the registry

AUTOENCODERS_COMMAND = (
    "python benchmarks/autoencoders.py --rows 5000 --epochs 2 --sections classifiers,trees,autoencoders "
    "--out benchmarks/results/autoencoders.json"
)
AUTOENCODERS_RERUN = "python benchmarks/autoencoders.py --rows 5000 --epochs 2 --sections classifiers,threads"
AUTOENCODERS_MERGED = "the second run merged into the file as `classifiers_run2` and `threads`"
TEAM_MEMBERS_FILES = tuple(f"team-members-local-{index}.json" for index in range(1, 6))

FIGURES: dict[str, Figure] = {
    "accuracy-full-recipe": Figure(
        ("accuracy-full-recipe.json",),
        render_accuracy,
        "sparkling-mnist run --config conf/full-recipe.yaml; python benchmarks/accuracy.py --run runs/full-recipe "
        "--config-name full-recipe --source-format fashion-mnist",
    ),
    "accuracy-local": Figure(
        ("accuracy-local.json",),
        render_accuracy,
        "sparkling-mnist run --config conf/local.yaml; python benchmarks/accuracy.py --run runs/local",
    ),
    "first-look": Figure(
        ("accuracy-local.json", "accuracy-full-recipe.json"),
        render_first_look,
        "sparkling-mnist run --config CONFIG; python benchmarks/accuracy.py --run RUN",
        "the rows of `accuracy-local` and `accuracy-full-recipe` in docs/accuracy.md",
    ),
    "ingest": Figure(
        ("ingest.json",), render_ingest, "python benchmarks/ingest.py --out benchmarks/results/ingest.json"
    ),
    "augment": Figure(
        ("augment.json",), render_augment, "python benchmarks/augment.py --out benchmarks/results/augment.json"
    ),
    "augment-fashion": Figure(
        ("augment-fashion-recipe.json",),
        render_augment,
        "python benchmarks/augment.py --source fashion-mnist --limit 20000 --effects all all2 --copies 4 "
        "--out benchmarks/results/augment-fashion-recipe.json",
    ),
    "h2o-classifiers": Figure(
        ("autoencoders.json",),
        render_h2o_classifiers,
        f"{AUTOENCODERS_COMMAND}; {AUTOENCODERS_RERUN}",
        AUTOENCODERS_MERGED,
    ),
    "h2o-autoencoders": Figure(("autoencoders.json",), render_h2o_autoencoders, AUTOENCODERS_COMMAND),
    "h2o-trees": Figure(("autoencoders.json",), render_h2o_trees, AUTOENCODERS_COMMAND),
    "h2o-threads": Figure(("autoencoders.json",), render_h2o_threads, AUTOENCODERS_RERUN, AUTOENCODERS_MERGED),
    "scaling": Figure(
        ("scaling.json",),
        render_scaling,
        "python benchmarks/scaling.py --workers 1 2 --out benchmarks/results/scaling.json",
    ),
    "scaling-fashion": Figure(
        ("scaling-fashion.json",),
        render_scaling,
        "python benchmarks/scaling.py --config conf/bench-fashion.yaml --no-small --set source.limit=20000 "
        "--executor-memory 5g --workers 1 2 --out benchmarks/results/scaling-fashion.json",
    ),
    "scoring-scale": Figure(
        ("scoring-scale.json",),
        render_scoring_scale,
        "python benchmarks/scoring_scale.py --config local --store runs/store --rows 10000,200000 "
        "--out benchmarks/results/scoring-scale.json",
    ),
    "scoring": Figure(
        ("scoring.json",),
        render_scoring,
        "sparkling-mnist models save-all --config conf/bench-fashion.yaml --store runs/store; "
        "python benchmarks/scoring.py --config conf/bench-fashion.yaml --store runs/store "
        "--out benchmarks/results/scoring.json",
    ),
    "trainers-autoencoders": Figure(
        ("trainers-local.json",),
        render_trainer_autoencoders,
        "python benchmarks/trainers.py --config conf/local.yaml --set run.dir=RUN --ae-epochs 2 --member-epochs 0.5 "
        "--out benchmarks/results/trainers-local.json",
    ),
    "trainers-classifiers": Figure(
        ("trainers-local.json",),
        render_trainer_classifiers,
        "python benchmarks/trainers.py --config conf/local.yaml --set run.dir=RUN --ae-epochs 2 --member-epochs 0.5 "
        "--out benchmarks/results/trainers-local.json",
    ),
    "trainers-autoencoders-torch20": Figure(
        ("trainers-local-torch20.json",),
        render_trainer_autoencoders,
        "python benchmarks/trainers.py --config conf/local.yaml --set run.dir=RUN --sections autoencoders "
        "--ae-epochs 2 --torch-epochs 20 --out benchmarks/results/trainers-local-torch20.json",
    ),
    "team-members-local": Figure(
        TEAM_MEMBERS_FILES,
        render_team_members,
        "python benchmarks/team_members.py --config conf/local.yaml --set run.dir=RUN "
        "--candidates benchmarks/results/team-members-local-N.candidates.yaml --keep 3 --probabilities DIR "
        "--out benchmarks/results/team-members-local-N.json",
        "file N is `team-members-local-N.json`, N = 1 to 5; every candidate trained with `trainer: h2o`",
    ),
}


# ---------------------------------------------------------------------------- pages


def pages(root: Path = ROOT) -> list[Path]:
    """The pages that may hold blocks: README.md and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def render_block(name: str, results: Path = RESULTS) -> str:
    """The body of block NAME (between its markers): blank line, figure, blank line, source line."""
    figure = FIGURES.get(name)
    if figure is None:
        raise FiguresError(
            f"unknown figures block {name!r}: add it to FIGURES in {GENERATOR} (known: {sorted(FIGURES)})"
        )
    docs = []
    for file_name in figure.results:
        path = results / file_name
        if not path.is_file():
            raise FiguresError(f"block {name!r} reads {path}, which does not exist: run `{figure.command}`")
        docs.append(json.loads(path.read_text()))
    files = ", ".join(f"`benchmarks/results/{file_name}`" for file_name in figure.results)
    note = f" ({figure.note})" if figure.note else ""
    source = f"Generated by `{GENERATOR}` from {files}, written by `{figure.command}`{note}."
    return "\n".join(["", *figure.render(docs), "", source, ""]) + "\n"


def regenerate(text: str, where: str, results: Path = RESULTS) -> tuple[str, list[str]]:
    """`text` with every block rewritten, and the names of the blocks that changed.

    Raises FiguresError naming `where` when an opening marker has no closing one."""
    opened = len(OPENING.findall(text))
    closed = len(BLOCK.findall(text))
    if opened != closed:
        raise FiguresError(f"{where}: {opened} `<!-- figures: NAME -->` markers but {closed} closed by `{CLOSING}`")
    changed: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        body = render_block(name, results)
        if body != match.group("body"):
            changed.append(name)
        return f"<!-- figures: {name} -->\n{body}{CLOSING}"

    return BLOCK.sub(replace, text), changed


def stale_blocks(root: Path = ROOT) -> list[str]:
    """'page: NAME' for every block that regenerating would change."""
    stale: list[str] = []
    for page in pages(root):
        _, changed = regenerate(page.read_text(), str(page.relative_to(root)), root / "benchmarks" / "results")
        stale.extend(f"{page.relative_to(root)}: {name}" for name in changed)
    return stale


def write_all(root: Path = ROOT) -> list[str]:
    """Rewrite every page whose blocks are stale; returns 'page: NAME' for each block rewritten."""
    rewritten: list[str] = []
    for page in pages(root):
        text, changed = regenerate(page.read_text(), str(page.relative_to(root)), root / "benchmarks" / "results")
        if changed:
            page.write_text(text)
            rewritten.extend(f"{page.relative_to(root)}: {name}" for name in changed)
    return rewritten


def main(argv: list[str] | None = None) -> int:
    """Rewrite the blocks (or, with --check, name the stale ones); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a block is stale")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.check:
            stale = stale_blocks()
            if stale:
                log.error("stale figures blocks (run .venv/bin/python %s): %s", GENERATOR, ", ".join(stale))
                return 1
            log.info("every figures block is current")
            return 0
        rewritten = write_all()
    except FiguresError as error:
        log.error("%s", error)
        return 2
    log.info("rewrote %d block(s)%s", len(rewritten), (": " + ", ".join(rewritten)) if rewritten else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
