"""The team stage: train every member on its own input, rank them on the validation
split, keep the best `keep`, fit every team rule on the validation split and combine
the kept members by the configured one (`team.rule`), and write the team's
predictions, tables and plots.

Members read the feature table (or the pixels); their probabilities are aligned to the
feature table's row order by id, so members with different input frames still line up
row by row in the probability cube.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sparkling_mnist.config.team import MemberSpec, TeamRuleName, TeamSettings
from sparkling_mnist.data.frames import InputKind, RunFrames
from sparkling_mnist.errors import TeamError
from sparkling_mnist.evaluate.classification import classification_summary, multiclass_logloss
from sparkling_mnist.evaluate.h2o_classifier import (
    predict_probabilities,
    record_training_insight,
)
from sparkling_mnist.evaluate.network_rows import augmented_error
from sparkling_mnist.rundir import RunDir, committed, write_json_atomic
from sparkling_mnist.runtime.models import load_model
from sparkling_mnist.schema import PIXEL_COLUMNS
from sparkling_mnist.search import plan_search
from sparkling_mnist.team.cube import (
    SplitCube,
    align_to,
    fill_empty_rows,
    prediction_table,
    probability_cube,
    rank_members,
    team_summary,
)
from sparkling_mnist.team.evaluation import evaluate_team
from sparkling_mnist.team.members import (
    Member,
    check_same_classes,
    member_fingerprint,
    member_parameters,
    search_member,
    train_member,
)
from sparkling_mnist.team.rules import TeamRule, diversity_summary, fit_rules, rules_table
from sparkling_mnist.torch_trainer import checked_plan, label_classes, run_rows
from sparkling_mnist.torch_trainer.fit import TrainerChoice

log = logging.getLogger(__name__)

EVALUATED = ("valid", "test")
TRAIN_AND_EVALUATED = ("train", *EVALUATED)
"""The train split's originals are predicted too: the members' and the team's training error."""


@dataclass(frozen=True)
class TeamInputs:
    """What the members can read: the feature columns and the fingerprints behind them."""

    feature_names: list[str]
    passthrough: list[str]
    features_fingerprint: str
    pixels_fingerprint: str
    augment_fingerprint: str = ""


def member_columns(spec: MemberSpec, inputs: TeamInputs) -> list[str]:
    """The input columns of a member."""
    if spec.input == "pixels":
        return list(PIXEL_COLUMNS)
    if spec.input == "features+passthrough":
        return [*inputs.passthrough, *inputs.feature_names]
    return list(inputs.feature_names)


def member_kind(spec: MemberSpec) -> InputKind:
    """Whether a member reads the pixels or the feature table."""
    return "pixels" if spec.input == "pixels" else "features"


def plan_members(settings: TeamSettings, inputs: TeamInputs, seed: int) -> list[Member]:
    """Resolve every member's parameters, inputs and model id (nothing trained yet).

    A `checkpoint` naming an earlier member becomes that member's model id; one naming
    a file is loaded and becomes its model's id. A member's `search` is resolved into the
    combinations it tries (ranked by its `sort_by`, default `rank_by`).
    """
    members: list[Member] = []
    by_name: dict[str, Member] = {}
    for index, spec in enumerate(settings.members):
        params = member_parameters(spec, f"team.members[{index}].params", seed)
        selection = settings.member_rows(spec).selection(seed, spec.name)
        upstream = inputs.pixels_fingerprint if spec.input == "pixels" else inputs.features_fingerprint
        upstream += f"|rows:{selection.key}"
        if selection.augmented:
            upstream += f"|augment:{inputs.augment_fingerprint}"
        where = f"team.members[{index}].params"
        trainer = TrainerChoice.of(settings.member_trainer(spec))
        if trainer.torch is not None:
            checked_plan(params, autoencoder=False, where=where, seed=seed)
            upstream += f"|torch:{trainer.torch.model_dump_json()}"
        checkpoint = params.get("checkpoint")
        if isinstance(checkpoint, str) and checkpoint in by_name:
            params["checkpoint"] = by_name[checkpoint].model_id
            upstream += by_name[checkpoint].model_id
        elif isinstance(checkpoint, str):
            upstream += checkpoint
        fingerprint = member_fingerprint(spec, params, upstream)
        member = Member(
            spec=spec,
            model_id=f"{spec.name}_{fingerprint}",
            params=params,
            x=member_columns(spec, inputs),
            selection=selection,
            trainer=trainer,
            where=where,
        )
        if spec.search is not None:
            sort_by = spec.search.sort_by or settings.rank_by
            member.search = plan_search(spec.search, sort_by=sort_by, default_seed=seed)
        members.append(member)
        by_name[spec.name] = member
    return members


