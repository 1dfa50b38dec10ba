"""The stages of a run, wired together; each is skipped when it already finished
from the same inputs (its fingerprint), so a rerun resumes where the last one stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sparkling_mnist.augment.stage import run_augment
from sparkling_mnist.baseline.classifier import train_baseline
from sparkling_mnist.baseline.features_classifier import compare_with_baseline, train_features_classifier
from sparkling_mnist.config.settings import JobConfig
from sparkling_mnist.data.frames import RunFrames
from sparkling_mnist.data.ingest import run_ingest
from sparkling_mnist.errors import DiskFullError, StageError, StoreError
from sparkling_mnist.evaluate.report import comparison_rows, write_report
from sparkling_mnist.features.stage import build_features, feature_names
from sparkling_mnist.ood.stage import OodInputs, run_ood
from sparkling_mnist.pipeline.fingerprints import stage_fingerprints, uses_augmented_rows
from sparkling_mnist.pipeline.stages import enabled_stages, preflight
from sparkling_mnist.pipeline.stages import stage as stage_entry
from sparkling_mnist.run_lock import RunLock
from sparkling_mnist.rundir import RunDir, disk_full_error, is_disk_full, write_json_atomic
from sparkling_mnist.runtime.models import save_model
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.scoring.pipeline_model import PIPELINE_FOLDER, load_pipeline, store_pipeline
from sparkling_mnist.scoring.plan import ScoringPlan
from sparkling_mnist.store import ModelStore, open_store
from sparkling_mnist.store.run import save_run
from sparkling_mnist.team.stage import TeamInputs, build_team
from sparkling_mnist.tracking.mlflow_run import log_run

log = logging.getLogger(__name__)


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

    def _feature_names(self) -> list[str]:
        """The feature table's feature columns, from the features stage's summary."""
        return feature_names(self.cfg.features, self.run.read_metrics()["features"]["autoencoders"])

    def _stage(self, name: str, work: Callable[[], dict[str, Any]]) -> None:
        fingerprint = self.fingerprints[name]
        if not self.force and self.run.stage_done(name, fingerprint):
            log.info("stage %s: already done from the same inputs (%s), skipped", name, fingerprint)
            return
        for needed in stage_entry(name).requirements(self.cfg):
            self._require(needed)
        self.run.clear_stage(name)
        log.info("stage %s: starting", name)
        started = time.monotonic()
        before = self._frames.converted if self._frames is not None else {}
        try:
            summary = work()
        except (KeyboardInterrupt, Exception) as exc:
            if is_disk_full(exc) and not isinstance(exc, DiskFullError):
                raise disk_full_error(self.run.root, f"stage {name}'s outputs") from exc
            if self.session.lost is None and self.session.confirm_lost() is None:
                raise
            raise StageError(
                f"stage {name} stopped: {self.session.lost}. Finished stages and models are kept in "
                f"{self.run.root}: rerun the same command on a healthy cluster to resume from here"
            ) from exc
        seconds = time.monotonic() - started
        after = self._frames.converted if self._frames is not None else {}
        moved = {frame: rows for frame, rows in after.items() if frame not in before}
        if moved:
            listing = ", ".join(f"{frame} {rows}" for frame, rows in moved.items())
            log.info("stage %s: %d rows converted into H2O (%s)", name, sum(moved.values()), listing)
            summary = {**summary, "to_h2o": moved}
        self.run.mark_stage(name, fingerprint, seconds, summary)
        log.info("stage %s: done in %.1f s", name, seconds)

    def ingest(self) -> None:
        """Source files -> images and rejects Parquet."""

        def work() -> dict[str, Any]:
            cfg = self.cfg
            counts = run_ingest(cfg.source, cfg.split, cfg.ingest, self.session.spark, self.run, seed=cfg.run.seed)
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
            if not self.cfg.augment.enabled:
                log.info("stage augment: augment.enabled is false, running it because it was asked for by name")
            settings = self.cfg.augment
            counts = run_augment(
                settings.plan(self.cfg.run.seed),
                self.session.spark,
                self.run,
                partitions=settings.partitions,
                rows_per_batch=settings.rows_per_batch,
            )
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
            model_id = f"baseline_dl_{self.fingerprints['baseline']}"
            metrics = train_baseline(self.cfg.baseline, self.frames, seed=self.cfg.run.seed, model_id=model_id)
            save_model(self.session.h2o_model(model_id), self.run.models)
            self.run.update_metrics("baseline", metrics)
            return {"model_id": model_id, "test_error": metrics["test"]["error"]}

        self._stage("baseline", work)

    def features(self) -> None:
        """Autoencoders (trained or reused) and the joined deep-feature table per split."""

        def work() -> dict[str, Any]:
            augmented = None
            if self.cfg.augment.enabled:
                augmented = self.session.spark.read.parquet(str(self.run.augmented))
            self.frames.forget_features()
            summary = build_features(
                self.cfg.features,
                self.frames,
                self.run,
                seed=self.cfg.run.seed,
                data_fingerprint=self.fingerprints["features_data"],
                augmented=augmented,
                train_on_augmented=uses_augmented_rows(self.cfg),
            )
            self.run.update_metrics("features", summary)
            return summary

        self._stage("features", work)

    def features_classifier(self) -> None:
        """The baseline's classifier on the features: the recipe's claim, measured."""

        def work() -> dict[str, Any]:
            model_id = f"features_dl_{self.fingerprints['features_classifier']}"
            metrics = train_features_classifier(
                self.cfg.baseline,
                self.frames,
                seed=self.cfg.run.seed,
                model_id=model_id,
                feature_names=self._feature_names(),
            )
            save_model(self.session.h2o_model(model_id), self.run.models)
            self.run.update_metrics("features_classifier", metrics)
            baseline = self.run.read_metrics().get("baseline")
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
        """Members on the features, the best kept, combined by the team rule fitted on valid, tables and plots."""

        def work() -> dict[str, Any]:
            inputs = TeamInputs(
                feature_names=self._feature_names(),
                passthrough=list(self.cfg.features.passthrough),
                features_fingerprint=self.fingerprints["features"],
                pixels_fingerprint=self.fingerprints["ingest"],
                augment_fingerprint=self.fingerprints["augment"],
            )
            section = build_team(self.cfg.team, self.frames, self.run, inputs, seed=self.cfg.run.seed)
            self.run.update_metrics("team", section)
            comparison = comparison_rows(self.run.read_metrics())
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

    def ood(self) -> None:
        """Out-of-distribution detectors: the isolation forest on the train split's
        features, the thresholds, their AUC/AUCPR on test digits vs Fashion-MNIST items."""

        def work() -> dict[str, Any]:
            summary = self.run.read_metrics()["features"]
            autoencoders = {spec.name: summary["autoencoders"][spec.name] for spec in self.cfg.features.ordered()}
            not_applicable = None
            if self.cfg.source.format == "fashion-mnist":
                not_applicable = "the run's own images are Fashion-MNIST: they are not out of its distribution"
            inputs = OodInputs(
                feature_names=self._feature_names(),
                autoencoders=autoencoders,
                used=list(summary["used"]),
                not_applicable=not_applicable,
            )
            model_id = f"isolation_forest_{self.fingerprints['ood']}"
            section = run_ood(self.cfg.ood, self.frames, self.run, inputs, seed=self.cfg.run.seed, model_id=model_id)
            self.run.update_metrics("ood", section)
            evaluation = section["evaluation"]
            result: dict[str, Any] = {"model_id": model_id, "evaluation": evaluation["status"]}
            if evaluation["status"] == "done":
                result["auc"] = {name: d["auc"] for name, d in evaluation["detectors"].items()}
            return result

        self._stage("ood", work)

    def _open_store(self) -> ModelStore:
        """The configured store, through Spark's JVM only when its location needs it."""
        location = self.cfg.store.location
        return open_store(self.cfg.store, self.session.spark if location is not None and location.needs_spark else None)

    def store(self) -> None:
        """Every model of the run saved to the model store, with its manifest (written last)."""

        def work() -> dict[str, Any]:
            store = self._open_store()
            report = save_run(store, self.session, self.run, self.cfg.store_run_id())
            if not report.ok:
                listing = "; ".join(f"{model}: {reason}" for model, reason in report.failed.items())
                raise StoreError(
                    f"{len(report.failed)} model(s) not saved to {report.manifest_path} ({listing}); the manifest "
                    "marks them failed: fix the cause and run `sparkling-mnist models save-all` again"
                )
            summary: dict[str, Any] = {"run_id": report.run_id, "manifest": report.manifest_path}
            summary["saved"] = len(report.saved)
            manifest = store.manifest(report.run_id)  # read once: it is a store round trip
            if manifest["lineage"].get("team") and manifest["lineage"].get("autoencoders"):
                summary["pipeline"] = store_pipeline(ScoringPlan.from_manifest(manifest), store)
            return summary

        self._stage("store", work)

    def report(self) -> None:
        """report.html: every table and plot of the run in one self-contained file."""
        path = write_report(self.run, self.cfg)
        log.info("report: %s", path)

    def track(self) -> None:
        """The finished run logged to MLflow (`tracking`): config, figures, report, plots,
        the store's manifest and the run's PipelineModel when it was stored."""
        manifest = pipeline = None
        if self.cfg.store.location is not None:
            store = self._open_store()
            manifest = store.manifest(self.cfg.store_run_id())
            if manifest["lineage"].get("team") and manifest["lineage"].get("autoencoders"):
                _ = self.session.spark
                pipeline = load_pipeline(store.location.path(self.cfg.store_run_id(), PIPELINE_FOLDER))
        log_run(self.cfg.tracking, self.cfg, self.run, manifest=manifest, pipeline=pipeline)

    def all(self) -> None:
        """Every stage the config enables, in the stage table's order."""
        for name in enabled_stages(self.cfg):
            getattr(self, name)()


def save_resolved_config(cfg: JobConfig, run: RunDir) -> None:
    """Keep the validated config beside the results, as JSON."""
    write_json_atomic(run.root / "config.json", cfg.model_dump(mode="json"))


def run_stages(cfg: JobConfig, stages: Sequence[str], cli_conf: dict[str, str], force: bool = False) -> RunDir:
    """Run the named stages ("all" for every enabled one) in one Spark+H2O session.

    Returns:
        The run directory.

    Raises:
        RunLockedError: another job is writing the same run directory.
    """
    preflight(cfg, list(stages))  # H2O parameter names and the like, before anything starts
    run = RunDir.at(cfg.run.dir)
    with RunLock(run.root):  # one writer per run directory, before anything starts
        save_resolved_config(cfg, run)
        with SparkH2OSession(cfg, cli_conf) as session:
            runner = StageRunner(cfg, session, run, force=force)
            for name in stages:
                getattr(runner, name)()
    if run.metrics.is_file():
        log.info("metrics: %s", run.metrics)
    return run


def _error_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
