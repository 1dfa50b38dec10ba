"""The stages of a run, wired together; each is skipped when it already finished
from the same inputs (its fingerprint), so a rerun resumes where the last one stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sparkling_mnist.augment_spark import run_augment
from sparkling_mnist.autoencoders import feature_columns, load_model, save_model
from sparkling_mnist.baseline import train_baseline
from sparkling_mnist.config import JobConfig
from sparkling_mnist.data.sources import source_files
from sparkling_mnist.errors import StageError, StoreError
from sparkling_mnist.feature_classifier import compare_with_baseline, train_features_classifier
from sparkling_mnist.features import autoencoder_fingerprints, build_features, check_features_parameters
from sparkling_mnist.ingest import run_ingest
from sparkling_mnist.members import check_team_parameters
from sparkling_mnist.report import comparison_rows, write_report
from sparkling_mnist.run_frames import RunFrames
from sparkling_mnist.rundir import RunDir, read_json, write_json_atomic
from sparkling_mnist.schema import SPLITS
from sparkling_mnist.session import SparkH2OSession
from sparkling_mnist.store import SaveReport, open_store
from sparkling_mnist.store.manifest import model_roles, run_lineage
from sparkling_mnist.team import TeamInputs, build_team
from sparkling_mnist.team_evaluation import evaluate_team

log = logging.getLogger(__name__)

STAGES = ("ingest", "augment", "baseline", "features", "features_classifier", "team", "store", "report")


def _files_signature(paths: Sequence[str]) -> str:
    """Size and modification time of every input file (cheap and enough to see a change)."""
    parts = []
    for path in paths:
        try:
            stat = os.stat(path)
            parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
        except OSError:
            parts.append(f"{path}:missing")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def stage_fingerprints(cfg: JobConfig) -> dict[str, str]:
    """The fingerprint of each stage: its own settings plus those of the stages it reads."""
    ingest = (
        cfg.fingerprint("source", "split", "ingest")
        + cfg.fingerprint("run")
        + _files_signature(source_files(cfg.source))
    )
    ingest = hashlib.sha256(ingest.encode()).hexdigest()[:16]
    # The augmented rows depend on the train split, the augment settings and the run seed.
    augment_settings = json.dumps(cfg.augment.output_settings(), sort_keys=True)
    augment = hashlib.sha256(f"{ingest}|{augment_settings}|{cfg.run.seed}".encode()).hexdigest()[:16]
    # Stages that read augmented rows depend on them; the others must not rerun when
    # only the augmentation changes.
    augmented = augment if cfg.augment.enabled else "none"
    baseline_data = augment if cfg.baseline.rows.augmented else ingest
    baseline = hashlib.sha256((baseline_data + cfg.fingerprint("baseline")).encode()).hexdigest()[:16]
    data = features_data_fingerprint(cfg, ingest, augment)
    features = hashlib.sha256(
        json.dumps(
            {
                "autoencoders": autoencoder_fingerprints(cfg.features, data),
                "used": cfg.features.used(),
                "passthrough": cfg.features.passthrough,
                "augmented_rows": augmented,
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()[:16]
    features_classifier = hashlib.sha256((features + cfg.fingerprint("baseline")).encode()).hexdigest()[:16]
    team = hashlib.sha256(
        f"{features}|{ingest}|{augmented}|{cfg.fingerprint('team')}|{cfg.run.seed}".encode()
    ).hexdigest()[:16]
    store = hashlib.sha256(
        "|".join([baseline, features, features_classifier, team, str(cfg.store.uri), cfg.store_run_id()]).encode()
    ).hexdigest()[:16]
    return {
        "store": store,
        "ingest": ingest,
        "augment": augment,
        "baseline": baseline,
        "features": features,
        "features_data": data,
        "features_classifier": features_classifier,
        "team": team,
    }


def uses_augmented_rows(cfg: JobConfig) -> bool:
    """Whether the autoencoders train on the augmented rows too."""
    return cfg.augment.enabled and cfg.features.include_augmented


def features_data_fingerprint(cfg: JobConfig, ingest: str, augment: str) -> str:
    """The autoencoders' training data: the train split, plus augmented rows when used."""
    return augment if uses_augmented_rows(cfg) else ingest


