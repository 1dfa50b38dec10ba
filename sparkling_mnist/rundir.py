"""The layout of one run directory and its small JSON records (stages, metrics).

Everything a run produces lives under one directory: data, logs, metrics, and one
record per finished stage with the fingerprint of what it was computed from, so a
rerun with the same config skips it.

Crash safety: every output is written under a hidden temporary name beside its real
one and renamed into place when whole (`committed`), and a stage's record is written
last; a driver killed at any point leaves finished outputs and models whole and the
unfinished stage unmarked, so the rerun redoes only that.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkling_mnist.errors import DiskFullError

DISK_FULL_TEXT = "No space left on device"
"""How Java (Spark's executors, H2O) words ENOSPC in the messages that reach Python."""


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error, or one it was raised from, is a full disk (Python or Java)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if DISK_FULL_TEXT in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def disk_full_error(path: Path, what: str) -> DiskFullError:
    """The error for a full disk while writing `path`: names it and the space left there."""
    existing = next((folder for folder in path.parents if folder.exists()), Path("/"))
    try:
        free = f"{shutil.disk_usage(existing).free:,} bytes free"
    except OSError:
        free = "free space unknown"
    return DiskFullError(
        f"{path}: no space left on device while writing {what} ({free} on that file system). Nothing was "
        "marked done: free some space or point run.dir at a larger disk, then rerun the same command"
    )


@contextmanager
def committed(target: Path) -> Iterator[Path]:
    """Write a file or a folder under a temporary name beside `target`; it takes the
    final name (by rename) only when the block finishes, so a crash never leaves a
    partial output under the real name.

    Yields:
        The temporary path to write (same folder, same suffix: formats guessed from the
        name still work; hidden, so Spark's and our listings skip it).

    Raises:
        DiskFullError: the disk filled up while writing, naming `target`.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in target.parent.glob(f".{target.name}.incomplete-*"):  # a crash's remains
        _remove(leftover)
    token = uuid.uuid4().hex[:12]
    tmp = target.with_name(f".{target.name}.incomplete-{token}{target.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(errno.ENOENT, "the writer produced nothing", str(tmp))
        if tmp.is_dir() and target.is_dir():  # os.replace cannot replace a folder: move the old one aside
            old = target.with_name(f".{target.name}.incomplete-old-{token}")
            target.rename(old)
            tmp.rename(target)
            _remove(old)
        else:
            os.replace(tmp, target)
    except BaseException as exc:
        _remove(tmp)
        if is_disk_full(exc):
            raise disk_full_error(target, "it") from exc
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary file beside `path`, then rename it into place."""
    with committed(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


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
