"""Progress of H2O's own jobs while a stage waits on them: every running H2O job (model
training, scoring, frame conversion) that has run longer than a few seconds is
reported at a steady interval with its progress and an estimate of the time left, read
from H2O's REST API (`GET /3/Jobs`). A live line on a terminal, log lines otherwise.

The client's own progress bars are off (`h2o.no_progress()`: they print to stdout and
cannot be logged); this watcher replaces them.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 10.0
MIN_RUNNING_S = 5.0


@dataclass(frozen=True)
class JobProgress:
    """One running H2O job as the REST API reports it."""

    key: str
    description: str
    target: str
    fraction: float  # 0..1
    seconds: float  # since the job started
    message: str

    @classmethod
    def from_rest(cls, job: Mapping[str, Any]) -> JobProgress:
        """From one entry of `GET /3/Jobs` (`JobV3`)."""
        dest = job.get("dest") or {}
        return cls(
            key=str((job.get("key") or {}).get("name", "")),
            description=str(job.get("description") or "job"),
            target=str(dest.get("name") or ""),
            fraction=min(max(float(job.get("progress") or 0.0), 0.0), 1.0),
            seconds=float(job.get("msec") or 0) / 1000.0,
            message=str(job.get("progress_msg") or ""),
        )

    def seconds_left(self) -> float | None:
        """Time left at the pace so far; None before there is a pace to go by."""
        if self.fraction <= 0.0 or self.seconds <= 0.0:
            return None
        return self.seconds * (1.0 - self.fraction) / self.fraction


def running_jobs(jobs: Sequence[Mapping[str, Any]], min_seconds: float = MIN_RUNNING_S) -> list[JobProgress]:
    """The jobs still running that have run at least `min_seconds`. Pure."""
    return [
        JobProgress.from_rest(job)
        for job in jobs
        if job.get("status") == "RUNNING" and float(job.get("msec") or 0) / 1000.0 >= min_seconds
    ]


def duration_text(seconds: float) -> str:
    """`42 s`, `3 min 05 s`, `1 h 02 min`. Pure."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def progress_line(job: JobProgress, width: int = 20) -> str:
    """One job's progress as text: what, bar, percentage, elapsed, estimate. Pure."""
    filled = int(job.fraction * width)
    bar = "#" * filled + "." * (width - filled)
    left = job.seconds_left()
    eta = f"about {duration_text(left)} left" if left is not None else "time left unknown"
    what = f"{job.description} {job.target}".strip()
    detail = f" ({job.message})" if job.message and job.message.lower() not in ("running", "done") else ""
    return f"h2o: {what} [{bar}] {job.fraction:6.1%} after {duration_text(job.seconds)}, {eta}{detail}"


class H2OProgress:
    """A daemon thread that reports H2O's running jobs every `interval` seconds."""

    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL_S,
        *,
        min_seconds: float = MIN_RUNNING_S,
        stream: TextIO | None = None,
    ) -> None:
        self.interval = interval
        self.min_seconds = min_seconds
        self.stream = stream if stream is not None else sys.stderr
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live = False  # a live line is on the terminal, not yet ended

    def start(self) -> H2OProgress:
        """Start watching (no-op when the interval is 0)."""
        if self.interval > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="h2o-progress", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; ends a live line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
            self._thread = None
        self._end_live_line()

    def _run(self) -> None:
        import h2o

        while not self._stop.wait(self.interval):
            try:
                jobs = running_jobs(h2o.api("GET /3/Jobs")["jobs"], self.min_seconds)
            except Exception as exc:  # the cloud is stopping or lost: the session reports that
                log.debug("h2o progress: cannot read jobs: %s", exc)
                continue
            self.report(jobs)

    def report(self, jobs: Sequence[JobProgress]) -> None:
        """Write one line per running job: live on a terminal, a log line otherwise."""
        if not jobs:
            self._end_live_line()
            return
        lines = [progress_line(job) for job in jobs]
        if self.stream.isatty():
            self.stream.write("\r\033[K" + " | ".join(lines))
            self.stream.flush()
            self._live = True
            return
        for line in lines:
            log.info("%s", line)

    def _end_live_line(self) -> None:
        if self._live:
            self.stream.write("\n")
            self.stream.flush()
            self._live = False


def log_addresses(spark: Any, context: Any) -> None:
    """Log where to watch the job: the Spark UI and H2O Flow, when they run."""
    ui = spark.sparkContext.uiWebUrl
    if ui:
        log.info("spark ui: %s", ui)
    try:
        flow = str(context._jhc.flowURL())
    except Exception as exc:  # an internal call of Sparkling Water; the job does not need it
        log.debug("h2o flow address unknown: %s", exc)
        return
    log.info("h2o flow: %s", flow)
