"""Candidate team members on a finished run's data: each trained once through the team
stage's own code (rows, parameters, H2O), timed, with its error on valid and test; then
every team of `--keep` of them, summed probabilities, ranked on valid.

    python benchmarks/team_members.py --config conf/local.yaml --candidates candidates.yaml \\
        --keep 3 --out benchmarks/results/team-members-local.json

`candidates.yaml` is a list of members in the config's `team.members` format (name,
algorithm, input, params, rows). The run must have finished its features stage (and
augment, for members on augmented rows). Models are not saved. Not run by CI.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sparkling_mnist.config import MemberSpec, TrainingRowsSettings, load_config
from sparkling_mnist.data.frames import RunFrames
from sparkling_mnist.evaluate.h2o_classifier import predict_probabilities
from sparkling_mnist.features.stage import feature_names
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.team import cube as team_cube
from sparkling_mnist.team.cube import align_to
from sparkling_mnist.team.members import estimator_class, member_parameters
from sparkling_mnist.team.stage import TeamInputs, member_columns, member_kind

log = logging.getLogger("benchmarks.team_members")
SPLITS = ("valid", "test")


def _ids_labels(frame: Any) -> tuple[np.ndarray, np.ndarray]:
    table = frame[["id", "label"]].as_data_frame(use_multi_thread=False)
    return table["id"].to_numpy(np.int64), table["label"].astype(int).to_numpy(np.int64)


def train_candidate(
    spec: MemberSpec, frames: RunFrames, inputs: TeamInputs, seed: int, reference: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Train one candidate; its record and its (rows, classes) probabilities per split."""
    params = member_parameters(spec, f"candidate {spec.name}", seed)
    rows = spec.rows if spec.rows is not None else TrainingRowsSettings()
    kind = member_kind(spec)
    training = frames.training(kind, rows.selection(seed, spec.name))
    started = time.monotonic()
    model = estimator_class(spec.algorithm)(model_id=f"candidate_{spec.name}", **params)
    model.train(
        x=member_columns(spec, inputs),
        y="label",
        training_frame=training.fit,
        validation_frame=frames.split(kind, "valid"),
    )
    seconds = time.monotonic() - started
    classes = [str(c) for c in range(10)]
    record: dict[str, Any] = {"rows": training.rows(), "train_seconds": round(seconds, 1), "params": params}
    probabilities: dict[str, np.ndarray] = {}
    for split in SPLITS:
        frame = frames.split(kind, split)
        p = predict_probabilities(model, frame, classes)
        ids, _ = _ids_labels(frame)
        p = p[align_to(reference[split][0], ids)]
        probabilities[split] = p
        record[f"{split}_error"] = float(np.mean(p.argmax(axis=1) != reference[split][1]))
    record["samples_per_s"] = None
    if spec.algorithm == "deeplearning":
        epochs = float(model.scoring_history()["epochs"].iloc[-1])
        record["epochs"] = epochs
        record["samples_per_s"] = round(training.fit.nrows * epochs / seconds, 1)
    log.info("candidate %s: %s", spec.name, {k: v for k, v in record.items() if k != "params"})
    return record, probabilities


def teams(
    probabilities: dict[str, dict[str, np.ndarray]], labels: dict[str, np.ndarray], keep: int
) -> list[dict[str, Any]]:
    """Every team of `keep` candidates: summed-probability error on valid and test. Pure."""
    result = []
    for names in itertools.combinations(sorted(probabilities), keep):
        row: dict[str, Any] = {"members": list(names)}
        for split in SPLITS:
            cube = team_cube.probability_cube([probabilities[n][split] for n in names], list(names))
            row[f"{split}_error"] = float(np.mean(team_cube.summed_prediction(cube) != labels[split]))
            best = min(float(np.mean(probabilities[n][split].argmax(axis=1) != labels[split])) for n in names)
            row[f"{split}_ratio_to_best_member"] = row[f"{split}_error"] / best if best else None
        result.append(row)
    return sorted(result, key=lambda r: (r["valid_error"], r["test_error"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--candidates", required=True, type=Path)
    parser.add_argument("--keep", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--probabilities",
        type=Path,
        help="folder of <candidate>.npz (valid/test probabilities and labels): written for these candidates, "
        "and every one found there joins the teams",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_config(args.config, args.overrides)
    specs = [MemberSpec.model_validate(item) for item in yaml.safe_load(args.candidates.read_text())]
    run = RunDir.at(cfg.run.dir)
    inputs = TeamInputs(
        feature_names(cfg.features, run.read_metrics()["features"]["autoencoders"]),
        list(cfg.features.passthrough),
        "",
        "",
    )
    records: dict[str, Any] = {}
    probabilities: dict[str, dict[str, np.ndarray]] = {}
    with SparkH2OSession(cfg) as session:
        frames = RunFrames(session.spark, session.h2o, run)
        reference = {split: _ids_labels(frames.features(split)) for split in SPLITS}
        for spec in specs:
            records[spec.name], probabilities[spec.name] = train_candidate(
                spec, frames, inputs, cfg.run.seed, reference
            )
    labels = {split: reference[split][1] for split in SPLITS}
    if args.probabilities:
        args.probabilities.mkdir(parents=True, exist_ok=True)
        for name, arrays in probabilities.items():
            saved_arrays: dict[str, Any] = {**arrays, **{f"{s}_labels": labels[s] for s in SPLITS}}
            np.savez(args.probabilities / f"{name}.npz", **saved_arrays)
        for path in sorted(args.probabilities.glob("*.npz")):
            if path.stem not in probabilities:
                saved = np.load(path)
                if all(np.array_equal(saved[f"{s}_labels"], labels[s]) for s in SPLITS):
                    probabilities[path.stem] = {split: saved[split] for split in SPLITS}
    ranked = teams(probabilities, labels, args.keep) if len(probabilities) >= args.keep else []
    result = {"run": str(run.root), "candidates": records, "teams": ranked[:15]}
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print("| candidate | rows | seconds | samples/s | valid error | test error |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in records.items():
        rows = f"{r['rows']['originals']} + {r['rows']['augmented']}"
        print(
            f"| {name} | {rows} | {r['train_seconds']} | {r['samples_per_s']} | "
            f"{r['valid_error']:.4f} | {r['test_error']:.4f} |"
        )
    print()
    print("| team | valid error | test error | test / best member |")
    print("| --- | ---: | ---: | ---: |")
    for row in ranked[:10]:
        print(
            f"| {' + '.join(row['members'])} | {row['valid_error']:.4f} | {row['test_error']:.4f} | "
            f"{row['test_ratio_to_best_member']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
