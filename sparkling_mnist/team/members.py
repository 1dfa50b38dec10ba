"""Team members: H2O classifiers (deep learning, DRF, GBM, GLM, naive Bayes) with their
checked parameters and fingerprints, trained (by H2O or torch) on the features or the
pixels, or reloaded when finished; a member with a `search` block is the best model of
its grid (`search_member`).

A thin layer over the `h2o` API; their class probabilities come from
`evaluate.h2o_classifier`, and what the team makes of them is pure numpy in `team.cube`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sparkling_mnist.augment.selection import RowSelection
from sparkling_mnist.config.h2o_params import check_parameters, estimator_parameters
from sparkling_mnist.config.team import MemberSpec, TeamSettings
from sparkling_mnist.data.frames import TrainingFrames
from sparkling_mnist.errors import H2OParameterError, TeamError, TrainerAgreementError
from sparkling_mnist.evaluate.h2o_classifier import evaluate_h2o_classifier, response_classes
from sparkling_mnist.search import SearchPlan, Trial, check_search_names, each_value, fingerprinted_spec, run_search
from sparkling_mnist.torch_trainer import TrainingData, checked_plan
from sparkling_mnist.torch_trainer.fit import H2O, FitRequest, TrainerChoice, classifier_rows, fit_model, reload_model

log = logging.getLogger(__name__)

ESTIMATORS = {
    "deeplearning": "H2ODeepLearningEstimator",
    "drf": "H2ORandomForestEstimator",
    "gbm": "H2OGradientBoostingEstimator",
    "glm": "H2OGeneralizedLinearEstimator",
    "naivebayes": "H2ONaiveBayesEstimator",
}
# Filled in by the member stage when the algorithm takes them and the config does not.
_DEFAULTS: dict[str, dict[str, Any]] = {"glm": {"family": "multinomial"}}


def estimator_class(algorithm: str) -> type:
    """The `h2o.estimators` class of a member algorithm."""
    import h2o.estimators

    cls: type = getattr(h2o.estimators, ESTIMATORS[algorithm])
    return cls


def member_parameters(spec: MemberSpec, where: str, seed: int) -> dict[str, Any]:
    """The member's checked parameters, with the run seed and algorithm defaults filled in.

    Raises:
        H2OParameterError: a name that is not a parameter of the member's estimator.
    """
    cls = estimator_class(spec.algorithm)
    params = {**_DEFAULTS.get(spec.algorithm, {}), **check_parameters(cls, spec.params, where)}
    if "checkpoint" in params and spec.algorithm not in ("deeplearning", "drf", "gbm"):
        raise H2OParameterError(f"{where}.checkpoint: {spec.algorithm} models cannot continue training")
    if "seed" in _accepted(cls):
        params.setdefault("seed", seed)
    return params


def _accepted(cls: type) -> set[str]:
    return set(estimator_parameters(cls))


def check_team_parameters(team: TeamSettings, seed: int) -> None:
    """Check every member's H2O parameters before anything starts (and, for
    `trainer: torch`, that torch can train them).

    Raises:
        H2OParameterError: naming `team.members[i].params.<name>` (or
            `team.members[i].search.hyper_params.<name>`).
        ConfigError: a parameter torch cannot reproduce, naming it.
    """
    searched = {spec.name for spec in team.members if spec.search is not None}
    for index, spec in enumerate(team.members):
        where = f"team.members[{index}].params"
        params = member_parameters(spec, where, seed)
        torch = team.member_trainer(spec)[0] == "torch"
        if torch:
            checked_plan(params, autoencoder=False, where=where, seed=seed)
        if params.get("checkpoint") in searched:
            raise H2OParameterError(
                f"{where}.checkpoint: member {params['checkpoint']} searches, so its model is only known after "
                "the search; continue its best model by the path of its saved file instead"
            )
        if spec.search is not None:
            _check_member_search(spec, params, f"team.members[{index}].search", torch=torch, seed=seed)


def _check_member_search(spec: MemberSpec, params: Mapping[str, Any], where: str, *, torch: bool, seed: int) -> None:
    """A member's hyper-parameters: the estimator's, not set twice, not `checkpoint`, and
    (torch) each value one torch can train.

    Raises:
        H2OParameterError: naming `<where>.hyper_params.<name>`.
        ConfigError: a value torch cannot reproduce.
    """
    assert spec.search is not None
    check_parameters(estimator_class(spec.algorithm), spec.search.hyper_params, f"{where}.hyper_params")
    check_search_names(spec.search, spec.params, where, reserved=("checkpoint",))
    if torch:
        for plan in each_value(spec.search, params):
            checked_plan(plan, autoencoder=False, where=f"{where}.hyper_params", seed=seed)


def member_fingerprint(spec: MemberSpec, params: Mapping[str, Any], inputs: str) -> str:
    """A member's identity: its spec (its search block included), resolved parameters and
    the fingerprint of its inputs."""
    text = json.dumps({"spec": fingerprinted_spec(spec), "params": params, "inputs": inputs}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Member:
    """A trained (or reloaded) member, or the reason it failed."""

    spec: MemberSpec
    model_id: str
    params: dict[str, Any]
    x: list[str]
    selection: RowSelection
    model: Any = None
    reused: bool = False
    train_seconds: float = 0.0
    failure: str | None = None
    probabilities: dict[str, np.ndarray] = field(default_factory=dict)
    empty_rows: dict[str, int] = field(default_factory=dict)
    rows: dict[str, Any] = field(default_factory=dict)
    training_errors: dict[str, Any] = field(default_factory=dict)
    trainer: TrainerChoice = H2O
    """Who learns its weights, resolved once when the member is planned."""
    where: str = "team.members"
    """The config key of its parameters, for errors."""
    torch_data: tuple[TrainingData, TrainingData | None] | None = None
    """Torch's training and validation rows (torch only), read when it trains."""
    trainer_record: dict[str, Any] | None = None
    """The torch trainer's record (None for H2O)."""
    search: SearchPlan | None = None
    """The member's search (`spec.search` resolved); `model_id` then becomes the best model's."""
    search_record: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The member's name from the config."""
        return self.spec.name