@dataclass
class StageRunner:
    """Runs stages in order, skipping finished ones, timing and recording each."""

    cfg: JobConfig
    session: SparkH2OSession
    run: RunDir
    force: bool = False

    def __post_init__(self) -> None:
        self.fingerprints = stage_fingerprints(self.cfg)
        self._frames: RunFrames | None = None

    @property
    def frames(self) -> RunFrames:
        """The run's H2O frames, shared by every stage of this session."""
        if self._frames is None:
            self._frames = RunFrames(self.session.spark, self.session.h2o, self.run)
        return self._frames

    def _stage(self, name: str, work: Callable[[], dict[str, Any]]) -> None:
        fingerprint = self.fingerprints[name]
        if not self.force and self.run.stage_done(name, fingerprint):
            log.info("stage %s: already done from the same inputs (%s), skipped", name, fingerprint)
            return
        self.run.clear_stage(name)
        log.info("stage %s: starting", name)
        started = time.monotonic()
        try:
            summary = work()
        except (KeyboardInterrupt, Exception) as exc:
            if self.session.lost is None and self.session.confirm_lost() is None:
                raise
            raise StageError(
                f"stage {name} stopped: {self.session.lost}. Finished stages and models are kept in "
                f"{self.run.root}: rerun the same command on a healthy cluster to resume from here"
            ) from exc
        seconds = time.monotonic() - started
        self.run.mark_stage(name, fingerprint, seconds, summary)
        log.info("stage %s: done in %.1f s", name, seconds)

    def ingest(self) -> None:
        """Source files -> images and rejects Parquet."""

        def work() -> dict[str, Any]:
            counts = run_ingest(self.cfg, self.session.spark, self.run)
            return {"read": counts.read, "accepted": counts.accepted, "rejected": counts.rejected}

        self._stage("ingest", work)

    def _require(self, stage: str) -> None:
        if not self.run.stage_done(stage, self.fingerprints[stage]):
            raise StageError(
                f"stage {stage!r} has not finished for this config in {self.run.root}: "
                f"run `sparkling-mnist {stage}` (or `run`) with the same config first"
            )

    def augment(self) -> None:
        """The train split -> augmented rows (Parquet), the effect grid and sharpen histograms."""

        def work() -> dict[str, Any]:
            self._require("ingest")
            if not self.cfg.augment.enabled:
                log.info("stage augment: augment.enabled is false, running it because it was asked for by name")
            counts = run_augment(self.cfg, self.session.spark, self.run)
            return {
                "rows_in": counts.rows_in,
                "rows_out": counts.rows_out,
                "seconds": counts.seconds,
                "rows_per_s": counts.rows_per_s,
            }

        self._stage("augment", work)

    def baseline(self) -> None:
        """The raw-pixel deep-learning classifier; its metrics go to metrics.json."""

        def work() -> dict[str, Any]:
            self._require("ingest")
            if self.cfg.baseline.rows.augmented:
                self._require("augment")
            model_id = f"baseline_dl_{self.fingerprints['baseline']}"
            metrics = train_baseline(self.cfg, self.frames, model_id)
            save_model(self.session.h2o_model(model_id), self.run.models)
            self.run.update_metrics("baseline", metrics)
            return {"model_id": model_id, "test_error": metrics["test"]["error"]}

        self._stage("baseline", work)

    def features(self) -> None:
        """Autoencoders (trained or reused) and the joined deep-feature table per split."""

        def work() -> dict[str, Any]:
            self._require("ingest")
            extra = augmented = None
            if self.cfg.augment.enabled:
                self._require("augment")
                augmented = self.session.spark.read.parquet(str(self.run.augmented))
                if uses_augmented_rows(self.cfg):
                    extra = augmented
            self.frames.forget_features()
            summary = build_features(
                self.cfg,
                self.session.h2o,
                self.run,
                data_fingerprint=self.fingerprints["features_data"],
                pixel_frames={split: self.frames.pixels(split) for split in SPLITS},
                train_extra=extra,
                augmented=augmented,
                spark=self.session.spark,
            )
            self.run.update_metrics("features", summary)
            return summary

        self._stage("features", work)

    def features_classifier(self) -> None:
        """The baseline's classifier on the features: the recipe's claim, measured."""

        def work() -> dict[str, Any]:
            self._require("features")
            model_id = f"features_dl_{self.fingerprints['features_classifier']}"
            names = feature_names(self.cfg, self.run)
            metrics = train_features_classifier(self.cfg, self.frames, model_id=model_id, feature_names=names)
            save_model(self.session.h2o_model(model_id), self.run.models)
            self.run.update_metrics("features_classifier", metrics)
            baseline = load_metrics(self.run).get("baseline")
            if baseline is not None:
                comparison = compare_with_baseline(baseline, metrics)
                self.run.update_metrics("feature_vs_raw", comparison)
                log.info(
                    "feature vs raw: test error %.4f on features, %.4f on raw pixels",
                    comparison["features_test_error"],
                    comparison["raw_pixels_test_error"],
                )
            return {"model_id": model_id, "test_error": metrics["test"]["error"]}

        self._stage("features_classifier", work)

    def team(self) -> None:
        """Members on the features, the best kept, summed probabilities, tables and plots."""

        def work() -> dict[str, Any]:
            self._require("features")
            if self.cfg.augment.enabled:
                self._require("augment")
            inputs = TeamInputs(
                feature_names=feature_names(self.cfg, self.run),
                passthrough=list(self.cfg.features.passthrough),
                features_fingerprint=self.fingerprints["features"],
                pixels_fingerprint=self.fingerprints["ingest"],
                augment_fingerprint=self.fingerprints["augment"],
            )
            section = build_team(self.cfg, self.frames, self.run, inputs)
            section["evaluation"] = evaluate_team(self.cfg, self.frames, self.run, section)
            self.run.update_metrics("team", section)
            comparison = comparison_rows(load_metrics(self.run))
            self.run.update_metrics("comparison", comparison)
            for row in comparison:
                log.info(
                    "comparison: %-36s rows %s + %s, train error %s / augmented %s, valid %.4f, test %.4f",
                    row["model"],
                    row["rows_originals"] if row["rows_originals"] is not None else "-",
                    row["rows_augmented"] if row["rows_augmented"] is not None else "-",
                    _error_text(row["train_error"]),
                    _error_text(row["augmented_error"]),
                    row["valid_error"],
                    row["test_error"],
                )
            return {"kept": section["kept"], "test_error": section["test"]["team"]["error"]}

        self._stage("team", work)

    def store(self) -> None:
        """Every model of the run saved to the model store, with its manifest (written last)."""

        def work() -> dict[str, Any]:
            report = save_run_to_store(self.cfg, self.session, self.run)
            if not report.ok:
                listing = "; ".join(f"{model}: {reason}" for model, reason in report.failed.items())
                raise StoreError(
                    f"{len(report.failed)} model(s) not saved to {report.manifest_path} ({listing}); the manifest "
                    "marks them failed: fix the cause and run `sparkling-mnist models save-all` again"
                )
            return {"run_id": report.run_id, "manifest": report.manifest_path, "saved": len(report.saved)}

        self._stage("store", work)

    def report(self) -> None:
        """report.html: every table and plot of the run in one self-contained file."""
        path = write_report(self.run, self.cfg)
        log.info("report: %s", path)

    def all(self) -> None:
        """Every stage the config enables, in order."""
        self.ingest()
        if self.cfg.augment.enabled:
            self.augment()
        if self.cfg.baseline.enabled:
            self.baseline()
        if self.cfg.features.enabled:
            self.features()
            if self.cfg.features.compare:
                self.features_classifier()
            if self.cfg.team.enabled:
                self.team()
        if self.cfg.store.uri:
            self.store()
        self.report()


