"""The team rules on hand-made probability cubes whose answers are worked out by hand,
and how the fitted rule travels: metrics -> lineage -> scoring plan -> predictions."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from sparkling_mnist.errors import StoreError
from sparkling_mnist.evaluate.classification import multiclass_logloss
from sparkling_mnist.evaluate.report import comparison_rows
from sparkling_mnist.scoring.plan import ScoringPlan
from sparkling_mnist.scoring.plan import combine as plan_combine
from sparkling_mnist.store.manifest import run_lineage
from sparkling_mnist.team import cube as team_cube
from sparkling_mnist.team import rules

# 4 rows, 3 classes, 3 members (as in test_team_cube). Labels: 0, 1, 2, 2.
A = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
B = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.4, 0.2, 0.4], [0.1, 0.1, 0.8]])
C = np.array([[0.2, 0.7, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
LABELS = np.array([0, 1, 2, 2])
NAMES = ["a", "b", "c"]

# Two members, two classes, every label 0. `sure` gives the label 0.9 on three rows and
# 0.2 on the last, `steady` 0.6 on all: the log-loss of the mixture w * sure + (1 - w) *
# steady, -(3 log(0.6 + 0.3 w) + log(0.6 - 0.4 w)) / 4, is least at w = 0.625.
SURE = np.array([[0.9, 0.1]] * 3 + [[0.2, 0.8]])
STEADY = np.array([[0.6, 0.4]] * 4)
MIXED_LABELS = np.zeros(4, dtype=np.int64)


def cube() -> np.ndarray:
    return team_cube.probability_cube([A, B, C], NAMES)


def mixed() -> np.ndarray:
    return team_cube.probability_cube([SURE, STEADY], ["sure", "steady"])


def random_cube(rows: int, classes: int, members: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Members of varying skill: Dirichlet noise, sharpened towards the label."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, rows)
    probabilities = []
    for member in range(members):
        raw = rng.dirichlet(np.ones(classes), rows)
        raw[np.arange(rows), labels] += member * 0.5
        probabilities.append(raw / raw.sum(axis=1, keepdims=True))
    return team_cube.probability_cube(probabilities, [f"m{i}" for i in range(members)]), labels


def test_summed_is_the_mean_and_its_argmax() -> None:
    rule = rules.fit_rule("summed", cube(), LABELS, NAMES, rounds=25)
    assert rule.weights == (1 / 3, 1 / 3, 1 / 3) and rule.members == tuple(NAMES)
    prediction = rule.predict(cube())
    np.testing.assert_allclose(prediction.probabilities, cube().mean(axis=2), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(prediction.classes, team_cube.summed_prediction(cube()))  # [0, 1, 2, 2]


def test_weighting_puts_all_weight_on_a_perfect_member() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 10, 200)
    perfect = np.eye(10)[labels]
    uniform = np.full((200, 10), 0.1)
    noise = rng.dirichlet(np.ones(10), 200)
    built = team_cube.probability_cube([uniform, perfect, noise], ["uniform", "perfect", "noise"])
    rule = rules.fit_rule("weighted", built, labels, ["uniform", "perfect", "noise"], rounds=25)
    # The mixture's p(label) = w + (1 - w) q <= 1 is largest at w = 1; the others' weights
    # shrink geometrically and end under MIN_WEIGHT, then exactly 0.
    assert rule.weights == (0.0, 1.0, 0.0)
    assert rule.stored().members == ("perfect",) and rule.stored().weights == (1.0,)
    assert multiclass_logloss(rule.predict(built).probabilities, labels) == pytest.approx(0.0, abs=1e-12)


def test_weighting_finds_an_interior_optimum() -> None:
    weights = rules.fit_weighted(mixed(), MIXED_LABELS)
    np.testing.assert_allclose(weights, [0.625, 0.375], atol=1e-6)


def test_selection_with_replacement_repeats_a_member() -> None:
    # Round 1: sure alone (log-loss 0.4812 < steady's 0.5108); round 2: + steady (w 1/2,
    # 0.4448); round 3: + sure again (w 2/3, 0.4418), ... towards w = 0.625.
    weights = rules.fit_selected(mixed(), MIXED_LABELS, rounds=25)
    # Without repeats two members can only weigh (1, 0), (0, 1) or (1/2, 1/2).
    assert weights[0] not in (0.0, 0.5, 1.0) and weights[0] > weights[1] > 0
    assert weights[0] == pytest.approx(0.625, abs=0.05)
    # Counts over the prefix's length: some length of at most 25 makes both whole.
    assert any(np.allclose(weights * length, np.round(weights * length), atol=1e-9) for length in range(1, 26))
    assert rules.fit_selected(mixed(), MIXED_LABELS, rounds=1).tolist() == [1.0, 0.0]  # the best member alone
    assert rules.fit_selected(mixed(), MIXED_LABELS, rounds=3).tolist() == pytest.approx([2 / 3, 1 / 3])
    with pytest.raises(ValueError, match="rounds must be at least 1"):
        rules.fit_selected(mixed(), MIXED_LABELS, rounds=0)


def test_selection_ties_go_to_the_lower_index() -> None:
    # b's log-loss (0.642) is below a's (0.675); its twin ties with it.
    twins = team_cube.probability_cube([A, B, B], ["a", "b", "twin"])
    assert rules.fit_selected(twins, LABELS, rounds=1).tolist() == [0.0, 1.0, 0.0]


def test_vote_is_the_majority_with_mean_probabilities() -> None:
    rule = rules.fit_rule("vote", cube(), LABELS, NAMES, rounds=25)
    prediction = rule.predict(cube())
    np.testing.assert_array_equal(prediction.classes, [0, 1, 0, 2])  # row 2: a and b say 0
    np.testing.assert_array_equal(prediction.classes, team_cube.vote_prediction(cube()))
    np.testing.assert_allclose(prediction.probabilities, cube().mean(axis=2), atol=1e-15)
    table = rules.rules_table(rules.fit_rules(cube(), LABELS, NAMES, rounds=25), cube(), LABELS, NAMES)
    assert list(table) == list(rules.RULES)
    assert table["vote"] == {"error": 0.25, "weights": {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}}  # no log-loss
    assert table["summed"]["error"] == 0.0
    assert table["summed"]["logloss"] == pytest.approx(multiclass_logloss(cube().mean(axis=2), LABELS))


def test_fitted_weights_are_non_negative_and_sum_to_one() -> None:
    built, labels = random_cube(300, 10, 5, seed=11)
    fitted = rules.fit_rules(built, labels, [f"m{i}" for i in range(5)], rounds=10)
    for name, rule in fitted.items():
        weights = np.asarray(rule.weights)
        assert (weights >= 0).all() and weights.sum() == pytest.approx(1.0, abs=1e-12), name
    # Weights are fitted on the calibrated members: there `weighted` beats equal weights.
    calibrated = rules.calibrated(built, labels)
    losses = {name: multiclass_logloss(rule.predict(calibrated).probabilities, labels) for name, rule in fitted.items()}
    assert losses["weighted"] < losses["summed"]
    again = rules.fit_rules(built, labels, [f"m{i}" for i in range(5)], rounds=10)
    assert again == fitted  # deterministic


def test_error_correlation_of_identical_and_of_disjoint_members() -> None:
    labels = np.zeros(8, dtype=np.int64)
    right, wrong = [0.8, 0.2], [0.3, 0.7]
    first = np.array([wrong, wrong, right, right, right, right, right, right])
    second = np.array([right, right, wrong, wrong, right, right, right, right])
    always = np.array([right] * 8)
    built = team_cube.probability_cube([first, first, second, always], ["first", "copy", "second", "always"])
    correlation = rules.error_correlation(built, labels)
    assert correlation[0, 1] == 1.0 and correlation[0, 0] == 1.0
    # Errors on disjoint rows: covariance (0 - 1/4 * 1/4) * 8 < 0; Pearson -(1/16) / (3/16) = -1/3.
    assert correlation[0, 2] == pytest.approx(-1 / 3) and correlation[2, 0] == correlation[0, 2]
    assert np.isnan(correlation[3]).all()  # never wrong: its errors do not vary
    disagreement = rules.disagreement(built)
    assert disagreement[0, 1] == 0.0 and disagreement[0, 2] == pytest.approx(0.5) and disagreement[0, 3] == 0.25
    summary = rules.diversity_summary(built, labels, ["first", "copy", "second", "always"])
    assert summary["pearson"][3] == [None] * 4 and summary["disagreement"][0][2] == 0.5
    json.dumps(summary, allow_nan=False)


def test_a_rule_round_trips_through_json() -> None:
    rule = rules.TeamRule("selected", ("a", "b", "c"), (0.6, 0.0, 0.4))
    data = json.loads(json.dumps(rule.as_json()))
    assert data == {"name": "selected", "members": ["a", "b", "c"], "weights": [0.6, 0.0, 0.4]}
    assert rules.TeamRule.from_json(data) == rule
    # Keys sorted (as metrics.json and the manifest are written): the team's order stays.
    assert rules.TeamRule.from_json(json.loads(json.dumps(rule.as_json(), sort_keys=True))).members == ("a", "b", "c")
    assert rule.weight_map() == {"a": 0.6, "b": 0.0, "c": 0.4}
    with pytest.raises(ValueError, match="team rule: no members in"):
        rules.TeamRule.from_json({"name": "summed", "weights": [1.0]})
    assert rule.stored() == rules.TeamRule("selected", ("a", "c"), (0.6, 0.4))
    assert rule.positions(["c", "x", "a", "b"]) == [2, 3, 0]
    with pytest.raises(ValueError, match=r"members \['c'\] are not among \['a', 'b'\]"):
        rule.positions(["a", "b"])


@pytest.mark.parametrize(
    ("name", "members", "weights", "message"),
    [
        ("mean", ("a",), (1.0,), "expected one of summed, weighted, selected, vote"),
        ("summed", (), (), "no members"),
        ("summed", ("a", "a"), (0.5, 0.5), "named twice"),
        ("summed", ("a", "b"), (1.0,), "1 weights for 2 members"),
        ("weighted", ("a", "b"), (1.5, -0.5), "non-negative"),
        ("weighted", ("a", "b"), (0.5, math.nan), "finite"),
        ("weighted", ("a", "b"), (0.5, 0.4), "sum to 0.900000"),
        ("vote", ("a", "b"), (0.7, 0.3), "every member counts once"),
    ],
)
def test_bad_rules_are_refused(name: Any, members: tuple[str, ...], weights: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.TeamRule(name, members, weights)


def test_combine_is_the_weighted_mean() -> None:
    combined = rules.combine(cube(), np.array([0.5, 0.5, 0.0]))
    np.testing.assert_allclose(combined, (A + B) / 2, atol=1e-15)
    with pytest.raises(ValueError, match=r"\(2,\) weights for a cube of shape \(4, 3, 3\)"):
        rules.combine(cube(), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="3 member names for a cube of 2 members"):
        rules.fit_rule("summed", mixed(), MIXED_LABELS, NAMES, rounds=25)


def _metrics(rule: dict[str, Any] | None) -> dict[str, Any]:
    member: dict[str, Any] = {"algorithm": "gbm", "input": "features", "params": {}, "failure": None}
    team: dict[str, Any] = {
        "members": {name: {**member, "model_id": f"{name}_x"} for name in NAMES},
        "kept": NAMES,
        "classes": [0, 1, 2],
        "low_confidence_threshold": 0.5,
    }
    if rule is not None:
        team["rule"] = rule
    autoencoders = {"AE": {"model_id": "AE_x", "input": "pixels", "hidden": 2}}
    return {"features": {"autoencoders": autoencoders, "used": ["AE"]}, "team": team}


def test_scoring_follows_the_stored_rule() -> None:
    stored = rules.TeamRule("selected", ("c", "b", "a"), (0.25, 0.0, 0.75)).stored()
    lineage = run_lineage(json.loads(json.dumps(_metrics(stored.as_json()), sort_keys=True)))
    assert lineage["team"] == ["c", "a"]  # the rule's order, not the keys' sorted one
    assert lineage["rule"] == {"name": "selected", "members": ["c", "a"], "weights": [0.25, 0.75]}
    plan = ScoringPlan.from_manifest({"run_id": "r", "lineage": lineage})
    assert [m.name for m in plan.members] == ["c", "a"] and plan.rule == stored
    ids = np.arange(4)
    table = plan_combine(plan, ids, LABELS, {"a": A, "b": B, "c": C})  # b is not loaded: not used
    np.testing.assert_allclose(table[["p0", "p1", "p2"]].to_numpy(), 0.75 * A + 0.25 * C, atol=1e-15)
    assert table["predict"].tolist() == [0, 1, 0, 2]  # row 2: 0.75 * 0.5 + 0.25 * 0.1 = 0.4 > 0.35
    assert [c for c in table.columns if c.startswith("predict_")] == ["predict_c", "predict_a"]


def test_a_run_stored_before_team_rules_scores_as_summed() -> None:
    lineage = run_lineage(_metrics(None))
    assert lineage["team"] == NAMES and lineage["rule"] is None
    older = {key: value for key, value in lineage.items() if key != "rule"}
    plan = ScoringPlan.from_manifest({"run_id": "r", "lineage": older})
    assert plan.rule == rules.TeamRule.equal("summed", NAMES)
    table = plan_combine(plan, np.arange(4), LABELS, {"a": A, "b": B, "c": C})
    np.testing.assert_array_equal(table["predict"], team_cube.summed_prediction(cube()))
    broken = {**lineage, "rule": {"name": "summed", "members": ["a", "b"], "weights": [0.5, 0.5]}}
    with pytest.raises(StoreError, match=r"run r: the team rule weighs \['a', 'b'\], the team is \['a', 'b', 'c'\]"):
        ScoringPlan.from_manifest({"run_id": "r", "lineage": broken})


def test_the_comparison_names_the_team_by_its_rule() -> None:
    summary = {"team": {"error": 0.1}, "vote": {"error": 0.2}}
    metrics = _metrics({"name": "selected", "members": ["a", "c"], "weights": [0.75, 0.25]})
    metrics["team"].update(valid=summary, test=summary)
    for member in metrics["team"]["members"].values():
        member.update(kept=True, inputs=2)
    models = [row["model"] for row in comparison_rows(metrics)]
    assert models[-2:] == ["team: selected ensemble (2 of 3)", "team: majority vote (3)"]
    del metrics["team"]["rule"]
    assert comparison_rows(metrics)[-2]["model"] == "team: summed probabilities (3)"


def test_weights_are_fitted_on_calibrated_probabilities() -> None:
    """An accurate member trained with label smoothing (never sure) and a worse but
    over-confident one: on the raw probabilities log-loss favours the confident member;
    after each member's temperature is fitted, the accurate one weighs most."""
    rng = np.random.default_rng(5)
    rows, classes = 3000, 10
    labels = rng.integers(0, classes, rows)
    guess_right = rng.random(rows) < 0.92  # the accurate member: right on 92 % of rows
    accurate_class = np.where(guess_right, labels, (labels + 1) % classes)
    accurate = np.full((rows, classes), 0.5 / (classes - 1))
    accurate[np.arange(rows), accurate_class] = 0.5  # smoothed: 0.5 on its guess, however sure
    sure_right = rng.random(rows) < 0.85  # the confident member: right on 85 %
    confident_class = np.where(sure_right, labels, (labels + 2) % classes)
    confident = np.full((rows, classes), 0.02 / (classes - 1))
    confident[np.arange(rows), confident_class] = 0.98
    built = team_cube.probability_cube([accurate, confident], ["accurate", "confident"])
    powers = rules.calibration_powers(built, labels)
    assert powers[0] > 1.0 > powers[1]  # sharpen the smoothed member, soften the sure one
    calibrated = rules.calibrated(built, labels)
    for index in range(2):
        raw = multiclass_logloss(built[:, :, index], labels)
        assert multiclass_logloss(calibrated[:, :, index], labels) <= raw  # power 1 is among those tried
    np.testing.assert_array_equal(calibrated.argmax(axis=1), built.argmax(axis=1))  # the order of classes kept
    assert rules.fit_weighted(built, labels)[1] > 0.5  # raw: the confident member outweighs the accurate one
    for name in ("weighted", "selected"):
        rule = rules.fit_rule(name, built, labels, ["accurate", "confident"], rounds=25)
        assert rule.weights[0] > rule.weights[1], (name, rule.weights)
