"""The layout of one run directory and its small JSON records (stages, metrics).

Everything a run produces lives under one directory: data, logs, metrics, and one
record per finished stage with the fingerprint of what it was computed from, so a
rerun with the same config skips it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(path.read_text())


@dataclass(frozen=True)
class RunDir:
    """Paths of one run. The directory must be on storage the driver can write."""

    root: Path

    @classmethod
    def at(cls, path: str | Path) -> RunDir:
        """The run directory at `path` (made absolute so Spark and H2O agree on it)."""
        return cls(Path(path).expanduser().resolve())

    @property
    def images(self) -> Path:
        """Accepted images, Parquet partitioned by split."""
        return self.root / "data" / "images"

    def split(self, name: str) -> Path:
        """The Parquet directory of one split."""
        return self.images / f"split={name}"

    @property
    def rejects(self) -> Path:
        """Rejected input rows with their reasons (Parquet)."""
        return self.root / "data" / "rejects"

    @property
    def ingest_summary(self) -> Path:
        """Counts of the ingestion: read, accepted, rejected, per split and file."""
        return self.root / "data" / "ingest.json"

    @property
    def augmented(self) -> Path:
        """Augmented training rows with provenance columns (Parquet)."""
        return self.root / "data" / "augmented"

    @property
    def augment_summary(self) -> Path:
        """Counts and throughput of the augment stage."""
        return self.root / "data" / "augment.json"

    def plot(self, name: str) -> Path:
        """A figure of the run, e.g. `plot("augment_grid.png")`."""
        return self.root / "plots" / name

    @property
    def models(self) -> Path:
        """Saved H2O models of the run (binary), named by model id."""
        return self.root / "models"

    def features_split(self, name: str) -> Path:
        """The deep-feature table of one split (Parquet: id, label, passthrough, features)."""
        return self.root / "data" / "features" / f"split={name}"

    @property
    def features_augmented(self) -> Path:
        """The deep features of every augmented row (Parquet: id, label, passthrough, features)."""
        return self.root / "data" / "features_augmented"

    @property
    def team_dir(self) -> Path:
        """The team's predictions, probability cubes and member list."""
        return self.root / "team"

    def team_predictions(self, split: str) -> Path:
        """The team's per-row predictions of one split (Parquet file)."""
        return self.team_dir / f"predictions_{split}.parquet"

    @property
    def report(self) -> Path:
        """The self-contained HTML report of the run."""
        return self.root / "report.html"

    @property
    def metrics(self) -> Path:
        """The run's metrics, one section per stage."""
        return self.root / "metrics.json"

    def stage_record(self, stage: str) -> Path:
        """The record a finished stage leaves."""
        return self.root / "stages" / f"{stage}.json"

    def stage_done(self, stage: str, fingerprint: str) -> bool:
        """Whether `stage` finished before from exactly the same inputs."""
        record = self.stage_record(stage)
        return record.is_file() and read_json(record).get("fingerprint") == fingerprint

    def mark_stage(self, stage: str, fingerprint: str, seconds: float, summary: dict[str, Any]) -> None:
        """Record that `stage` finished (written last, atomically)."""
        write_json_atomic(
            self.stage_record(stage),
            {
                "stage": stage,
                "fingerprint": fingerprint,
                "seconds": round(seconds, 3),
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "summary": summary,
            },
        )

    def clear_stage(self, stage: str) -> None:
        """Forget that `stage` finished (before rerunning it)."""
        self.stage_record(stage).unlink(missing_ok=True)

    def read_metrics(self) -> dict[str, Any]:
        """The run's metrics.json ({} before any stage wrote to it)."""
        if not self.metrics.is_file():
            return {}
        metrics: dict[str, Any] = read_json(self.metrics)
        return metrics

    def update_metrics(self, section: str, value: Any) -> None:
        """Set one section of metrics.json, keeping the others."""
        current = self.read_metrics()
        current[section] = value
        write_json_atomic(self.metrics, current)
