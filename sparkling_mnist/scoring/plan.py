"""What scoring a stored run needs, read from its manifest's lineage: the autoencoders in
dependency order, the feature columns, the team's members and rule, the classes; and
how the members' probabilities become the team's predictions (by the rule). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sparkling_mnist.errors import StoreError
from sparkling_mnist.ood.flags import Thresholds
from sparkling_mnist.team.cube import fill_empty_rows, prediction_table, probability_cube
from sparkling_mnist.team.rules import TeamRule


@dataclass(frozen=True)
class Autoencoder:
    """One autoencoder of the chain: name, stored model id, input ('pixels' or a name)."""

    name: str
    model_id: str
    input: str
    hidden: int


@dataclass(frozen=True)
class Member:
    """One team member: name, stored model id, input kind."""

    name: str
    model_id: str
    input: str


@dataclass(frozen=True)
class OodPlan:
    """The stored run's out-of-distribution detectors: the isolation forest (model id),
    the pixel autoencoder whose reconstruction error is written (name), their thresholds."""

    isolation_forest: str
    autoencoder: str
    thresholds: Thresholds

    @classmethod
    def from_lineage(cls, lineage: Mapping[str, Any] | None) -> OodPlan | None:
        """The plan of the lineage's `ood` part; None for a run stored without one."""
        if not lineage:
            return None
        return cls(
            isolation_forest=str(lineage["isolation_forest"]),
            autoencoder=str(lineage["autoencoder"]),
            thresholds=Thresholds(
                anomaly=float(lineage["anomaly_threshold"]), reconstruction=float(lineage["reconstruction_threshold"])
            ),
        )


@dataclass(frozen=True)
class ScoringPlan:
    """What scoring a run needs, read from its manifest's lineage. Pure."""

    run_id: str
    autoencoders: tuple[Autoencoder, ...]  # dependency order
    features: tuple[str, ...]
    passthrough: tuple[str, ...]
    members: tuple[Member, ...]  # the team only
    classes: tuple[int, ...]
    threshold: float
    rule: TeamRule  # over `members`, in their order
    ood: OodPlan | None = None  # None: the run has no out-of-distribution detectors

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> ScoringPlan:
        """Read the plan.

        Raises:
            StoreError: the run has no team or no autoencoders in its lineage, or its
                team rule is not one over the team's members.
        """
        lineage = manifest["lineage"]
        if not lineage.get("team") or not lineage.get("autoencoders"):
            raise StoreError(f"run {manifest['run_id']}: the manifest has no team or no autoencoders to score with")
        autoencoders = {
            name: Autoencoder(name, ae["model_id"], ae["input"], int(ae["hidden"]))
            for name, ae in lineage["autoencoders"].items()
        }
        ordered: list[Autoencoder] = []
        while len(ordered) < len(autoencoders):
            ready = [
                ae
                for ae in autoencoders.values()
                if ae not in ordered and (ae.input == "pixels" or autoencoders[ae.input] in ordered)
            ]
            if not ready:
                raise StoreError(f"run {manifest['run_id']}: the autoencoders' lineage has a cycle")
            ordered.extend(ready)
        members = tuple(
            Member(name, lineage["members"][name]["model_id"], lineage["members"][name]["input"])
            for name in lineage["team"]
        )
        return cls(
            run_id=str(manifest["run_id"]),
            autoencoders=tuple(ordered),
            features=tuple(lineage["features"]),
            passthrough=tuple(lineage.get("passthrough", [])),
            members=members,
            classes=tuple(int(c) for c in lineage["classes"]),
            threshold=float(lineage.get("low_confidence_threshold") or 0.5),
            rule=_team_rule(str(manifest["run_id"]), lineage.get("rule"), [member.name for member in members]),
            ood=OodPlan.from_lineage(lineage.get("ood")),
        )

    def autoencoder(self, name: str) -> Autoencoder:
        """The autoencoder of that name."""
        return next(ae for ae in self.autoencoders if ae.name == name)

    def feature_columns(self) -> list[str]:
        """The feature table's feature columns, in order."""
        hidden = {ae.name: ae.hidden for ae in self.autoencoders}
        return [f"{name}_{i}" for name in self.features for i in range(hidden[name])]


def _team_rule(run_id: str, stored: Mapping[str, Any] | None, names: Sequence[str]) -> TeamRule:
    """The lineage's team rule; a run stored before team rules sums its members.

    Raises:
        StoreError: the rule cannot be read, or its members are not the team's.
    """
    if not stored:
        return TeamRule.equal("summed", names)
    try:
        rule = TeamRule.from_json(stored)
    except ValueError as exc:
        raise StoreError(f"run {run_id}: the manifest's team rule cannot be read: {exc}") from None
    if list(rule.members) != list(names):
        raise StoreError(f"run {run_id}: the team rule weighs {list(rule.members)}, the team is {list(names)}")
    return rule


def team_predictions(
    ids: np.ndarray,
    labels: np.ndarray,
    probabilities: Mapping[str, np.ndarray],
    *,
    classes: Sequence[int],
    threshold: float,
    rule: TeamRule,
) -> pd.DataFrame:
    """The team's predictions from each member's (rows, classes) probabilities, combined
    by the team's `rule` (members in its order), in the team stage's columns
    (`team.cube.prediction_table`); rows without any probability count as uniform, as
    in the team stage. Pure."""
    names = list(rule.members)
    cube = probability_cube([fill_empty_rows(probabilities[name])[0] for name in names], names)
    return prediction_table(
        ids, labels, cube, classes=classes, names=names, threshold=threshold, prediction=rule.predict(cube)
    )


def combine(
    plan: ScoringPlan, ids: np.ndarray, labels: np.ndarray, probabilities: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """The team's predictions from each member's probabilities, by the plan's rule. Pure."""
    return team_predictions(ids, labels, probabilities, classes=plan.classes, threshold=plan.threshold, rule=plan.rule)
