"""Running a search: every planned combination trained (or reloaded) through the stage's
own fit function, scored on the validation split, ranked, the best one picked.

Resumable: a combination's model has a fixed id (`SearchPlan.model_id`) and is saved
under the run's `models/` by the fit function as it finishes (atomically), so a rerun
reloads what is there and trains only what is not. `max_runtime_secs` stops launching
new models once that much time has passed and some model has finished; finished models
are still reloaded. A search that has ended is final: `<base id>.search.json` lists the
combinations it did not start, and a rerun starts none of them either, so it picks the
same best model (what was built on that model stays right).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkling_mnist.config.training import SearchSettings
from sparkling_mnist.errors import H2OParameterError
from sparkling_mnist.rundir import read_json, write_json_atomic
from sparkling_mnist.search.combinations import H2O_STRATEGIES, SearchPlan

log = logging.getLogger(__name__)

TRAINED, REUSED, FAILED, NOT_STARTED = "trained", "reused", "failed", "not started (max_runtime_secs)"


@dataclass(frozen=True)
class Trial:
    """One model of the grid, as the stage's fit function hands it back: the model (None
    when it failed), its validation metric (lower is better), whether it was reloaded,
    this run's training seconds, and the failure's reason."""

    model: Any
    metric: float
    reused: bool
    seconds: float
    failure: str | None = None


FitFunction = Callable[[str, dict[str, Any]], Trial]
"""Train (or reload) the model of one combination: (model id, its hyper-parameters) -> Trial."""


@dataclass
class SearchOutcome:
    """What a search found: the leaderboard (best first), the best model and its row."""

    plan: SearchPlan
    leaderboard: list[dict[str, Any]]
    best_model: Any = None
    best: dict[str, Any] | None = None
    stopped: str | None = None
    seconds: float = 0.0
    train_seconds: float = 0.0

    @property
    def all_reused(self) -> bool:
        """Whether this run trained none of the grid's models."""
        return all(row["status"] != TRAINED for row in self.leaderboard)

    def record(self) -> dict[str, Any]:
        """The search's JSON record (metrics.json): settings, leaderboard, best model."""
        return {
            "strategy": self.plan.strategy,
            "h2o_strategy": H2O_STRATEGIES[self.plan.strategy],
            "hyper_params": self.plan.hyper_params,
            "sort_by": self.plan.sort_by,
            "split": "valid",
            "seed": self.plan.seed,
            "max_models": self.plan.max_models,
            "max_runtime_secs": self.plan.max_runtime_secs,
            "grid_size": self.plan.grid_size,
            "planned": len(self.plan.combinations),
            "finished": sum(row["status"] in (TRAINED, REUSED) for row in self.leaderboard),
            "stopped": self.stopped,
            "best_model_id": self.best["model_id"] if self.best else None,
            "seconds": round(self.seconds, 2),
            "leaderboard": self.leaderboard,
        }


