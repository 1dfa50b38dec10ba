"""`trainer: h2o` against `trainer: torch` on the same rows and epochs, in one run:
every autoencoder of the config (the recipe's AE200, AE32, AE768 -> AE128) and every
deep-learning team member (plus the baseline), each trained both ways; samples/s and
the validation MSE (autoencoders) or error (classifiers), both measured by H2O on the
whole validation split, so the two models are scored by the same code.

    python benchmarks/trainers.py --config conf/local.yaml --ae-epochs 2 --member-epochs 1 \\
        --out benchmarks/results/trainers-local.json

The run of `--config` must have finished ingest, augment (when the members use
augmented rows) and features: the members read its feature table. The autoencoders
train on the train split (as with `features.include_augmented: false`); AE128 reads
the deep features of this benchmark's torch-trained AE768 under both trainers. Models
are not saved. Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from sparkling_mnist.baseline.classifier import baseline_rows, classifier_parameters
from sparkling_mnist.config import JobConfig, MemberSpec, load_config
from sparkling_mnist.data.frames import RunFrames
from sparkling_mnist.evaluate.h2o_classifier import evaluate_h2o_classifier
from sparkling_mnist.features.autoencoders import (
    autoencoder_request,
    deep_features,
    feature_columns,
    nonconstant_columns,
)
from sparkling_mnist.features.stage import feature_names
from sparkling_mnist.network.encoder_chain import PIXELS_INPUT, ChainLink
from sparkling_mnist.network.h2o_reader import read_network
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.schema import PIXEL_COLUMNS
from sparkling_mnist.team.members import member_parameters
from sparkling_mnist.team.stage import TeamInputs, member_columns, member_kind
from sparkling_mnist.torch_trainer import (
    H2OTarget,
    ParquetPart,
    TrainingData,
    label_classes,
    run_rows,
    train_with_torch,
)
from sparkling_mnist.torch_trainer.fit import H2O, FitRequest, TrainerChoice, classifier_rows, fit_model

log = logging.getLogger("benchmarks.trainers")


def _row(name: str, trainer: str, rows: int, epochs: float, seconds: float, **extra: Any) -> dict[str, Any]:
    result = {
        "model": name,
        "trainer": trainer,
        "rows": rows,
        "epochs": epochs,
        "train_seconds": round(seconds, 2),
        "samples_per_s": round(rows * epochs / seconds, 1) if seconds else None,
        **extra,
    }
    log.info("%s", result)
    return result


def _h2o_epochs(model: Any) -> float:
    return float(model.scoring_history()["epochs"].iloc[-1])


def benchmark_autoencoders(
    cfg: JobConfig, frames: RunFrames, run: RunDir, epochs: float | None, torch_epochs: float | None = None
) -> list[dict[str, Any]]:
    """Each autoencoder trained by H2O and by torch on the train split, same epochs
    (or `torch_epochs` for torch: how long torch takes to reach H2O's MSE)."""
    rows: list[dict[str, Any]] = []
    inputs: dict[str, tuple[list[str], dict[str, Any]]] = {
        PIXELS_INPUT: (list(PIXEL_COLUMNS), {split: frames.pixels(split) for split in ("train", "valid")})
    }
    torch_models: dict[str, Any] = {}
    links: list[ChainLink] = []
    for spec in cfg.features.ordered():
        columns, split_frames = inputs[spec.input]
        train, valid = split_frames["train"], split_frames["valid"]
        params = {**spec.params, **({"epochs": epochs} if epochs is not None else {})}
        hidden = spec.hidden if isinstance(spec.hidden, int) else len(nonconstant_columns(train, columns))
        started = time.monotonic()
        request = autoencoder_request(
            f"bench_h2o_{spec.name}",
            hidden,
            params=dict(params),
            x=columns,
            training_frame=train,
            validation_frame=valid,
        )
        model = fit_model(request)[0]
        seconds = time.monotonic() - started
        trained = _h2o_epochs(model)
        mse = reconstruction_mse(model, valid)
        rows.append(_row(spec.name, "h2o", train.nrows, trained, seconds, validation_mse=mse, hidden=hidden))

        chain = _chain_to(links, spec.input)
        specs = {link.name: read_network(torch_models[link.name]) for link in chain}

        def data(
            split: str, chain: list[ChainLink] = chain, specs: dict[str, Any] = specs, name: str = spec.input
        ) -> TrainingData:
            part = ParquetPart(str(run.split(split)))
            return TrainingData(parts=(part,), chain=tuple(chain), specs=specs, input=name)

        started = time.monotonic()
        torch_params = {**params, "hidden": [hidden], **({"epochs": torch_epochs} if torch_epochs else {})}
        target = H2OTarget(f"bench_torch_{spec.name}", torch_params, columns, None, train, valid)
        assert spec.torch is not None
        built, record = train_with_torch(
            target.model_id,
            torch_params,
            spec.torch,
            (data("train"), data("valid")),
            target,
            autoencoder=True,
            where=f"features.{spec.name}",
            spark=frames.spark,
            seed=cfg.run.seed,
        )
        total = time.monotonic() - started
        mse = reconstruction_mse(built, valid)
        rows.append(
            _row(
                spec.name,
                "torch",
                record["rows"],
                float(record["history"][-1]["epochs"]),
                record["train_seconds"],
                validation_mse=mse,
                hidden=hidden,
                seconds_with_loading_and_h2o=round(total, 2),
                agreement=max(record["agreement"]["max_abs_difference"].values()),
            )
        )
        torch_models[spec.name] = built
        links.append(ChainLink(spec.name, spec.input, hidden))
        inputs[spec.name] = (
            feature_columns(spec.name, hidden),
            {split: deep_features(built, frame, spec.name, hidden) for split, frame in split_frames.items()},
        )
    return rows


def reconstruction_mse(model: Any, frame: Any) -> float:
    """Mean reconstruction MSE of an autoencoder over every row of `frame`, in H2O's
    transformed units (`anomaly`: each row's MSE; `model_performance` gives none)."""
    import h2o

    errors = model.anomaly(frame)
    mean = float(errors.mean(return_frame=False)[0])
    h2o.remove(errors)
    return mean


def _chain_to(links: list[ChainLink], name: str) -> list[ChainLink]:
    chain: list[ChainLink] = []
    while name != PIXELS_INPUT:
        link = next(link for link in links if link.name == name)
        chain.insert(0, link)
        name = link.input
    return chain


def benchmark_classifiers(cfg: JobConfig, frames: RunFrames, run: RunDir, epochs: float | None) -> list[dict[str, Any]]:
    """The baseline and every deep-learning member, by H2O and by torch, on their rows."""
    from h2o.estimators import H2ODeepLearningEstimator

    inputs = TeamInputs(
        feature_names=feature_names(cfg.features, run.read_metrics()["features"]["autoencoders"]),
        passthrough=list(cfg.features.passthrough),
        features_fingerprint="",
        pixels_fingerprint="",
        augment_fingerprint="",
    )
    candidates: list[tuple[str, MemberSpec, dict[str, Any], Any]] = []
    baseline = MemberSpec(name="baseline", algorithm="deeplearning", input="pixels", params=cfg.baseline.params)
    candidates.append(
        (
            "baseline",
            baseline,
            classifier_parameters(cfg.baseline, cfg.run.seed),
            baseline_rows(cfg.baseline, cfg.run.seed),
        )
    )
    for index, spec in enumerate(cfg.team.members):
        if spec.algorithm == "deeplearning":
            params = member_parameters(spec, f"team.members[{index}].params", cfg.run.seed)
            candidates.append((spec.name, spec, params, cfg.team.member_rows(spec).selection(cfg.run.seed, spec.name)))
    rows: list[dict[str, Any]] = []
    for name, spec, base_params, selection in candidates:
        params = {**base_params, **({"epochs": epochs} if epochs is not None else {})}
        kind = member_kind(spec)
        x = member_columns(spec, inputs)
        training = frames.training(kind, selection)
        valid = frames.split(kind, "valid")
        request = FitRequest(
            f"bench_h2o_{name}", H2ODeepLearningEstimator, params, x, "label", training.fit, valid, H2O, name, 0
        )
        model, fitted = fit_model(request)
        seconds = fitted.seconds
        error = evaluate_h2o_classifier(model, valid)["error"]
        rows.append(_row(name, "h2o", training.fit.nrows, _h2o_epochs(model), seconds, validation_error=error))
        settings = cfg.team.torch if name != "baseline" else cfg.baseline.torch
        data = run_rows(run, kind, selection, x, label_classes(training.originals))
        frame, torch_rows = classifier_rows(training, data, settings, frames.spark)
        trainer = TrainerChoice("torch", settings)
        request = FitRequest(
            f"bench_torch_{name}",
            H2ODeepLearningEstimator,
            params,
            x,
            "label",
            frame,
            valid,
            trainer,
            name,
            cfg.run.seed,
        )
        built, fitted = fit_model(replace(request, rows=torch_rows))
        assert fitted.torch is not None
        record, total = fitted.torch, fitted.seconds
        error = evaluate_h2o_classifier(built, valid)["error"]
        rows.append(
            _row(
                name,
                "torch",
                record["rows"],
                float(record["history"][-1]["epochs"]),
                record["train_seconds"],
                validation_error=error,
                seconds_with_loading_and_h2o=round(total, 2),
                agreement=max(record["agreement"]["max_abs_difference"].values()),
            )
        )
    return rows


def markdown(rows: list[dict[str, Any]], metric: str) -> str:
    """One table: each model's H2O and torch rows side by side, with torch's speed-up."""
    lines = [
        f"| model | trainer | rows | epochs | train s | samples/s | x h2o | validation {metric} |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    speeds = {row["model"]: row["samples_per_s"] for row in rows if row["trainer"] == "h2o"}
    for row in rows:
        ratio = row["samples_per_s"] / speeds[row["model"]] if row["trainer"] == "torch" else 1.0
        lines.append(
            f"| {row['model']} | {row['trainer']} | {row['rows']} | {row['epochs']:g} | {row['train_seconds']:.1f} | "
            f"{row['samples_per_s']:,.0f} | {ratio:.1f} | {row[f'validation_{metric}']:.4f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="conf/local.yaml")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    parser.add_argument("--ae-epochs", type=float, default=None, help="default: each autoencoder's own")
    parser.add_argument(
        "--torch-epochs", type=float, default=None, help="autoencoders: torch's epochs, if not the same"
    )
    parser.add_argument("--member-epochs", type=float, default=None, help="default: each member's own")
    parser.add_argument("--sections", default="autoencoders,classifiers")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    cfg = load_config(args.config, args.overrides)
    run = RunDir.at(cfg.run.dir)
    session = SparkH2OSession(cfg)
    result: dict[str, Any] = {"config": args.config, "overrides": args.overrides}
    try:
        frames = RunFrames(session.spark, session.h2o, run)
        sections = args.sections.split(",")
        if "autoencoders" in sections:
            result["autoencoders"] = benchmark_autoencoders(cfg, frames, run, args.ae_epochs, args.torch_epochs)
        if "classifiers" in sections:
            result["classifiers"] = benchmark_classifiers(cfg, frames, run, args.member_epochs)
    finally:
        session.stop()
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    for section, metric in (("autoencoders", "mse"), ("classifiers", "error")):
        if section in result:
            sys.stdout.write(f"\n{section}\n{markdown(result[section], metric)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
