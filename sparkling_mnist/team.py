"""The team stage: train every member on its own input, rank them on the validation
split, keep the best `keep`, combine them by summing class probabilities, and write
the team's predictions, tables and plots.

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
import pandas as pd

from sparkling_mnist import team_math
from sparkling_mnist.autoencoders import load_model
from sparkling_mnist.baseline import evaluate_h2o_classifier
from sparkling_mnist.config import JobConfig, MemberSpec
from sparkling_mnist.errors import TeamError
from sparkling_mnist.evaluate import classification_summary
from sparkling_mnist.members import (
    Member,
    check_same_classes,
    member_fingerprint,
    member_parameters,
    predict_probabilities,
    train_member,
)
from sparkling_mnist.run_frames import InputKind, RunFrames
from sparkling_mnist.rundir import RunDir, write_json_atomic
from sparkling_mnist.schema import PIXEL_COLUMNS, SPLITS
from sparkling_mnist.torch_trainer import TorchRequest, checked_plan, label_classes

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


def member_frames(spec: MemberSpec, frames: RunFrames) -> dict[str, Any]:
    """The H2OFrame of each split a member reads (`train`: the split's originals)."""
    return {split: frames.split(member_kind(spec), split) for split in SPLITS}


def plan_members(cfg: JobConfig, inputs: TeamInputs) -> list[Member]:
    """Resolve every member's parameters, inputs and model id (nothing trained yet).

    A `checkpoint` naming an earlier member becomes that member's model id; one naming
    a file is loaded and becomes its model's id.
    """
    members: list[Member] = []
    by_name: dict[str, Member] = {}
    for index, spec in enumerate(cfg.team.members):
        params = member_parameters(spec, f"team.members[{index}].params", cfg.run.seed)
        selection = cfg.team.member_rows(spec).selection(cfg.run.seed, spec.name)
        upstream = inputs.pixels_fingerprint if spec.input == "pixels" else inputs.features_fingerprint
        upstream += f"|rows:{selection.key}"
        if selection.augmented:
            upstream += f"|augment:{inputs.augment_fingerprint}"
        trainer, torch_settings = cfg.team.member_trainer(spec)
        if trainer == "torch":
            checked_plan(params, autoencoder=False, where=f"team.members[{index}].params", seed=cfg.run.seed)
            upstream += f"|torch:{torch_settings.model_dump_json()}"
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
        )
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


