"""The report's leaderboards: one table per searched member or autoencoder, from the
`search` records in metrics.json. Pure (HTML text in, HTML text out)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

TableRenderer = Callable[[Sequence[str], Iterable[Sequence[Any]]], str]
"""The report's own table function (headers, rows) -> HTML, so the tables look alike."""


def searched_models(metrics: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(title, search record) of every model of the run that searched, members first."""
    found = [
        (f"member {name}", record["search"])
        for name, record in metrics.get("team", {}).get("members", {}).items()
        if record.get("search")
    ]
    found += [
        (f"autoencoder {name}", record["search"])
        for name, record in metrics.get("features", {}).get("autoencoders", {}).items()
        if record.get("search")
    ]
    return found


def search_section(metrics: Mapping[str, Any], table: TableRenderer) -> str:
    """The report's "Hyper-parameter search" section, or "" when nothing searched."""
    searches = searched_models(metrics)
    if not searches:
        return ""
    parts = ["<h2>Hyper-parameter search</h2>"]
    for title, search in searches:
        names = sorted(search["hyper_params"])
        sort_by = search["sort_by"]
        parts.append(f"<h3>{html.escape(title)}</h3>")
        stopped = f" Stopped: {html.escape(search['stopped'])}." if search.get("stopped") else ""
        parts.append(
            f'<p class="note">{html.escape(search["strategy"])} ({html.escape(search["h2o_strategy"])}): '
            f"{search['finished']} of {search['planned']} planned models finished, grid of {search['grid_size']}; "
            f"ranked by validation {html.escape(sort_by)}, best: <b>{html.escape(str(search['best_model_id']))}</b>."
            f"{stopped} Seconds: this run's training (0 for a reused model).</p>"
        )
        rows = [
            [
                row["rank"],
                row["model_id"],
                *[_value(row["params"].get(name)) for name in names],
                row["metric"],
                row["seconds"],
                "yes" if row["reused"] else "no",
                row["status"] + (f": {row['failure']}" if row.get("failure") else ""),
            ]
            for row in search["leaderboard"]
        ]
        parts.append(table(["rank", "model", *names, f"valid {sort_by}", "seconds", "reused", "status"], rows))
    return "\n".join(parts)


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