def run_search(
    plan: SearchPlan,
    base_id: str,
    fit: FitFunction,
    *,
    models_dir: Path,
    label: str,
    clock: Callable[[], float] = time.monotonic,
) -> SearchOutcome:
    """Try the plan's combinations in order through `fit`, rank them, pick the best.

    Args:
        plan: the resolved search.
        base_id: the searched model's own id; combination k's model is `<base_id>_g<k>`.
        fit: trains (or reloads, when its file is in `models_dir`) and scores one model.
        models_dir: where finished models are saved (a file there is never retrained,
            even past `max_runtime_secs`), and the search's own `<base_id>.search.json`.
        label: the model's name in log lines, e.g. `member dl`.
        clock: seconds (monotonic), for `max_runtime_secs`.

    Returns:
        The outcome; `best` is None when no combination finished (each row says why).
    """
    started = clock()
    rows: list[dict[str, Any]] = []
    models: dict[str, Any] = {}
    skipped = 0
    state = models_dir / f"{base_id}.search.json"
    ended: set[int] | None = set(read_json(state)["not_started"]) if state.is_file() else None
    for position, combination in enumerate(plan.combinations, start=1):
        model_id = plan.model_id(base_id, combination)
        row: dict[str, Any] = {"combination": combination.index, "model_id": model_id, "params": combination.params}
        if ended is not None:  # as the search that ended decided
            out_of_time = combination.index in ended
        else:
            out_of_time = bool(models) and 0 < plan.max_runtime_secs <= clock() - started
        if out_of_time and not (models_dir / model_id).is_file():
            skipped += 1
            rows.append({**row, "metric": None, "seconds": 0.0, "reused": False, "status": NOT_STARTED})
            continue
        trial = fit(model_id, dict(combination.params))
        metric = None if trial.failure or math.isnan(trial.metric) else float(trial.metric)
        status = FAILED if trial.failure else REUSED if trial.reused else TRAINED
        row.update(metric=metric, seconds=round(trial.seconds, 2), reused=trial.reused, status=status)
        if trial.failure:
            row["failure"] = trial.failure
        else:
            models[model_id] = trial.model
        rows.append(row)
        log.info(
            "search %s: %d/%d %s %s: %s, valid %s %s (%.1f s)",
            label,
            position,
            len(plan.combinations),
            model_id,
            combination.params,
            status if not trial.failure else f"failed ({trial.failure})",
            plan.sort_by,
            "-" if metric is None else f"{metric:.5f}",
            trial.seconds,
        )
    write_json_atomic(state, {"not_started": [row["combination"] for row in rows if row["status"] == NOT_STARTED]})
    leaderboard = rank_leaderboard(rows)
    outcome = SearchOutcome(
        plan,
        leaderboard,
        seconds=clock() - started,
        train_seconds=sum(row["seconds"] for row in rows),
    )
    if skipped:
        outcome.stopped = f"max_runtime_secs ({plan.max_runtime_secs:g} s) passed: {skipped} combination(s) not started"
        log.warning("search %s: %s", label, outcome.stopped)
    best = leaderboard[0] if leaderboard and leaderboard[0]["status"] in (TRAINED, REUSED) else None
    if best is not None:
        outcome.best, outcome.best_model = best, models[best["model_id"]]
        log.info(
            "search %s: best of %d is %s (valid %s %.5f) %s",
            label,
            len(models),
            best["model_id"],
            plan.sort_by,
            best["metric"] if best["metric"] is not None else math.nan,
            best["params"],
        )
    return outcome


def rank_leaderboard(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows best first: finished models by metric (lower is better; one without a metric
    last), ties in the order they were tried, then failed and not-started ones; the
    finished ones numbered by `rank`. Pure."""
    finished = [row for row in rows if row["status"] in (TRAINED, REUSED)]
    ordered = sorted(
        enumerate(finished), key=lambda item: (item[1]["metric"] is None, item[1]["metric"] or 0.0, item[0])
    )
    ranked = [{"rank": rank, **row} for rank, (_, row) in enumerate(ordered, start=1)]
    rest = [{"rank": None, **row} for row in rows if row["status"] not in (TRAINED, REUSED)]
    return ranked + rest


def check_search_names(
    search: SearchSettings, params: Mapping[str, Any], where: str, *, reserved: tuple[str, ...] = ()
) -> None:
    """A hyper-parameter the model's own params also set would be silently overridden
    (H2O's grid refuses it too); `reserved` names cannot be searched at all.

    Raises:
        H2OParameterError: naming `<where>.hyper_params.<name>`.
    """
    problems = [
        f"{where}.hyper_params.{name}: also set in params ({params[name]!r}); set it in one place"
        for name in search.hyper_params
        if name in params
    ]
    problems += [
        f"{where}.hyper_params.{name}: cannot be searched, set it in params"
        for name in search.hyper_params
        if name in reserved
    ]
    if problems:
        raise H2OParameterError("\n".join(problems))
