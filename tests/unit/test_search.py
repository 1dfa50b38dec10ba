"""Hyper-parameter search without a JVM: which combinations, in which order, how a
search ranks, reuses and stops, what the config refuses (naming the key), the ids and
the report's leaderboard."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sparkling_mnist.config import validate_config
from sparkling_mnist.config.training import MemberSearch
from sparkling_mnist.errors import ConfigError, H2OParameterError
from sparkling_mnist.evaluate.report import table
from sparkling_mnist.features.stage import autoencoder_fingerprints, check_features_parameters
from sparkling_mnist.search import Trial, combination_at, grid_size, plan_search, run_search, search_section
from sparkling_mnist.team.members import check_team_parameters, member_fingerprint

GRID: dict[str, list[Any]] = {"max_depth": [2, 4, 6], "learn_rate": [0.1, 0.3]}


def _search(**block: Any) -> MemberSearch:
    return MemberSearch.model_validate({"hyper_params": GRID, **block})


def test_cartesian_order_is_sorted_names_last_fastest_whatever_the_config_order() -> None:
    plan = plan_search(_search(), sort_by="logloss", default_seed=1)
    assert plan.grid_size == grid_size(GRID) == 6
    assert [c.index for c in plan.combinations] == list(range(6))
    assert [c.params for c in plan.combinations] == [
        {"learn_rate": lr, "max_depth": depth} for lr in (0.1, 0.3) for depth in (2, 4, 6)
    ]
    reordered: dict[str, list[Any]] = {"learn_rate": [0.1, 0.3], "max_depth": [2, 4, 6]}
    assert all(combination_at(reordered, k) == combination_at(GRID, k) for k in range(6))
    with pytest.raises(IndexError, match="outside the grid of 6"):
        combination_at(GRID, 6)


def test_max_models_takes_the_first_combinations_in_order() -> None:
    plan = plan_search(_search(max_models=4), sort_by="logloss", default_seed=1)
    assert [c.index for c in plan.combinations] == [0, 1, 2, 3]
    assert len(plan_search(_search(max_models=60), sort_by="error", default_seed=1).combinations) == 6


def test_random_draws_without_replacement_reproducibly_by_seed() -> None:
    def order(**block: Any) -> list[int]:
        plan = plan_search(_search(strategy="random", **block), sort_by="logloss", default_seed=11)
        return [c.index for c in plan.combinations]

    everything = order(seed=3)
    assert sorted(everything) == list(range(6)) and everything != list(range(6))
    assert order(seed=3) == everything
    assert order(seed=3, max_models=4) == everything[:4]
    assert {tuple(order(seed=s)) for s in range(5)} != {tuple(everything)}  # the seed matters
    assert order() == order(seed=11)  # no seed: the run seed
    wide = MemberSearch.model_validate({"strategy": "random", "hyper_params": {f"p{i}": [0, 1] for i in range(40)}})
    drawn = plan_search(wide.model_copy(update={"max_models": 5}), sort_by="logloss", default_seed=2)
    assert drawn.grid_size == 2**40 and len({c.index for c in drawn.combinations}) == 5


def _fit(
    metrics: dict[int, float], calls: list[str], models_dir: Path, failing: int | None = None
) -> Callable[[str, dict[str, Any]], Trial]:
    def fit(model_id: str, params: dict[str, Any]) -> Trial:
        calls.append(model_id)
        index = int(model_id.rsplit("_g", 1)[1])
        reused = (models_dir / model_id).is_file()
        if index == failing:
            return Trial(None, float("nan"), reused=False, seconds=0.5, failure="boom")
        if not reused:
            (models_dir / model_id).write_text("model")
        return Trial(f"model {model_id}", metrics[index], reused=reused, seconds=0.0 if reused else 1.0)

    return fit


def test_a_search_ranks_by_the_metric_and_a_rerun_reuses_every_model(tmp_path: Path) -> None:
    plan = plan_search(_search(), sort_by="logloss", default_seed=1)
    metrics = {0: 0.5, 1: 0.2, 2: 0.9, 3: 0.2, 4: 0.4, 5: 0.7}
    calls: list[str] = []
    outcome = run_search(plan, "gbm_abc", _fit(metrics, calls, tmp_path, failing=5), models_dir=tmp_path, label="t")
    board = outcome.leaderboard
    assert [row["combination"] for row in board] == [1, 3, 4, 0, 2, 5]  # ties keep the order tried
    assert [row["rank"] for row in board] == [1, 2, 3, 4, 5, None]
    assert board[-1]["status"] == "failed" and board[-1]["failure"] == "boom"
    assert outcome.best == board[0] and outcome.best_model == "model gbm_abc_g1"
    assert board[0]["params"] == {"learn_rate": 0.1, "max_depth": 4} and board[0]["metric"] == 0.2
    assert not outcome.all_reused and outcome.train_seconds == pytest.approx(5.5)
    record = outcome.record()
    assert record["best_model_id"] == "gbm_abc_g1" and record["finished"] == 5 and record["stopped"] is None
    assert record["h2o_strategy"] == "Cartesian" and record["split"] == "valid"

    calls.clear()
    again = run_search(plan, "gbm_abc", _fit(metrics, calls, tmp_path, failing=5), models_dir=tmp_path, label="t")
    assert [row["status"] for row in again.leaderboard] == ["reused"] * 5 + ["failed"]
    assert again.best == {**board[0], "seconds": 0.0, "reused": True, "status": "reused"}


def test_max_runtime_secs_stops_launching_but_still_reuses(tmp_path: Path) -> None:
    now = [0.0]
    calls: list[str] = []
    train = _fit(dict.fromkeys(range(6), 0.3), calls, tmp_path)

    def fit(model_id: str, params: dict[str, Any]) -> Trial:
        trial = train(model_id, params)
        now[0] += 0.0 if trial.reused else 4.0  # training takes 4 s, reloading none
        return trial

    plan = plan_search(_search(max_runtime_secs=10), sort_by="error", default_seed=1)
    (tmp_path / "m_g4").write_text("finished by an earlier run")
    outcome = run_search(plan, "m", fit, models_dir=tmp_path, label="t", clock=lambda: now[0])
    assert calls == ["m_g0", "m_g1", "m_g2", "m_g4"]  # g2 starts at 8 s, g3 would at 12 s
    statuses = {row["combination"]: row["status"] for row in outcome.leaderboard}
    assert statuses == {0: "trained", 1: "trained", 2: "trained", 4: "reused"} | dict.fromkeys(
        (3, 5), "not started (max_runtime_secs)"
    )
    assert outcome.stopped == "max_runtime_secs (10 s) passed: 2 combination(s) not started"

    # The search has ended: a rerun, however fast, starts none of them, so its best stays.
    calls.clear()
    again = run_search(plan, "m", fit, models_dir=tmp_path, label="t", clock=lambda: 0.0)
    assert calls == ["m_g0", "m_g1", "m_g2", "m_g4"] and again.stopped == outcome.stopped
    assert again.best is not None and outcome.best is not None
    assert again.best["model_id"] == outcome.best["model_id"] and again.all_reused


def _team(member: dict[str, Any], **team: Any) -> Any:
    first = {"name": "first", "algorithm": "gbm", "params": {"ntrees": 2}}
    return validate_config({"team": {"members": [first, member], "keep": 1, **team}}).team


def test_search_config_errors_name_the_key() -> None:
    def error(search: dict[str, Any], **member: Any) -> str:
        spec = {"name": "m", "algorithm": "gbm", "params": {"ntrees": 3}, "search": search, **member}
        with pytest.raises(ConfigError) as raised:
            check_team_parameters(_team(spec), seed=1)
        return str(raised.value)

    assert "team.members[1].search.hyper_params.max_dept: not a parameter of H2OGradientBoostingEstimator" in error(
        {"hyper_params": {"max_dept": [2, 3]}}
    )
    assert "team.members[1].search.hyper_params.ntrees: also set in params" in error({"hyper_params": {"ntrees": [1]}})
    assert "team.members[1].search.hyper_params.checkpoint: cannot be searched" in error(
        {"hyper_params": {"checkpoint": ["first"]}}
    )
    assert "team.members[1].search.hyper_params.model_id: set by the job itself" in error(
        {"hyper_params": {"model_id": ["x"]}}
    )
    searched = {"name": "first", "algorithm": "gbm", "search": {"hyper_params": {"max_depth": [2, 3]}}}
    later = {"name": "later", "algorithm": "gbm", "params": {"checkpoint": "first"}}
    with pytest.raises(H2OParameterError, match=r"team.members\[1\].params.checkpoint: member first searches"):
        check_team_parameters(validate_config({"team": {"members": [searched, later], "keep": 1}}).team, seed=1)
    torch = {"hyper_params": {"activation": ["Tanh", "Maxout"]}}
    assert "team.members[1].search.hyper_params" in error(torch, algorithm="deeplearning", trainer="torch", params={})

    hyper = {"max_depth": [2, 2], "nbins": []}
    bad = {"hyper_params": hyper, "sort_by": "mse", "strategy": "grid", "max_models": -1}
    with pytest.raises(ConfigError) as raised:
        _team({"name": "m", "algorithm": "gbm", "search": bad})
    for key in ("hyper_params.max_depth: each value may appear once", "hyper_params.nbins", "sort_by", "strategy"):
        assert f"team.members[1].search.{key}" in str(raised.value)
    assert "max_models" in str(raised.value)


def test_autoencoder_search_config_errors_name_the_key() -> None:
    def features(search: dict[str, Any], **spec: Any) -> Any:
        autoencoder = {"name": "A", "hidden": 3, "search": search, **spec}
        return validate_config({"features": {"autoencoders": [autoencoder]}}).features

    check_features_parameters(features({"hyper_params": {"l2": [0.0, 1e-4]}}))
    for hyper, message in (
        ({"hidden": [[2], [3]]}, "features.autoencoders[0].search.hyper_params.hidden: set by the autoencoder spec"),
        ({"l3": [1]}, "features.autoencoders[0].search.hyper_params.l3: not a parameter"),
    ):
        with pytest.raises(H2OParameterError, match=message.replace("[", r"\[").replace("]", r"\]")):
            check_features_parameters(features({"hyper_params": hyper}))
    with pytest.raises(H2OParameterError, match=r"search.hyper_params.l2: also set in params"):
        check_features_parameters(features({"hyper_params": {"l2": [0.0]}}, params={"l2": 1e-5}))
    with pytest.raises(ConfigError, match=r"features.autoencoders\[0\].search.sort_by: Input should be 'mse'"):
        features({"hyper_params": {"l2": [0.0]}, "sort_by": "logloss"})


def test_the_search_block_is_part_of_the_model_ids() -> None:
    plain = {"name": "m", "algorithm": "gbm", "params": {"ntrees": 3}}
    ids = set()
    for search in (None, {"hyper_params": {"max_depth": [2, 3]}}, {"hyper_params": {"max_depth": [2, 4]}}):
        spec = _team({**plain, "search": search}).members[1]
        ids.add(member_fingerprint(spec, {"ntrees": 3}, "inputs"))
    assert len(ids) == 3

    def autoencoder_id(search: dict[str, Any] | None) -> str:
        spec = {"name": "A", "hidden": 3, "search": search}
        return autoencoder_fingerprints(validate_config({"features": {"autoencoders": [spec]}}).features, "d")["A"]

    assert autoencoder_id(None) != autoencoder_id({"hyper_params": {"l2": [0.0, 1e-4]}})


def test_the_report_shows_every_leaderboard(tmp_path: Path) -> None:
    plan = plan_search(_search(max_models=2), sort_by="logloss", default_seed=1)
    outcome = run_search(plan, "m_x", _fit({0: 0.4, 1: 0.3}, [], tmp_path), models_dir=tmp_path, label="t")
    metrics = {
        "team": {"members": {"m": {"search": outcome.record()}, "plain": {"model_id": "p"}}},
        "features": {"autoencoders": {"A": {"search": {**outcome.record(), "sort_by": "mse"}}}},
    }
    section = search_section(metrics, table)
    assert section.startswith("<h2>Hyper-parameter search</h2>")
    assert "<h3>member m</h3>" in section and "<h3>autoencoder A</h3>" in section and "plain" not in section
    assert "<th>valid logloss</th>" in section and "<th>valid mse</th>" in section
    assert "<tr><td>1</td><td>m_x_g1</td><td>0.1</td><td>4</td><td>0.3000</td>" in section
    assert "best: <b>m_x_g1</b>" in section and "2 of 2 planned models finished, grid of 6" in section
    assert search_section({"team": {"members": {"plain": {}}}}, table) == ""
