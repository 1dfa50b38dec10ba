"""H2O job progress: parsing the REST answer, the estimate, the lines. No JVM."""

from __future__ import annotations

import io
import logging

import pytest

from sparkling_mnist.runtime.progress import H2OProgress, JobProgress, duration_text, progress_line, running_jobs

JOBS = [
    {
        "key": {"name": "$03017f00000132d4ffffffff$_a"},
        "description": "DeepLearning",
        "dest": {"name": "AE768_3f2a"},
        "status": "RUNNING",
        "progress": 0.25,
        "msec": 60_000,
        "progress_msg": "Training...",
    },
    {
        "key": {"name": "b"},
        "description": "GBM",
        "dest": {"name": "gbm"},
        "status": "RUNNING",
        "progress": 0.5,
        "msec": 2_000,
    },
    {
        "key": {"name": "c"},
        "description": "Parse",
        "dest": {"name": "f"},
        "status": "DONE",
        "progress": 1.0,
        "msec": 90_000,
    },
]


def test_running_jobs_are_the_long_running_ones_with_an_estimate() -> None:
    jobs = running_jobs(JOBS, min_seconds=5.0)
    assert [job.target for job in jobs] == ["AE768_3f2a"]  # GBM: 2 s so far; Parse: done
    job = jobs[0]
    assert job.fraction == 0.25 and job.seconds == 60.0
    assert job.seconds_left() == pytest.approx(180.0)  # a quarter in a minute: three more
    assert JobProgress.from_rest({"status": "RUNNING", "progress": 0, "msec": 9000}).seconds_left() is None


def test_lines_say_what_how_far_and_how_long() -> None:
    assert duration_text(42.4) == "42 s" and duration_text(185) == "3 min 05 s" and duration_text(3720) == "1 h 02 min"
    line = progress_line(running_jobs(JOBS)[0], width=8)
    assert line == (
        "h2o: DeepLearning AE768_3f2a [##......]  25.0% after 1 min 00 s, about 3 min 00 s left (Training...)"
    )


def test_reporter_logs_lines_off_a_terminal_and_draws_one_on_it(caplog: pytest.LogCaptureFixture) -> None:
    jobs = running_jobs(JOBS)
    with caplog.at_level(logging.INFO, logger="sparkling_mnist.runtime.progress"):
        H2OProgress(stream=io.StringIO()).report(jobs)
    assert [record.getMessage() for record in caplog.records] == [progress_line(jobs[0])]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    reporter = H2OProgress(stream=terminal)
    reporter.report(jobs)
    reporter.report([])  # the job finished: the live line ends
    assert terminal.getvalue() == "\r\033[K" + progress_line(jobs[0]) + "\n"
    reporter.stop()  # never started: nothing to join, nothing more written
    assert terminal.getvalue().count("\n") == 1
