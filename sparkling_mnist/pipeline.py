"""The stages of a run, wired together; each is skipped when it already finished
from the same inputs (its fingerprint), so a rerun resumes where the last one stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sparkling_mnist.baseline import train_baseline
from sparkling_mnist.config import JobConfig
from sparkling_mnist.data.sources import source_files
from sparkling_mnist.errors import StageError
from sparkling_mnist.ingest import run_ingest
from sparkling_mnist.rundir import RunDir, read_json, write_json_atomic
from sparkling_mnist.session import SparkH2OSession

log = logging.getLogger(__name__)

STAGES = ("ingest", "baseline")


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
    baseline = hashlib.sha256((ingest + cfg.fingerprint("baseline")).encode()).hexdigest()[:16]
    return {"ingest": ingest, "baseline": baseline}


@dataclass
class StageRunner:
    """Runs stages in order, skipping finished ones, timing and recording each."""

    cfg: JobConfig
    session: SparkH2OSession
    run: RunDir
    force: bool = False

    def __post_init__(self) -> None:
        self.fingerprints = stage_fingerprints(self.cfg)

    def _stage(self, name: str, work: Callable[[], dict[str, Any]]) -> None:
        fingerprint = self.fingerprints[name]
        if not self.force and self.run.stage_done(name, fingerprint):
            log.info("stage %s: already done from the same inputs (%s), skipped", name, fingerprint)
            return
        self.run.clear_stage(name)
        log.info("stage %s: starting", name)
        started = time.monotonic()
        summary = work()
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

    def baseline(self) -> None:
        """The raw-pixel deep-learning classifier; its metrics go to metrics.json."""

        def work() -> dict[str, Any]:
            self._require("ingest")
            model_id = f"baseline_dl_{self.fingerprints['baseline']}"
            metrics = train_baseline(self.cfg, self.session.spark, self.session.h2o, self.run, model_id)
            self.run.update_metrics("baseline", metrics)
            return {"model_id": model_id, "test_error": metrics["test"]["error"]}

        self._stage("baseline", work)

    def all(self) -> None:
        """Every stage the config enables, in order."""
        self.ingest()
        if self.cfg.baseline.enabled:
            self.baseline()


def save_resolved_config(cfg: JobConfig, run: RunDir) -> None:
    """Keep the validated config beside the results, as JSON."""
    write_json_atomic(run.root / "config.json", cfg.model_dump(mode="json"))


def run_stages(cfg: JobConfig, stages: Sequence[str], cli_conf: dict[str, str], force: bool = False) -> RunDir:
    """Run the named stages ("all" for every enabled one) in one Spark+H2O session.

    Returns:
        The run directory.
    """
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


def load_metrics(run: RunDir) -> dict[str, Any]:
    """The run's metrics.json."""
    metrics: dict[str, Any] = read_json(run.metrics)
    return metrics
