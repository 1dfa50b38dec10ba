"""One writer per run directory, tested with real processes (no JVM)."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sparkling_mnist.errors import RunLockedError
from sparkling_mnist.run_lock import LOCK_NAME, RunLock, read_holder

ROOT = Path(__file__).resolve().parents[2]

HOLD = """
import sys, time
from pathlib import Path
from sparkling_mnist.run_lock import RunLock
with RunLock(Path(sys.argv[1]), command="holder job"):
    print("locked", flush=True)
    time.sleep(120)
"""


def _holder(run_dir: Path) -> subprocess.Popen[str]:
    """A real process that takes the run directory's lock and keeps it."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_second_job_on_the_same_run_dir_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "run")
    try:
        started = time.monotonic()
        second = subprocess.run(
            [
                str(Path(sys.executable).parent / "sparkling-mnist"),
                "run",
                "--config",
                "local",
                "--set",
                f"run.dir={tmp_path / 'run'}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        seconds = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 2, second.stderr[-2000:]
    message = second.stderr + second.stdout
    assert f"is in use by pid {holder.pid} on host {socket.gethostname()}" in message
    assert "holder job" in message
    assert "SparkContext" not in message and not (tmp_path / "run" / "logs").exists(), "Spark started"
    assert seconds < 60  # generous: it fails before Spark or H2O start


def test_a_lock_whose_process_was_killed_is_taken_over_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = _holder(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert read_holder(tmp_path / LOCK_NAME) is not None  # SIGKILL left the lock behind
    with caplog.at_level(logging.WARNING), RunLock(tmp_path, command="rerun") as lock:
        assert read_holder(lock.path) == lock.holder
    assert f"taking over the lock of pid {holder.pid}" in caplog.text
    assert not (tmp_path / LOCK_NAME).exists()  # released at the end


def test_a_live_lock_is_held_and_a_reused_pid_is_not_a_holder(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = {"host": socket.gethostname(), "pid": sleeper.pid, "command": "old job", "token": "x"}
        (tmp_path / LOCK_NAME).write_text(json.dumps({**lock, "started": time.time()}))
        with pytest.raises(RunLockedError, match=f"in use by pid {sleeper.pid}"):
            RunLock(tmp_path).acquire()
        # The same pid, but the lock is older than the process now holding that pid.
        (tmp_path / LOCK_NAME).write_text(json.dumps({**lock, "started": time.time() - 3600}))
        with RunLock(tmp_path):
            pass
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_lock_held_on_another_host_is_not_taken_over(tmp_path: Path) -> None:
    lock = {"host": "other-host.example", "pid": os.getpid(), "started": 0.0, "command": "job", "token": "x"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(lock))
    with pytest.raises(
        RunLockedError, match=r"on host other-host\.example, .*\(another host: its process cannot be checked\)"
    ):
        RunLock(tmp_path).acquire()
    (tmp_path / LOCK_NAME).write_text("{not json")
    with pytest.raises(RunLockedError, match=f"{tmp_path / LOCK_NAME}: the run directory's lock file cannot be read"):
        RunLock(tmp_path).acquire()


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path: Path) -> None:
    lock = RunLock(tmp_path)
    lock.acquire()
    taken = {"host": "h", "pid": 1, "started": 0.0, "command": "other", "token": "theirs"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(taken))
    lock.release()
    assert json.loads((tmp_path / LOCK_NAME).read_text())["token"] == "theirs"
