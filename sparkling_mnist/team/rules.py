"""The team rule: how the kept members' probabilities become the team's. Pure numpy.

Four rules over the probability cube (rows x classes x members), each fitted on the
validation split only:

- `summed`: every member weighs the same (the recipe's);
- `weighted`: non-negative weights summing to 1 that minimise the validation log-loss
  of the weighted mean probabilities. The log-loss of a mixture is convex in its
  weights; the multiplicative (EM) update `w_j <- w_j * mean(p_j(y) / p(y))` stays on
  the simplex, never raises the log-loss and needs no step size, so the fit is
  deterministic. Weights under `MIN_WEIGHT` are dropped (a member weighing that little
  is not worth loading to score);
- `selected`: Caruana et al. (2004) ensemble selection: starting empty, add the member
  (repeats allowed) whose addition gives the lowest validation log-loss (ties: the
  lower error, then the lower index), for a fixed number of rounds; the best prefix
  is kept and each member weighs its count over the prefix's length;
- `vote`: majority vote of the members' classes (`cube.vote_prediction`), every member
  counted once; its probabilities are the members' mean.

A fitted rule is a `TeamRule`: its name and a weight per member, JSON round-trip
(members and weights as lists: their order is the team's, and JSON files here are
written with sorted keys). The
team stage, the store's manifest, the scoring plan and the PipelineModel all turn a
cube into the team's prediction with it (`TeamRule.predict`, by `combine`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np

from sparkling_mnist.config.team import TeamRuleName
from sparkling_mnist.evaluate.classification import check_labels, multiclass_logloss
from sparkling_mnist.team.cube import TeamPrediction, correctness, member_predictions, vote_prediction

RULES: tuple[TeamRuleName, ...] = get_args(TeamRuleName)  # the config's `team.rule` choices, in report order
WEIGHTED_STEPS = 2000
MIN_WEIGHT = 1e-3
WEIGHT_TOLERANCE = 1e-6
_CONVERGED = 1e-12
_EPS = 1e-15  # the log-loss's clip (`multiclass_logloss`)


@dataclass(frozen=True)
class TeamRule:
    """A fitted team rule: its name and each member's weight (non-negative, summing to 1).

    Raises:
        ValueError: an unknown rule, no members, a member twice, weights not matching
            the members, negative or non-finite weights, weights not summing to 1, or a
            vote whose members do not weigh the same.
    """

    name: TeamRuleName
    members: tuple[str, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.name not in RULES:
            raise ValueError(f"team rule {self.name!r}: expected one of {', '.join(RULES)}")
        if not self.members:
            raise ValueError(f"team rule {self.name}: no members")
        if len(set(self.members)) != len(self.members):
            raise ValueError(f"team rule {self.name}: a member is named twice in {list(self.members)}")
        if len(self.weights) != len(self.members):
            raise ValueError(f"team rule {self.name}: {len(self.weights)} weights for {len(self.members)} members")
        weights = np.asarray(self.weights, dtype=np.float64)
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError(f"team rule {self.name}: weights must be finite and non-negative, got {self.weights}")
        if abs(weights.sum() - 1.0) > WEIGHT_TOLERANCE:
            raise ValueError(f"team rule {self.name}: weights sum to {weights.sum():.6f}, expected 1")
        if self.name == "vote" and np.ptp(weights) > WEIGHT_TOLERANCE:
            raise ValueError(f"team rule vote: every member counts once, got weights {self.weights}")

    @classmethod
    def equal(cls, name: TeamRuleName, members: Sequence[str]) -> TeamRule:
        """The rule `name` with every member weighing the same (`summed`, `vote`)."""
        return cls(name, tuple(members), tuple(1.0 / len(members) for _ in members))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TeamRule:
        """The rule `as_json` wrote: `{"name": ..., "members": [...], "weights": [...]}`.

        Raises:
            ValueError: a missing key, or a rule the checks above refuse.
        """
        missing = sorted({"name", "members", "weights"} - set(data))
        if missing:
            raise ValueError(f"team rule: no {', '.join(missing)} in {sorted(data)}")
        return cls(data["name"], tuple(data["members"]), tuple(float(value) for value in data["weights"]))

    def as_json(self) -> dict[str, Any]:
        """JSON-ready: `{"name": ..., "members": [...], "weights": [...]}`, in the team's order."""
        return {"name": self.name, "members": list(self.members), "weights": list(self.weights)}

    def weight_map(self) -> dict[str, float]:
        """Each member's weight by name (for tables and logs)."""
        return dict(zip(self.members, self.weights, strict=True))

    def stored(self) -> TeamRule:
        """The rule over its members of positive weight: the team that is stored and scored."""
        kept = [(member, weight) for member, weight in zip(self.members, self.weights, strict=True) if weight > 0]
        return TeamRule(self.name, tuple(m for m, _ in kept), tuple(w for _, w in kept))

    def positions(self, names: Sequence[str]) -> list[int]:
        """Where each of the rule's members is among `names` (a cube's members).

        Raises:
            ValueError: a member of the rule is not among `names`.
        """
        missing = [member for member in self.members if member not in names]
        if missing:
            raise ValueError(f"team rule {self.name}: members {missing} are not among {list(names)}")
        return [list(names).index(member) for member in self.members]

    def predict(self, cube: np.ndarray) -> TeamPrediction:
        """The team's probabilities (`combine`) and classes (their argmax, or the vote)
        from the cube of the rule's members, in the rule's order.

        Raises:
            ValueError: the cube does not have one member per weight.
        """
        probabilities = combine(cube, np.asarray(self.weights, dtype=np.float64))
        classes = vote_prediction(cube) if self.name == "vote" else probabilities.argmax(axis=1)
        return TeamPrediction(probabilities, np.asarray(classes))