def train_member(
    member: Member, training: TrainingFrames, valid: Any, models_dir: Path, *, seed: int, spark: Any = None
) -> None:
    """Train `member` on `training`'s rows (validation on `valid`) with its trainer and
    save it, or reload it when a model of the same fingerprint was saved before.

    Any H2O failure is recorded in `member.failure` (the team decides whether to go on).
    """
    reloaded = reload_model(member.model_id, models_dir, member.trainer)
    if reloaded is not None:  # before its frames: a reloaded model needs none of them
        member.model, fitted = reloaded
        member.reused, member.trainer_record = True, fitted.torch
        log.info("member %s: reusing %s", member.name, models_dir / member.model_id)
        return
    if member.trainer.torch is not None and member.torch_data is not None:
        frame, rows = classifier_rows(training, member.torch_data, member.trainer.torch, spark)
    else:  # H2O trains on every row: the one frame of them (converted now if it was not)
        frame, rows = training.fit, None
    estimator = estimator_class(member.spec.algorithm)
    request = FitRequest(
        member.model_id,
        estimator,
        member.params,
        member.x,
        "label",
        frame,
        valid,
        member.trainer,
        member.where,
        seed,
        rows,
    )
    try:
        member.model, fitted = fit_model(request, models_dir)
    except TrainerAgreementError:
        raise  # a wrong model, not a failed one: never built into a team
    except Exception as exc:  # H2O raises its own error types for every training failure
        member.failure = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}"
        log.error("member %s (%s) failed to train: %s", member.name, member.spec.algorithm, member.failure)
        return
    member.train_seconds, member.trainer_record = fitted.seconds, fitted.torch
    log.info(
        "member %s (%s): %d rows x %d inputs in %.1f s",
        member.name,
        member.spec.algorithm,
        training.rows()["total"],
        len(member.x),
        member.train_seconds,
    )


def search_member(
    member: Member, training: TrainingFrames, valid: Any, models_dir: Path, *, seed: int, spark: Any = None
) -> None:
    """Train (or reload) every planned model of the member's grid, each scored on `valid`
    by the search's metric; the best becomes the member's model (its id, its parameters).

    Every grid model is saved as `<member id>_g<k>` as it finishes, so a rerun reloads
    the finished ones. The leaderboard goes to `member.search_record`; when no model
    finished, `member.failure` says why.
    """
    plan = member.search
    assert plan is not None
    trials: dict[str, Member] = {}

    def fit(model_id: str, combination: dict[str, Any]) -> Trial:
        trial = Member(
            spec=member.spec,
            model_id=model_id,
            params={**member.params, **combination},
            x=member.x,
            selection=member.selection,
            trainer=member.trainer,
            where=member.where,
            torch_data=member.torch_data,
        )
        train_member(trial, training, valid, models_dir, seed=seed, spark=spark)
        if trial.failure:
            return Trial(None, float("nan"), reused=False, seconds=trial.train_seconds, failure=trial.failure)
        trials[model_id] = trial
        metric = evaluate_h2o_classifier(trial.model, valid)[plan.sort_by]
        return Trial(trial.model, float(metric), reused=trial.reused, seconds=trial.train_seconds)

    outcome = run_search(plan, member.model_id, fit, models_dir=models_dir, label=f"member {member.name}")
    member.search_record = outcome.record()
    member.train_seconds = outcome.train_seconds
    if outcome.best is None:
        reasons = sorted({row.get("failure") or row["status"] for row in outcome.leaderboard})
        member.failure = f"no model of its search finished ({'; '.join(reasons)})"
        log.error("member %s: %s", member.name, member.failure)
        return
    best = trials[outcome.best["model_id"]]
    member.model_id, member.params, member.model = best.model_id, best.params, best.model
    member.trainer_record = best.trainer_record
    member.reused = outcome.all_reused


def check_same_classes(members: Sequence[Member], expected: Sequence[str]) -> None:
    """Every member must predict exactly the label's classes, or the cube is meaningless.

    Raises:
        TeamError: naming each member whose classes differ and how.
    """
    problems = []
    for member in members:
        classes = response_classes(member.model)
        if sorted(classes, key=int) != sorted(expected, key=int):
            missing = sorted(set(expected) - set(classes), key=int)
            extra = sorted(set(classes) - set(expected), key=int)
            problems.append(f"member {member.name}: classes differ from the label's (missing {missing}, extra {extra})")
    if problems:
        raise TeamError("; ".join(problems))
