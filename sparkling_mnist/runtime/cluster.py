"""A Spark standalone cluster on 127.0.0.1 with pyspark's own launcher: one master and
N workers, each its own JVM process, for tests, benchmarks and trying the cluster path
on one machine. Nothing is downloaded: `spark-class` ships inside the pyspark package.

    with LocalCluster(workers=2, cores=1, memory="3g", root=Path("runs/cluster")) as cluster:
        ...  # spark-submit --master cluster.master_url ...

`sparkling-mnist cluster start|status|stop` does the same from the command line, with
the process ids kept in `<root>/cluster.json`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from sparkling_mnist.errors import ClusterError
from sparkling_mnist.runtime.spark_conf import LOOPBACK

log = logging.getLogger(__name__)

STATE_FILE = "cluster.json"


def spark_home() -> Path:
    """The installed pyspark package: its `bin/spark-class` starts masters and workers."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _environment(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": LOOPBACK,
            "SPARK_LOG_DIR": str(root / "logs"),
            "SPARK_NO_DAEMONIZE": "1",
        }
    )
    return env


@dataclass
class LocalCluster:
    """A master and `workers` workers on 127.0.0.1, started as child processes."""

    workers: int = 2
    cores: int = 1
    memory: str = "3g"
    root: Path = field(default_factory=lambda: Path("runs/cluster"))
    master_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def master_url(self) -> str:
        """`spark://127.0.0.1:<port>`, for `--master`."""
        return f"spark://{LOOPBACK}:{self.master_port}"

    def spark_conf(self, executor_memory: str = "2g") -> dict[str, str]:
        """Settings for a job on this cluster with one H2O node per worker, all on 127.0.0.1."""
        return {
            "spark.master": self.master_url,
            "spark.executor.cores": str(self.cores),
            "spark.cores.max": str(self.cores * self.workers),
            "spark.executor.memory": executor_memory,
            "spark.ext.h2o.cluster.size": str(self.workers),
            "spark.ext.h2o.node.network.mask": f"{LOOPBACK}/32",
            "spark.ext.h2o.client.network.mask": f"{LOOPBACK}/32",
            "spark.driver.host": LOOPBACK,
            "spark.driver.bindAddress": LOOPBACK,
        }

    def worker_dir(self, index: int) -> Path:
        """The work directory of worker `index` (executors' working directories are inside)."""
        return self.root / f"worker-{index}"

    def start(self, timeout: float = 90.0) -> LocalCluster:
        """Start the master, then the workers; wait until every worker has registered.

        Raises:
            ClusterError: a process exited or the workers did not register in time.
        """
        self.root = self.root.resolve()
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        spark_class = str(spark_home() / "bin" / "spark-class")
        master = [spark_class, "org.apache.spark.deploy.master.Master", "--host", LOOPBACK]
        master += ["--port", str(self.master_port), "--webui-port", str(self.web_port)]
        self._spawn(master, "master")
        self._wait(lambda: self._alive_workers() is not None, timeout, "the master to answer")
        for index in range(self.workers):
            folder = self.worker_dir(index)
            folder.mkdir(parents=True, exist_ok=True)
            worker = [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", LOOPBACK]
            worker += ["--cores", str(self.cores), "--memory", self.memory, "--work-dir", str(folder)]
            worker += ["--webui-port", str(free_port()), self.master_url]
            self._spawn(worker, f"worker-{index}")
        self._wait(lambda: (self._alive_workers() or 0) >= self.workers, timeout, f"{self.workers} workers to register")
        log.info(
            "cluster: %s with %d worker(s) x %d core(s), %s each",
            self.master_url,
            self.workers,
            self.cores,
            self.memory,
        )
        return self

    def _spawn(self, command: list[str], name: str) -> None:
        log_file = (self.root / "logs" / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, env=_environment(self.root), start_new_session=True
        )
        self.processes.append(process)

    def _alive_workers(self) -> int | None:
        """Workers the master lists as ALIVE (None while it does not answer)."""
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{self.web_port}/json/", timeout=2) as response:
                state: dict[str, Any] = json.loads(response.read())
        except OSError:
            return None
        return sum(1 for worker in state.get("workers", []) if worker.get("state") == "ALIVE")

    def _wait(self, ready: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            dead = [p for p in self.processes if p.poll() is not None]
            if dead:
                self.stop()
                raise ClusterError(f"a cluster process exited while waiting for {what}; see {self.root / 'logs'}")
            time.sleep(0.5)
        self.stop()
        raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}; see {self.root / 'logs'}")

    def kill_worker(self, index: int) -> None:
        """Kill worker `index` and its executors (the process group), as a lost machine."""
        process = self.processes[1 + index]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        """Stop workers, then the master (their whole process groups: executors too)."""
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def save_state(self) -> Path:
        """Record the master URL and process ids (for `sparkling-mnist cluster stop`)."""
        path = self.root / STATE_FILE
        state = {"master": self.master_url, "web_port": self.web_port, "pids": [p.pid for p in self.processes]}
        path.write_text(json.dumps(state, indent=2))
        return path

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def stop_recorded(root: Path) -> int:
    """Stop the cluster recorded under `root` (by process group); returns how many groups."""
    path = root / STATE_FILE
    if not path.is_file():
        raise ClusterError(f"no cluster recorded in {path}")
    stopped = 0
    for pid in json.loads(path.read_text())["pids"]:
        try:
            os.killpg(pid, signal.SIGTERM)
            stopped += 1
        except ProcessLookupError:
            continue
    path.unlink()
    return stopped