def _load_checkpoint(member: Member) -> None:
    """A checkpoint given as a path: load that model so H2O can continue it."""
    checkpoint = member.params.get("checkpoint")
    if isinstance(checkpoint, str) and Path(checkpoint).is_file():
        member.params["checkpoint"] = load_model(Path(checkpoint)).model_id


def _frame_ids_labels(frame: Any) -> tuple[np.ndarray, np.ndarray]:
    table = frame[["id", "label"]].as_data_frame(use_multi_thread=False)
    return table["id"].to_numpy(np.int64), table["label"].astype(int).to_numpy(np.int64)


def build_team(
    settings: TeamSettings, frames: RunFrames, run: RunDir, inputs: TeamInputs, *, seed: int
) -> dict[str, Any]:
    """The team stage, top to bottom: train (or reload) the members, predict every split,
    rank them on valid and keep the best, fit every team rule on valid, then record the
    team by the configured rule: metrics, predictions, the probability cubes and the
    evaluation's plots.

    Returns:
        The `team` section of metrics.json.

    Raises:
        TeamError: members failed (and `team.allow_failed_members` is false, or all
            failed), members disagree on the classes, or fewer members are left than kept.
    """
    members = plan_members(settings, inputs, seed)
    trained = train_members(settings, members, frames, run, seed=seed)
    reference, classes = predict_members(trained, frames)
    scores = {
        member.name: _member_score(member.probabilities["valid"], reference["valid"][1], settings.rank_by)
        for member in trained
    }
    kept = rank_members(scores, settings.kept(), lower_is_better=True)
    ranking = rank_members(scores, len(scores), lower_is_better=True)
    log.info("team: ranked on valid %s %s, kept %s", settings.rank_by, ranking, kept)
    team = [next(member for member in trained if member.name == name) for name in kept]
    cubes = {
        split: SplitCube(ids, labels, probability_cube([member.probabilities[split] for member in team], kept))
        for split, (ids, labels) in reference.items()
    }
    valid = cubes["valid"]
    rules = fit_rules(valid.cube, valid.labels, kept, rounds=settings.selection_rounds)
    log.info("team: rule %s, weights fitted on valid %s", settings.rule, rules[settings.rule].weight_map())
    section = record_team(
        settings, run, members, team, cubes, scores=scores, ranking=ranking, classes=classes, rules=rules
    )
    test_prediction = rules[settings.rule].predict(cubes["test"].cube)
    section["evaluation"] = evaluate_team(
        settings, frames, run, cubes["test"], section["test"], prediction=test_prediction
    )
    return section


def train_members(
    settings: TeamSettings, members: Sequence[Member], frames: RunFrames, run: RunDir, *, seed: int
) -> list[Member]:
    """Train (or reload) every member on its rows; the members that trained.

    Raises:
        TeamError: failures the settings do not allow (`allow_failed_members`, `keep`).
    """
    for member in members:
        _load_checkpoint(member)
        training = frames.training(member_kind(member.spec), member.selection)
        member.rows = training.rows()
        if member.trainer.name == "torch":
            classes = label_classes(training.originals)
            member.torch_data = run_rows(frames.run, member_kind(member.spec), member.selection, member.x, classes)
        train = search_member if member.search is not None else train_member
        valid = frames.split(member_kind(member.spec), "valid")
        train(member, training, valid, run.models, seed=seed, spark=frames.spark)
        if member.model is not None and training.has_augmented:
            member.training_errors["augmented"] = augmented_error(
                member.model, member.spec.algorithm, training, member.x
            )
    failed = {member.name: member.failure for member in members if member.failure}
    trained = [member for member in members if not member.failure]
    _check_failures(failed, trained, settings.allow_failed_members, settings.kept())
    return trained