def combine(cube: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The members' weighted mean probabilities, (rows, classes).

    Raises:
        ValueError: not one weight per member of the cube.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if cube.ndim != 3 or weights.shape != (cube.shape[2],):
        raise ValueError(f"{weights.shape} weights for a cube of shape {cube.shape} (rows, classes, members)")
    return np.asarray(cube @ weights)


def fit_weighted(cube: np.ndarray, labels: np.ndarray, *, steps: int = WEIGHTED_STEPS) -> np.ndarray:
    """Weights (non-negative, summing to 1) minimising the log-loss of the weighted mean
    probabilities on these rows: multiplicative (EM) updates from equal weights, at most
    `steps`, then weights under `MIN_WEIGHT` dropped."""
    labels = check_labels(labels, cube.shape[1])
    truth = cube[np.arange(len(labels)), labels, :]  # (rows, members): each member's p(label)
    members = cube.shape[2]
    weights = np.full(members, 1.0 / members)
    for _ in range(steps):
        mixture = np.maximum(truth @ weights, _EPS)
        updated = weights * (truth / mixture[:, None]).mean(axis=0)
        updated /= updated.sum()
        converged = np.abs(updated - weights).max() < _CONVERGED
        weights = updated
        if converged:
            break
    weights[weights < MIN_WEIGHT] = 0.0
    return np.asarray(weights / weights.sum())


def fit_selected(cube: np.ndarray, labels: np.ndarray, *, rounds: int) -> np.ndarray:
    """Caruana et al.'s forward selection with replacement: weights (each member's count
    over the best prefix's length) of the prefix with the lowest log-loss (ties: the
    lower error, then the shorter prefix).

    Raises:
        ValueError: rounds below 1.
    """
    if rounds < 1:
        raise ValueError(f"selection rounds must be at least 1, got {rounds}")
    labels = check_labels(labels, cube.shape[1])
    counts = np.zeros(cube.shape[2], dtype=np.int64)
    total = np.zeros(cube.shape[:2])
    prefixes: list[tuple[float, float, np.ndarray]] = []
    for size in range(1, rounds + 1):
        scores = [_scores((total + cube[:, :, index]) / size, labels) for index in range(cube.shape[2])]
        best = min(range(len(scores)), key=lambda index: (*scores[index], index))
        total += cube[:, :, best]
        counts[best] += 1
        prefixes.append((*scores[best], counts.copy()))
    chosen = min(range(len(prefixes)), key=lambda index: (prefixes[index][0], prefixes[index][1], index))
    best_counts = prefixes[chosen][2]
    return np.asarray(best_counts / best_counts.sum())


def _scores(probabilities: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(log-loss, error) of probabilities against labels."""
    return multiclass_logloss(probabilities, labels), float(np.mean(probabilities.argmax(axis=1) != labels))


TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(4.0), 97))
"""The sharpening powers `calibrated` tries (1 = the member's own probabilities)."""


def sharpened(probabilities: np.ndarray, power: float) -> np.ndarray:
    """Probabilities raised to `power` and renormalised per row (a softmax temperature of
    1 / power on the log-probabilities): above 1 sharper, below 1 softer, order kept."""
    raised = np.power(np.maximum(probabilities, _EPS), power)
    return np.asarray(raised / raised.sum(axis=1, keepdims=True))


def calibration_powers(cube: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per member, the power of `TEMPERATURES` whose sharpened probabilities have the
    lowest log-loss on these rows (temperature scaling, Guo et al. 2017)."""
    labels = check_labels(labels, cube.shape[1])
    powers = []
    for index in range(cube.shape[2]):
        losses = [multiclass_logloss(sharpened(cube[:, :, index], power), labels) for power in TEMPERATURES]
        powers.append(float(TEMPERATURES[int(np.argmin(losses))]))
    return np.asarray(powers)


def calibrated(cube: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The cube with each member's probabilities temperature-scaled on these rows.

    Members trained with label smoothing are under-confident and trees often
    over-confident: weights fitted by log-loss on the raw cube then favour the confident
    member over the accurate one. Fitting them on calibrated probabilities compares the
    members' information, not their confidence.
    """
    powers = calibration_powers(cube, labels)
    return np.stack([sharpened(cube[:, :, index], power) for index, power in enumerate(powers)], axis=2)


def fit_rule(
    name: TeamRuleName, cube: np.ndarray, labels: np.ndarray, members: Sequence[str], *, rounds: int
) -> TeamRule:
    """The rule `name` fitted on these rows (the validation split's) of the members' cube.

    `weighted` and `selected` are fitted on the members' temperature-calibrated
    probabilities (`calibrated`); the rule then weighs the members' own probabilities,
    as scoring does.

    Raises:
        ValueError: an unknown rule, members not matching the cube, rounds below 1.
    """
    if len(members) != cube.shape[2]:
        raise ValueError(f"{len(members)} member names for a cube of {cube.shape[2]} members")
    if name not in RULES:
        raise ValueError(f"team rule {name!r}: expected one of {', '.join(RULES)}")
    return _fit(name, cube, labels, members, rounds=rounds)


def _fit(
    name: TeamRuleName,
    cube: np.ndarray,
    labels: np.ndarray,
    members: Sequence[str],
    *,
    rounds: int,
    scaled: np.ndarray | None = None,
) -> TeamRule:
    """`fit_rule` once checked; `scaled`: the cube already `calibrated`, else done here."""
    if name in ("summed", "vote"):
        return TeamRule.equal(name, members)
    scaled = calibrated(cube, labels) if scaled is None else scaled
    fit = fit_weighted(scaled, labels) if name == "weighted" else fit_selected(scaled, labels, rounds=rounds)
    return TeamRule(name, tuple(members), tuple(float(weight) for weight in fit))


def fit_rules(
    cube: np.ndarray, labels: np.ndarray, members: Sequence[str], *, rounds: int
) -> dict[TeamRuleName, TeamRule]:
    """Every rule fitted on these rows (the validation split's), in `RULES` order;
    `rounds`: the `selected` rule's (`team.selection_rounds`). The members are
    calibrated once for both fitted rules."""
    if len(members) != cube.shape[2]:
        raise ValueError(f"{len(members)} member names for a cube of {cube.shape[2]} members")
    scaled = calibrated(cube, labels)
    return {name: _fit(name, cube, labels, members, rounds=rounds, scaled=scaled) for name in RULES}


def rules_table(
    rules: Mapping[TeamRuleName, TeamRule], cube: np.ndarray, labels: np.ndarray, members: Sequence[str]
) -> dict[str, Any]:
    """Each rule on these rows of the `members`' cube, JSON-ready: `{rule: {error,
    logloss, weights}}` (no log-loss for `vote`: a vote has no probabilities of its own).

    Raises:
        ValueError: a rule names a member that is not among `members`.
    """
    labels = check_labels(labels, cube.shape[1])
    table: dict[str, Any] = {}
    for name, rule in rules.items():
        prediction = rule.predict(cube[:, :, rule.positions(members)])
        entry: dict[str, Any] = {"error": float(np.mean(prediction.classes != labels))}
        if name != "vote":
            entry["logloss"] = multiclass_logloss(prediction.probabilities, labels)
        entry["weights"] = rule.weight_map()
        table[name] = entry
    return table


def error_correlation(cube: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The Pearson correlation of the members' 0/1 error indicators, (members, members).

    1 for members wrong on the same rows, negative for members wrong on different rows;
    NaN where a member is wrong on every row or on none (its indicator does not vary).
    """
    wrong = (~correctness(cube, labels)).astype(np.float64)
    centred = wrong - wrong.mean(axis=0)
    covariance = centred.T @ centred
    spread = np.sqrt(np.diag(covariance))
    scale = np.outer(spread, spread)
    correlation = np.divide(covariance, scale, out=np.full_like(covariance, np.nan), where=scale > 0)
    varies = spread > 0
    correlation[varies, varies] = 1.0  # exactly, not to rounding
    return np.asarray(np.clip(correlation, -1.0, 1.0))


def disagreement(cube: np.ndarray) -> np.ndarray:
    """The share of rows on which two members predict different classes, (members, members)."""
    predicted = member_predictions(cube)
    return np.asarray(np.mean(predicted[:, :, None] != predicted[:, None, :], axis=0))


def diversity_summary(cube: np.ndarray, labels: np.ndarray, members: Sequence[str]) -> dict[str, Any]:
    """The members' error correlation and disagreement on these rows, JSON-ready (NaN as
    None): `{"members": [...], "pearson": [[...]], "disagreement": [[...]]}`."""
    return {
        "members": list(members),
        "pearson": _matrix_json(error_correlation(cube, labels)),
        "disagreement": _matrix_json(disagreement(cube)),
    }


def _matrix_json(matrix: np.ndarray) -> list[list[float | None]]:
    return [[None if np.isnan(value) else float(value) for value in row] for row in matrix]
