"""report.html: one self-contained page (images embedded) with every table and plot
of a run, built from metrics.json, the stage records and the PNG files. Needs no JVM.
"""

from __future__ import annotations

import base64
import html
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sparkling_mnist.config.settings import JobConfig
from sparkling_mnist.evaluate.ood_section import ood_section
from sparkling_mnist.rundir import RunDir, committed, read_json
from sparkling_mnist.search import search_section

log = logging.getLogger(__name__)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: .4em 0; }
.note { color: #666; font-size: .9em; }
"""


class Html(str):
    """Text that is already HTML: `table` puts it in a cell as it is."""

    __slots__ = ()


def _fmt(value: Any) -> str:
    if isinstance(value, Html):
        return str(value)
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; floats with 4 decimals, None as a dash, text escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def embedded_png(path: Path, alt: str) -> str:
    """An <img> with the PNG inlined as base64, or a note when the file is missing."""
    if not path.is_file():
        return f'<p class="note">({html.escape(alt)}: not produced by this run)</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


RULE_LABELS = {
    "summed": "summed probabilities",
    "weighted": "weighted probabilities",
    "selected": "selected ensemble",
    "vote": "majority vote",
}


def team_rule(team: Mapping[str, Any]) -> tuple[str, dict[str, float]]:
    """The team's rule and its stored members' weights (a run recorded before team
    rules: every kept member, summed). Pure."""
    rule = team.get("rule")
    if rule:
        return str(rule["name"]), dict(zip(rule["members"], rule["weights"], strict=True))
    return "summed", {name: 1.0 / len(team["kept"]) for name in team["kept"]}


def comparison_rows(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Raw-pixel baseline, feature classifier, each member, the team by its rule and by
    vote: valid and test error side by side (rows only for what the run produced). Pure."""
    rows: list[dict[str, Any]] = []

    def add(model: str, inputs: str, record: Mapping[str, Any], **splits: Mapping[str, Any] | None) -> None:
        def error(split: str) -> Any:
            return (splits.get(split) or record.get(split) or {}).get("error")

        rows.append(
            {
                "model": model,
                "inputs": inputs,
                "rows_originals": record.get("rows", {}).get("originals"),
                "rows_augmented": record.get("rows", {}).get("augmented"),
                "train_error": error("train"),
                "augmented_error": error("augmented"),
                "valid_error": error("valid"),
                "test_error": error("test"),
                "test_logloss": (splits.get("test") or record.get("test") or {}).get("logloss"),
            }
        )

    if "baseline" in metrics:
        base = metrics["baseline"]
        add("baseline (deep learning)", base["features"], base)
    if "features_classifier" in metrics:
        fc = metrics["features_classifier"]
        add("baseline params on features", fc["features"], fc)
    team = metrics.get("team")
    if team:
        for name, member in team["members"].items():
            label = f"member {name} ({member['algorithm']}){' *' if member['kept'] else ''}"
            add(label, f"{member['input']} ({member['inputs']})", member)
        kept = len(team["kept"])
        rule, weights = team_rule(team)
        size = f"{len(weights)}" if len(weights) == kept else f"{len(weights)} of {kept}"
        ways = [(f"{RULE_LABELS[rule]} ({size})", "team")]
        if rule != "vote":
            ways.append((f"{RULE_LABELS['vote']} ({kept})", "vote"))
        for way, key in ways:
            add(
                f"team: {way}",
                "members' probabilities" if key == "team" and rule != "vote" else "members' predictions",
                {},
                train=team.get("train", {}).get(key),
                valid=team["valid"][key],
                test=team["test"][key],
            )
    return rows


def _stage_rows(run: RunDir) -> list[list[Any]]:
    rows = []
    folder = run.root / "stages"
    for record_path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = read_json(record_path)
        rows.append([record["stage"], record["seconds"], record["finished_at"], record["fingerprint"]])
    return rows


def _ingest_section(run: RunDir) -> str:
    if not run.ingest_summary.is_file():
        return ""
    summary = read_json(run.ingest_summary)
    splits = table(["split", "rows"], sorted(summary["per_split"].items()))
    reasons = table(["reject reason", "rows"], sorted(summary["reject_reasons"].items()))
    counts = table(["read", "accepted", "rejected"], [[summary["read"], summary["accepted"], summary["rejected"]]])
    return f"<h2>Ingest</h2>{counts}{splits}{reasons if summary['reject_reasons'] else ''}"


def _team_section(run: RunDir, team: Mapping[str, Any]) -> str:
    parts = [
        "<h2>Team</h2>",
        f"<p>Ranked on the validation {html.escape(team['rank_by'])}: "
        f"{html.escape(', '.join(team['ranking']))}; kept: <b>{html.escape(', '.join(team['kept']))}</b>.</p>",
    ]
    if team["failed"]:
        parts.append(table(["failed member", "reason"], sorted(team["failed"].items())))
    parts.append(_rules_part(team))
    for split in ("valid", "test"):
        summary = team[split]
        if "error_correlation" in summary:
            parts.append(f"<h3>{split}: correlation of the members' errors (disagreement)</h3>")
            parts.append(_correlation_table(summary["error_correlation"]))
        correct = summary["correctness_table"]
        parts.append(f"<h3>{split}: members right per sample</h3>")
        parts.append(table(["members right", *correct.keys()], [["samples", *correct.values()]]))
        cumulative = summary["cumulative_table"]
        parts.append(table(["cumulative", *cumulative.keys()], [["samples", *cumulative.values()]]))
        low = summary["low_confidence"]
        parts.append(
            f'<p class="note">Low confidence (top mean probability below {team["low_confidence_threshold"]}): '
            f"{low['rows']} rows, team error among them {_fmt(low['error'])}, "
            f"among the confident rows {_fmt(low['confident_error'])}.</p>"
        )
    parts.append(embedded_png(run.plot("team_correctness.png"), "correctness table"))
    parts.append("<h3>Test samples no member gets right (label &rarr; team's guess)</h3>")
    parts.append(embedded_png(run.plot("team_gallery.png"), "no member right"))
    parts.append("<h3>Confusion matrix of the team (test)</h3>")
    parts.append(embedded_png(run.plot("team_confusion.png"), "confusion matrix"))
    matrix = team["test"]["confusion"]
    parts.append(
        table(
            ["true \\ predicted", *map(str, team["classes"])],
            [[c, *row] for c, row in zip(team["classes"], matrix, strict=True)],
        )
    )
    return "".join(parts)


def _rules_part(team: Mapping[str, Any]) -> str:
    """Every team rule fitted on valid, its weights and its valid and test error and
    log-loss; the team's own rule marked (nothing for a run recorded before rules)."""
    if "rules" not in team["valid"]:
        return ""
    chosen, _ = team_rule(team)
    rows = []
    for name in [way for way in RULE_LABELS if way in team["valid"]["rules"]]:  # metrics.json sorts its keys
        valid, test = team["valid"]["rules"][name], team["test"]["rules"][name]
        weights = ", ".join(f"{member} {weight:.3f}" for member, weight in valid["weights"].items() if weight > 0)
        label = Html(f"<b>{html.escape(name)}</b> *") if name == chosen else name
        rows.append([label, weights, valid["error"], test["error"], valid.get("logloss"), test.get("logloss")])
    headers = ["rule", "weights", "valid error", "test error", "valid logloss", "test logloss"]
    return (
        "<h3>Team rules (fitted on valid)</h3>"
        + table(headers, rows)
        + '<p class="note">* the team\'s rule: its predictions, tables and plots; members of weight 0 are not '
        "stored.</p>"
    )


def _correlation_table(diversity: Mapping[str, Any]) -> str:
    """Member by member: the Pearson correlation of their 0/1 errors, and in brackets the
    share of rows on which they disagree."""
    members = diversity["members"]

    def cell(row: int, column: int) -> str:
        pearson = diversity["pearson"][row][column]
        return f"{_fmt(pearson)} ({diversity['disagreement'][row][column]:.3f})"

    rows = [[name, *(Html(cell(i, j)) for j in range(len(members)))] for i, name in enumerate(members)]
    return table(["member", *members], rows)


def _trained_models(metrics: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(name, record) of every classifier whose training the run recorded."""
    found = [
        (name, metrics[name]) for name in ("baseline", "features_classifier") if "training" in metrics.get(name, {})
    ]
    members = metrics.get("team", {}).get("members", {})
    found += [(name, record) for name, record in members.items() if "training" in record]
    return found


def _mean_sd(cross_validation: Mapping[str, Any] | None, metric: str) -> Html:
    if not cross_validation or metric not in cross_validation:
        return Html("&ndash;")
    value = cross_validation[metric]
    return Html(f"{value['mean']:.4f} &plusmn; {value['sd']:.4f}")


def _progress_text(progress: Mapping[str, Any]) -> Html:
    if progress.get("unit") is None:
        return Html("&ndash;")
    text = f"{progress['reached']:.4g} of {progress['limit']:.4g} {progress['unit']}"
    if progress.get("stopped_early"):
        text += (
            f" (<b>stopped early</b>: {html.escape(progress['stopping_metric'])} did not improve by "
            f"{progress['stopping_tolerance']:g} in {progress['stopping_rounds']} scoring rounds)"
        )
    return Html(text)


def _training_section(run: RunDir, metrics: Mapping[str, Any]) -> str:
    """Cross-validation beside valid and test, how far each model trained (early
    stopping), score histories, top importances and pixel importance maps."""
    models = _trained_models(metrics)
    if not models:
        return ""
    rows = [
        [
            name,
            _mean_sd(record["training"]["cross_validation"], "error"),
            (record.get("valid") or {}).get("error"),
            (record.get("test") or {}).get("error"),
            _mean_sd(record["training"]["cross_validation"], "logloss"),
            (record.get("valid") or {}).get("logloss"),
            (record.get("test") or {}).get("logloss"),
            _progress_text(record["training"]["progress"]),
        ]
        for name, record in models
    ]
    headers = ["model", "CV error", "valid error", "test error", "CV logloss", "valid logloss", "test logloss"]
    parts = ["<h2>Training</h2>", table([*headers, "trained"], rows)]
    parts.append(
        '<p class="note">CV: mean &plusmn; sd over the folds of H2O\'s cross-validation (members with '
        "<code>nfolds</code>); trained: epochs or trees reached of the limit.</p>"
    )
    for name, record in models:
        training = record["training"]
        parts.append(f"<h3>{html.escape(name)}</h3>")
        if training.get("history_plot"):
            parts.append(embedded_png(run.plot(training["history_plot"]), f"{name} score history"))
        if training.get("importances"):
            top = training["importances"][:10]
            parts.append(
                table(
                    ["input", "scaled importance", "share %"],
                    [[row["variable"], row["scaled_importance"], row["percentage"]] for row in top],
                )
            )
        if training.get("importance_plot"):
            parts.append(embedded_png(run.plot(training["importance_plot"]), f"{name} pixel importances"))
    return "".join(parts)


def _binary_section(run: RunDir, evaluation: Mapping[str, Any]) -> str:
    parts = ["<h2>Binary view</h2>", "<h3>One class against the rest (team, test)</h3>"]
    per_class = evaluation.get("one_vs_rest", {})
    parts.append(
        table(
            ["class", "AUC", "AUCPR", "positive rate"],
            [[c, v["auc"], v["aucpr"], v["positive_rate"]] for c, v in per_class.items()],
        )
    )
    parts.append(embedded_png(run.plot("roc_pr_classes.png"), "ROC and PR, one class against the rest"))
    anomaly = evaluation.get("anomaly")
    if anomaly:
        parts.append(
            f"<h3>Autoencoder anomaly score ({html.escape(anomaly['autoencoder'])} reconstruction error) "
            "ranking the test digits the team gets wrong</h3>"
        )
        parts.append(
            table(["AUC", "AUCPR", "positive rate"], [[anomaly["auc"], anomaly["aucpr"], anomaly["positive_rate"]]])
        )
        parts.append(embedded_png(run.plot("roc_pr_anomaly.png"), "ROC and PR of the anomaly score"))
        parts.append("<h3>The scruffiest test digits (highest reconstruction error)</h3>")
        parts.append(embedded_png(run.plot("scruffiest.png"), "scruffiest digits"))
    return "".join(parts)


def _features_section(run: RunDir, features: Mapping[str, Any]) -> str:
    rows = [
        [name, a["input"], a["inputs"], a["hidden"], a["epochs"], a["training_mse"], a["validation_mse"], a["reused"]]
        for name, a in features["autoencoders"].items()
    ]
    parts = [
        "<h2>Autoencoder features</h2>",
        table(["autoencoder", "input", "inputs", "hidden", "epochs", "train MSE", "valid MSE", "reused"], rows),
        f"<p>Joined: {html.escape(' + '.join(features['used']))} = {features['feature_columns']} columns.</p>",
    ]
    parts.extend(
        embedded_png(run.root / "features" / "history" / f"{name}.png", f"{name} score history")
        for name in features["autoencoders"]
    )
    return "".join(parts)


def render_report(run: RunDir, cfg: JobConfig | None = None) -> str:
    """The report's HTML text (what exists of the run: missing stages are left out)."""
    metrics: dict[str, Any] = read_json(run.metrics) if run.metrics.is_file() else {}
    title = f"sparkling-mnist run {html.escape(run.root.name)}"
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>sparkling-mnist run <code>{html.escape(str(run.root))}</code></h1>",
    ]
    if cfg is not None:
        parts.append(f"<p>Source {html.escape(cfg.source.format)}, seed {cfg.run.seed}.</p>")
    parts.append("<h2>Results side by side</h2>")
    parts.append(
        table(
            [
                "model",
                "inputs",
                "rows: originals",
                "rows: augmented",
                "train error (originals)",
                "train error (augmented)",
                "valid error",
                "test error",
                "test logloss",
            ],
            [
                [
                    r["model"],
                    r["inputs"],
                    r["rows_originals"],
                    r["rows_augmented"],
                    r["train_error"],
                    r["augmented_error"],
                    r["valid_error"],
                    r["test_error"],
                    r["test_logloss"],
                ]
                for r in comparison_rows(metrics)
            ],
        )
    )
    parts.append(
        '<p class="note">* kept for the team. Train error (originals): on the train split\'s own images, '
        "also for models that did not fit them; train error (augmented): on the augmented rows the model trained "
        "on. The team's train error combines its members' probabilities on the originals by its rule.</p>"
    )
    parts.append(_ingest_section(run))
    if "team" in metrics:
        parts.append(_team_section(run, metrics["team"]))
        parts.append(_binary_section(run, metrics["team"].get("evaluation", {})))
    parts.append(_training_section(run, metrics))
    parts.append(ood_section(run, metrics, table=table, image=embedded_png))
    if "features" in metrics:
        parts.append(_features_section(run, metrics["features"]))
    parts.append(search_section(metrics, table))
    parts.append("<h2>Augmentation</h2>")
    parts.append(embedded_png(run.plot("augment_grid.png"), "augmentation grid"))
    parts.append(embedded_png(run.plot("sharpen_histograms.png"), "pixel histograms before and after sharpening"))
    parts.append("<h2>Stages</h2>")
    parts.append(table(["stage", "seconds", "finished (UTC)", "fingerprint"], _stage_rows(run)))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run: RunDir, cfg: JobConfig | None = None) -> Path:
    """Write report.html (atomically replaced) and return its path."""
    text = render_report(run, cfg)
    with committed(run.report) as tmp:
        tmp.write_text(text, encoding="utf-8")
    log.info("report: %s (%.0f KB)", run.report, run.report.stat().st_size / 1024)
    return run.report