def predict_members(
    trained: Sequence[Member], frames: RunFrames
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[str]]:
    """Every member's class probabilities on train (originals), valid and test, aligned by
    id to the feature table's rows (`member.probabilities`).

    Returns:
        The feature table's (ids, labels) per split, and the classes in label order.

    Raises:
        TeamError: members disagree with the label's classes, or an input misses rows.
    """
    reference = {split: _frame_ids_labels(frames.features(split)) for split in TRAIN_AND_EVALUATED}
    classes = [str(level) for level in frames.features("train")["label"].levels()[0]]
    check_same_classes(trained, classes)
    ordered = sorted(classes, key=int)
    for member in trained:
        for split in TRAIN_AND_EVALUATED:
            frame = frames.split(member_kind(member.spec), split)
            probabilities, empty = fill_empty_rows(predict_probabilities(member.model, frame, ordered))
            if empty:
                log.warning(
                    "member %s: %d %s row(s) without any probability, counted as uniform", member.name, empty, split
                )
            member.empty_rows[split] = empty
            if frame is not frames.features(split):
                frame_ids = _frame_ids_labels(frame)[0]
                if len(frame_ids) != len(reference[split][0]):
                    raise TeamError(
                        f"member {member.name}: {split} input has {len(frame_ids)} rows, "
                        f"the feature table {len(reference[split][0])}"
                    )
                probabilities = probabilities[align_to(reference[split][0], frame_ids)]
            member.probabilities[split] = probabilities
    return reference, ordered


def record_team(
    settings: TeamSettings,
    run: RunDir,
    members: Sequence[Member],
    team: Sequence[Member],
    cubes: Mapping[str, SplitCube],
    *,
    scores: Mapping[str, float],
    ranking: Sequence[str],
    classes: Sequence[str],
    rules: Mapping[TeamRuleName, TeamRule],
) -> dict[str, Any]:
    """The team's metrics section; its predictions (Parquet) and probability cubes (npz)
    of valid and test, and its member list, written under `team/` as outputs.

    The team's headline (`team` of each split, the predictions) follows the configured
    rule; every rule is recorded beside it (`rules`). The stored team (`rule`: its
    members and weights, what the store saves and scoring loads) leaves out the kept
    members of weight 0; the predictions' `predict_<member>` and `members_right` are
    those of the stored team, as scoring writes them."""
    kept = [member.name for member in team]
    levels = [int(level) for level in classes]
    chosen = rules[settings.rule]
    stored = chosen.stored()
    section: dict[str, Any] = {
        "members": {member.name: _member_record(member, cubes, scores, kept, run) for member in members},
        "ranking": list(ranking),
        "rank_by": settings.rank_by,
        "kept": kept,
        "rule": stored.as_json(),
        "failed": {member.name: member.failure for member in members if member.failure},
        "classes": levels,
        "low_confidence_threshold": settings.low_confidence,
    }
    run.team_dir.mkdir(parents=True, exist_ok=True)
    for split in TRAIN_AND_EVALUATED:
        split_cube = cubes[split]
        prediction = chosen.predict(split_cube.cube)
        summary = team_summary(
            split_cube.cube, split_cube.labels, kept, threshold=settings.low_confidence, prediction=prediction
        )
        summary["rules"] = rules_table(rules, split_cube.cube, split_cube.labels, kept)
        _log_rules(split, summary, kept, settings.rule, len(split_cube.ids))
        if split not in EVALUATED:
            section[split] = summary
            continue
        summary["confusion"] = classification_summary(split_cube.labels, prediction.classes)["confusion"]
        summary["error_correlation"] = diversity_summary(split_cube.cube, split_cube.labels, kept)
        section[split] = summary
        stored_cube = split_cube.cube[:, :, stored.positions(kept)]
        table = prediction_table(
            split_cube.ids,
            split_cube.labels,
            stored_cube,
            classes=levels,
            names=stored.members,
            threshold=settings.low_confidence,
            prediction=stored.predict(stored_cube),
        )
        with committed(run.team_predictions(split)) as tmp:
            table.to_parquet(tmp, index=False)
        with committed(run.team_dir / f"cube_{split}.npz") as tmp:
            np.savez_compressed(tmp, cube=split_cube.cube, ids=split_cube.ids, labels=split_cube.labels, members=kept)
    write_json_atomic(
        run.team_dir / "team.json",
        {"kept": kept, "members": [m.model_id for m in team], "rule": stored.as_json()},
    )
    return section