def align_to(reference_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Indices into `ids` of each of `reference_ids`, in order. Pure.

    Raises:
        TeamError: some reference ids are not among `ids` (names how many and one).
    """
    order = np.argsort(ids, kind="stable")
    found = np.searchsorted(ids[order], reference_ids).clip(0, max(len(ids) - 1, 0))
    matched = ids[order][found] == reference_ids if len(ids) else np.zeros(len(reference_ids), dtype=bool)
    if not matched.all():
        missing = reference_ids[~matched]
        raise TeamError(f"{missing.size} of {len(reference_ids)} row ids are missing (e.g. id {int(missing[0])})")
    return np.asarray(order[found])


def build_team(cfg: JobConfig, frames: RunFrames, run: RunDir, inputs: TeamInputs) -> dict[str, Any]:
    """Train (or reload) the members, choose the team, evaluate it on valid and test.

    Returns:
        The `team` section of metrics.json.

    Raises:
        TeamError: members failed (and `team.allow_failed_members` is false, or all
            failed), members disagree on the classes, or fewer members are left than kept.
    """
    settings = cfg.team
    members = plan_members(cfg, inputs)
    for member in members:
        _load_checkpoint(member)
        training = frames.training(member_kind(member.spec), member.selection)
        member.rows = training.rows()
        member.torch = _torch_request(cfg, member, frames, training.originals)
        train_member(member, training, frames.split(member_kind(member.spec), "valid"), run.models)
        if member.model is not None and training.augmented is not None:
            member.training_errors["augmented"] = evaluate_h2o_classifier(member.model, training.augmented)
    failed = {member.name: member.failure for member in members if member.failure}
    trained = [member for member in members if not member.failure]
    _check_failures(failed, trained, settings.allow_failed_members, settings.kept())

    reference = {split: _frame_ids_labels(frames.features(split)) for split in TRAIN_AND_EVALUATED}
    classes = [str(level) for level in frames.features("train")["label"].levels()[0]]
    check_same_classes(trained, classes)
    ordered = sorted(classes, key=int)
    for member in trained:
        for split in TRAIN_AND_EVALUATED:
            frame = member_frames(member.spec, frames)[split]
            probabilities, empty = team_math.fill_empty_rows(predict_probabilities(member.model, frame, ordered))
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

    scores = {
        member.name: _member_score(member.probabilities["valid"], reference["valid"][1], settings.rank_by)
        for member in trained
    }
    kept = team_math.rank_members(scores, settings.kept(), lower_is_better=True)
    ranking = team_math.rank_members(scores, len(scores), lower_is_better=True)
    log.info("team: ranked on valid %s %s, kept %s", settings.rank_by, ranking, kept)
    team = [next(member for member in trained if member.name == name) for name in kept]

    section: dict[str, Any] = {
        "members": {member.name: _member_record(member, reference, scores, kept) for member in members},
        "ranking": ranking,
        "rank_by": settings.rank_by,
        "kept": kept,
        "failed": failed,
        "classes": [int(level) for level in ordered],
        "low_confidence_threshold": settings.low_confidence,
    }
    for split in EVALUATED:
        ids, labels = reference[split]
        cube = team_math.probability_cube([member.probabilities[split] for member in team], kept)
        summary = team_math.team_summary(cube, labels, kept, threshold=settings.low_confidence)
        summary["confusion"] = classification_summary(labels, team_math.summed_prediction(cube))["confusion"]
        section[split] = summary
        _write_predictions(run, split, ids=ids, labels=labels, cube=cube, team=team, threshold=settings.low_confidence)
        np.savez_compressed(run.team_dir / f"cube_{split}.npz", cube=cube, ids=ids, labels=labels, members=kept)
        log.info(
            "team %s: summed error %.4f, vote error %.4f, best member %.4f",
            split,
            summary["team"]["error"],
            summary["vote"]["error"],
            min(summary["members"][name]["error"] for name in kept),
        )
    train_ids, train_labels = reference["train"]
    train_cube = team_math.probability_cube([member.probabilities["train"] for member in team], kept)
    section["train"] = team_math.team_summary(train_cube, train_labels, kept, threshold=settings.low_confidence)
    log.info(
        "team train (originals): summed error %.4f, vote error %.4f (%d rows)",
        section["train"]["team"]["error"],
        section["train"]["vote"]["error"],
        len(train_ids),
    )
    write_json_atomic(run.team_dir / "team.json", {"kept": kept, "members": [m.model_id for m in team]})
    return section


def _torch_request(cfg: JobConfig, member: Member, frames: RunFrames, originals: Any) -> TorchRequest | None:
    """How a member trains with torch (`trainer: torch`), on its selection's rows
    (`originals`: the train split's frame, whose label gives the classes)."""
    trainer, settings = cfg.team.member_trainer(member.spec)
    if trainer != "torch":
        return None
    index = [spec.name for spec in cfg.team.members].index(member.name)
    data = frames.training_data(member_kind(member.spec), member.selection, member.x, label_classes(originals))
    return TorchRequest(settings, data, frames.spark, cfg.run.seed, f"team.members[{index}].params")


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
        return team_math.multiclass_logloss(probabilities, labels)
    return float(np.mean(np.argmax(probabilities, axis=1) != labels))


def _member_record(
    member: Member,
    reference: Mapping[str, tuple[np.ndarray, np.ndarray]],
    scores: Mapping[str, float],
    kept: Sequence[str],
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "model_id": member.model_id,
        "algorithm": member.spec.algorithm,
        "input": member.spec.input,
        "inputs": len(member.x),
        "params": member.params,
        "reused": member.reused,
        "train_seconds": round(member.train_seconds, 2),
        "trainer": "torch" if member.trainer_record is not None else "h2o",
        "rows": dict(member.rows),
        "failure": member.failure,
        "kept": member.name in kept,
    }
    if member.failure:
        return record
    record["rank_score"] = scores[member.name]
    record["rows_without_probabilities"] = dict(member.empty_rows)
    for split, (_, labels) in reference.items():
        probabilities = member.probabilities[split]
        summary = classification_summary(labels, np.argmax(probabilities, axis=1))
        summary["logloss"] = team_math.multiclass_logloss(probabilities, labels)
        record[split] = summary
    record.update(member.training_errors)
    if member.trainer_record is not None:
        record["torch"] = member.trainer_record
    return record


def _write_predictions(
    run: RunDir,
    split: str,
    *,
    ids: np.ndarray,
    labels: np.ndarray,
    cube: np.ndarray,
    team: Sequence[Member],
    threshold: float,
) -> None:
    """Per row: id, label, team and vote predictions, mean probabilities, flags, and
    each member's prediction (Parquet under `team/`)."""
    mean = team_math.team_probabilities(cube)
    table = pd.DataFrame({"id": ids, "label": labels})
    table["predict"] = team_math.summed_prediction(cube)
    table["vote"] = team_math.vote_prediction(cube)
    for index in range(mean.shape[1]):
        table[f"p{index}"] = mean[:, index]
    table["low_confidence"] = team_math.low_confidence(cube, threshold)
    table["members_right"] = team_math.correct_counts(team_math.correctness(cube, labels))
    for position, member in enumerate(team):
        table[f"predict_{member.name}"] = np.argmax(cube[:, :, position], axis=1)
    run.team_dir.mkdir(parents=True, exist_ok=True)
    table.to_parquet(run.team_predictions(split), index=False)