def _error_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def save_run_to_store(cfg: JobConfig, session: SparkH2OSession, run: RunDir) -> SaveReport:
    """Save every model the run's metrics name (from the cluster, or reloaded from the
    run directory), with roles and lineage in the manifest. Failures are in the report."""
    metrics = load_metrics(run)
    roles = model_roles(metrics)
    models: list[Any] = []
    for model_id in roles:
        model = session.h2o_model(model_id)
        if model is None and (run.models / model_id).is_file():
            model = load_model(run.models / model_id)
        models.append(model if model is not None else model_id)
    store = open_store(cfg.store, session.spark if (cfg.store.uri or "").startswith("hdfs://") else None)
    return store.save(cfg.store_run_id(), models, roles=roles, lineage=run_lineage(metrics))


def save_resolved_config(cfg: JobConfig, run: RunDir) -> None:
    """Keep the validated config beside the results, as JSON."""
    write_json_atomic(run.root / "config.json", cfg.model_dump(mode="json"))


def run_stages(cfg: JobConfig, stages: Sequence[str], cli_conf: dict[str, str], force: bool = False) -> RunDir:
    """Run the named stages ("all" for every enabled one) in one Spark+H2O session.

    Returns:
        The run directory.
    """
    # H2O parameter names, before anything starts
    if cfg.features.enabled or "features" in stages:
        check_features_parameters(cfg.features)
    if cfg.team.enabled or "team" in stages:
        check_team_parameters(cfg.team, cfg.run.seed)
    run = RunDir.at(cfg.run.dir)
    run.root.mkdir(parents=True, exist_ok=True)
    save_resolved_config(cfg, run)
    with SparkH2OSession(cfg, cli_conf) as session:
        runner = StageRunner(cfg, session, run, force=force)
        for stage in stages:
            getattr(runner, stage)()
    if run.metrics.is_file():
        log.info("metrics: %s", run.metrics)
    return run


def read_features_summary(run: RunDir) -> dict[str, Any]:
    """Per autoencoder: model id, hidden size, reuse, final mse (from metrics.json)."""
    summary: dict[str, Any] = read_json(run.metrics)["features"]["autoencoders"]
    return summary


def load_metrics(run: RunDir) -> dict[str, Any]:
    """The run's metrics.json ({} before any stage wrote to it)."""
    if not run.metrics.is_file():
        return {}
    metrics: dict[str, Any] = read_json(run.metrics)
    return metrics


def feature_names(cfg: JobConfig, run: RunDir) -> list[str]:
    """The feature table's feature columns, in order (from the features stage's summary)."""
    summary = read_features_summary(run)
    return [column for name in cfg.features.used() for column in feature_columns(name, summary[name]["hidden"])]
