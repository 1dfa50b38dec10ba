"""One writer per run directory: a lock file naming the job that holds it.

`<run>/run.lock` holds the holder's host, pid, start time and command. A second job on
the same run directory fails at once, naming the holder. A lock left by a job that is
gone (same host, its process no longer running, or its pid now taken by a younger
process) is taken over with a warning: a driver killed with SIGKILL or a rebooted
machine never leaves a run locked for good. A holder on another host cannot be
checked from here; the error says so and how to clear the lock.

The lock file appears whole or not at all (written aside, then hard-linked into place,
which fails when one exists), and takeovers on one host are serialized by `flock` on a
guard file beside it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from sparkling_mnist.errors import RunLockedError

log = logging.getLogger(__name__)

LOCK_NAME = "run.lock"


@dataclass(frozen=True)
class LockHolder:
    """Who holds a run directory."""

    host: str
    pid: int
    started: float
    command: str
    token: str

    @classmethod
    def me(cls, command: str) -> LockHolder:
        """This process, now."""
        return cls(socket.gethostname(), os.getpid(), time.time(), command, uuid.uuid4().hex)

    def describe(self) -> str:
        """One line naming the holder."""
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.started))
        return f"pid {self.pid} on host {self.host}, started {started} ({self.command})"


def _process_start(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), from /proc; None when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
    except (OSError, IndexError, StopIteration, ValueError):
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def holder_is_gone(holder: LockHolder) -> bool:
    """Whether a holder on this host no longer runs: no such process, or its pid now
    belongs to a process started after the lock was taken (the pid was reused)."""
    if holder.host != socket.gethostname():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a process of another user: alive
        return False
    started = _process_start(holder.pid)
    return started is not None and started > holder.started + 2.0  # /proc's clock ticks are coarse


def read_holder(path: Path) -> LockHolder | None:
    """The holder named in a lock file; None when there is none or it cannot be read."""
    try:
        return LockHolder(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise RunLockedError(
            f"{path}: the run directory's lock file cannot be read ({exc}); if no job uses this run "
            "directory, delete the file and start again"
        ) from None


class RunLock:
    """Holds `<run>/run.lock` while a job writes the run directory (a context manager)."""

    def __init__(self, root: Path, command: str | None = None) -> None:
        self.path = root / LOCK_NAME
        self.holder = LockHolder.me(command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]))
        self._held = False

    def acquire(self) -> None:
        """Take the lock, or take over a stale one.

        Raises:
            RunLockedError: another live job holds it, naming its host, pid and start.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        guard = self.path.with_name(f".{LOCK_NAME}.guard")
        with open(guard, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._acquire_guarded()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        self._held = True
        log.info("run directory %s locked by %s", self.path.parent, self.holder.describe())

    def _acquire_guarded(self) -> None:
        if self._link_new():
            return
        holder = read_holder(self.path)
        if holder is None:  # released between our attempt and the read
            if self._link_new():
                return
            holder = read_holder(self.path)
        if holder is not None and not holder_is_gone(holder):
            where = "" if holder.host == socket.gethostname() else " (another host: its process cannot be checked)"
            raise RunLockedError(
                f"run directory {self.path.parent} is in use by {holder.describe()}{where}. Wait for it to "
                f"finish, use another run.dir, or, if that job is gone, delete {self.path}"
            )
        if holder is not None:
            log.warning(
                "run directory %s: taking over the lock of %s, whose process is gone (killed or the machine "
                "restarted); its finished stages are reused, the unfinished ones rerun",
                self.path.parent,
                holder.describe(),
            )
        self.path.unlink(missing_ok=True)
        if not self._link_new():
            raise RunLockedError(f"run directory {self.path.parent}: another job took the lock {self.path} first")

    def _link_new(self) -> bool:
        """Write our lock aside and hard-link it into place: False when a lock exists."""
        aside = self.path.with_name(f".{LOCK_NAME}.{self.holder.token}")
        aside.write_text(json.dumps(asdict(self.holder), indent=2) + "\n")
        try:
            os.link(aside, self.path)
        except FileExistsError:
            return False
        finally:
            aside.unlink(missing_ok=True)
        return True

    def release(self) -> None:
        """Give the lock back (only if it is still ours)."""
        if not self._held:
            return
        self._held = False
        try:
            current = read_holder(self.path)
        except RunLockedError:
            current = None
        if current is not None and current.token == self.holder.token:
            self.path.unlink(missing_ok=True)
        else:
            log.warning("run directory %s: the lock was no longer ours at the end of the job", self.path.parent)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()