def _log_rules(split: str, summary: Mapping[str, Any], kept: Sequence[str], rule: TeamRuleName, rows: int) -> None:
    """One line per split: every rule's error beside the best kept member's."""
    name = "team" if split in EVALUATED else "team train (originals)"
    best = min(kept, key=lambda member: (summary["members"][member]["error"], member))
    errors = ", ".join(f"{way} {entry['error']:.4f}" for way, entry in summary["rules"].items())
    log.info(
        "%s %s: %s; best member %.4f (%s); rule %s (%d rows)",
        name,
        split,
        errors,
        summary["members"][best]["error"],
        best,
        rule,
        rows,
    )


def _check_failures(failed: Mapping[str, str | None], trained: Sequence[Member], allowed: bool, keep: int) -> None:
    if not failed:
        return
    listing = "; ".join(f"{name}: {reason}" for name, reason in failed.items())
    if not allowed:
        raise TeamError(f"{len(failed)} member(s) failed to train ({listing}); set team.allow_failed_members to go on")
    if len(trained) < keep:
        raise TeamError(
            f"only {len(trained)} member(s) trained but team.keep is {keep} ({listing}); lower team.keep or fix them"
        )
    log.warning("team: building from the %d members that trained; failed: %s", len(trained), listing)


def _member_score(probabilities: np.ndarray, labels: np.ndarray, rank_by: str) -> float:
    if rank_by == "logloss":
        return multiclass_logloss(probabilities, labels)
    return float(np.mean(np.argmax(probabilities, axis=1) != labels))


def _member_record(
    member: Member,
    cubes: Mapping[str, SplitCube],
    scores: Mapping[str, float],
    kept: Sequence[str],
    run: RunDir,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "model_id": member.model_id,
        "algorithm": member.spec.algorithm,
        "input": member.spec.input,
        "inputs": len(member.x),
        "params": member.params,
        "reused": member.reused,
        "train_seconds": round(member.train_seconds, 2),
        "trainer": member.trainer.name,
        "rows": dict(member.rows),
        "failure": member.failure,
        "kept": member.name in kept,
    }
    if member.search_record is not None:  # the search's leaderboard (why it failed, when it did)
        record["search"] = member.search_record
    if member.failure:
        return record
    record["rank_score"] = scores[member.name]
    record["rows_without_probabilities"] = dict(member.empty_rows)
    for split, split_cube in cubes.items():
        probabilities = member.probabilities[split]
        summary = classification_summary(split_cube.labels, np.argmax(probabilities, axis=1))
        summary["logloss"] = multiclass_logloss(probabilities, split_cube.labels)
        record[split] = summary
    record.update(member.training_errors)
    if member.trainer_record is not None:
        record["torch"] = member.trainer_record
    # Cross-validation, early stopping, score history, importances (from the model itself).
    record["training"] = record_training_insight(
        member.model, member.spec.algorithm, member.name, run, member.trainer_record
    )
    return record
