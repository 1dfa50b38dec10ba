"""The one factory for SparkSession + H2OContext, shared by jobs and tests.

Both are started lazily (a stage that is already done starts nothing) and stopped in
the right order: H2O before Spark. Master and tuning come from the config's `spark`
section and `--conf`; under `spark-submit` its own `--master`/`--conf` win, because the
driver JVM is already running with them.
"""

from __future__ import annotations

import _thread
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sparkling_mnist.config.settings import JobConfig
from sparkling_mnist.errors import ConfigError
from sparkling_mnist.runtime.models import model_in_cluster
from sparkling_mnist.runtime.progress import H2OProgress, log_addresses
from sparkling_mnist.runtime.spark_conf import (
    JAVA17_FLAGS,
    LOOPBACK,
    is_local_master,
    resolve_spark_conf,
    under_spark_submit,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

EXIT_H2O_LOST = 3  # the process exit code when an H2O node is lost mid-job
WATCHDOG_GRACE_S = 15.0


def h2o_password(cfg: JobConfig) -> str:
    """The H2O login password, from the environment variable the config names.

    Raises:
        ConfigError: the variable is not set (names it, never shows a value).
    """
    name = cfg.h2o.security.password_env
    password = os.environ.get(name)
    if not password:
        raise ConfigError(f"h2o.security.login is hash but the environment variable {name} (the password) is not set")
    return password


def rebind_flow_proxy_to_loopback(spark: SparkSession) -> None:
    """Move Sparkling Water's REST/Flow proxy on the driver to 127.0.0.1 (same port).

    Sparkling Water 3.46 starts the proxy with `new InetSocketAddress(port)` (every
    interface) and no setting changes that, so in local mode we reopen its Jetty
    connectors on loopback right after H2O starts.
    """
    from py4j.protocol import Py4JError

    jvm = spark.sparkContext._jvm
    try:
        starter = getattr(getattr(jvm.ai.h2o.sparkling.backend.utils, "ProxyStarter$"), "MODULE$")
        field = starter.getClass().getDeclaredField("server")
        field.setAccessible(True)
        server = field.get(starter)
        for connector in server.getConnectors():
            connector.stop()
            connector.setHost(LOOPBACK)
            connector.start()
    except Py4JError as exc:
        log.warning("could not move the H2O Flow proxy to %s; it listens on every interface: %s", LOOPBACK, exc)
        return
    log.info("h2o flow proxy bound to %s only", LOOPBACK)


def _launched_conf() -> dict[str, str]:
    """The settings spark-submit gave the already-running driver JVM (empty otherwise)."""
    if not under_spark_submit():
        return {}
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()
    launched = dict(SparkConf().getAll())
    driver_options = launched.get("spark.driver.extraJavaOptions", "")
    missing = [flag for flag in JAVA17_FLAGS if flag not in driver_options.split()]
    if missing:
        raise ConfigError(
            "spark-submit started the driver JVM without the Java 17 flags H2O needs; add "
            f'--conf "spark.driver.extraJavaOptions={" ".join(JAVA17_FLAGS)}" to the spark-submit command'
        )
    return launched


def _set_jvm_log_level(level: str) -> None:
    """Set the root log level of the running driver JVM (log4j 2, through py4j)."""
    from pyspark import SparkContext

    SparkContext._ensure_initialized()
    jvm = SparkContext._jvm
    assert jvm is not None  # started by _ensure_initialized
    jvm.org.apache.logging.log4j.core.config.Configurator.setRootLevel(
        jvm.org.apache.logging.log4j.Level.valueOf(level)
    )


class SparkH2OSession:
    """Lazily started SparkSession and H2OContext; use as a context manager.

    Args:
        cfg: the validated job config.
        cli_conf: `--conf key=value` settings from the command line.
    """

    def __init__(self, cfg: JobConfig, cli_conf: Mapping[str, str] | None = None) -> None:
        self.cfg = cfg
        self.cli_conf = dict(cli_conf or {})
        self._spark: SparkSession | None = None
        self._h2o: Any = None
        self._login_dir: str | None = None
        self.lost: str | None = None  # why the H2O cloud broke, set by the watchdog
        self._watchdog: threading.Thread | None = None
        self._stopping = False
        self._nodes = 0  # H2O nodes at start, on a cluster (0: local mode, not watched)
        self._progress: H2OProgress | None = None

    @property
    def spark(self) -> SparkSession:
        """The SparkSession, started on first use."""
        if self._spark is None:
            self._spark = self._start_spark()
        return self._spark

    @property
    def h2o(self) -> Any:
        """The H2OContext (H2O inside the Spark executors), started on first use."""
        if self._h2o is None:
            self._h2o = self._start_h2o()
        return self._h2o

    def h2o_model(self, model_id: str) -> Any | None:
        """The model of that id in this session's H2O cluster, or None (starts H2O)."""
        _ = self.h2o
        return model_in_cluster(model_id)

    def _start_spark(self) -> SparkSession:
        from pyspark.sql import SparkSession

        started = time.monotonic()
        launched = _launched_conf()
        conf = resolve_spark_conf(self.cfg, self.cli_conf, launched)
        conf.update(self._security_conf())
        # spark-submit's --conf spark.log.level wins, as every setting it gives.
        level = launched.get("spark.log.level") or conf["spark.log.level"]
        master = conf.get("spark.master", "")
        if is_local_master(master) and not under_spark_submit():
            # Must be in the environment before the JVM and the Python workers start.
            os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        if under_spark_submit():
            # The driver JVM runs already, with spark-submit's log4j defaults (INFO):
            # lower it before the SparkContext starts, or its start-up fills the output.
            _set_jvm_log_level(level)
        builder = SparkSession.builder
        for key, value in conf.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel(level)
        log.info(
            "spark %s started: master=%s in %.1f s",
            spark.version,
            spark.sparkContext.master,
            time.monotonic() - started,
        )
        return spark

    def _start_h2o(self) -> Any:
        spark = self.spark
        from pysparkling import H2OConf, H2OContext

        started = time.monotonic()
        os.makedirs(self.cfg.h2o_log_dir(), exist_ok=True)
        conf = H2OConf().setLogLevel(self.cfg.h2o.log_level).setLogDir(self.cfg.h2o_log_dir())
        if self.cfg.h2o.security.login == "hash":
            conf = conf.setUserName(self.cfg.h2o.security.user).setPassword(h2o_password(self.cfg))
        context = H2OContext.getOrCreate(conf)
        import h2o

        h2o.no_progress()  # the client's bars print to stdout; H2OProgress logs the jobs instead
        if is_local_master(spark.sparkContext.master):
            rebind_flow_proxy_to_loopback(spark)
        if not is_local_master(spark.sparkContext.master):
            self._start_watchdog(int(h2o.cluster().cloud_size))
        self._progress = H2OProgress(self.cfg.h2o.progress_seconds).start()
        log_addresses(spark, context)
        log.info(
            "h2o %s cloud up in %.1f s: %d node(s), spark master %s",
            h2o.__version__,
            time.monotonic() - started,
            h2o.cluster().cloud_size,
            spark.sparkContext.master,
        )
        return context

    def live_executors(self) -> int:
        """Executors Spark holds right now (the driver not counted)."""
        assert self._spark is not None
        return int(self._spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size()) - 1

    def confirm_lost(self, wait: float = 20.0) -> str | None:
        """After a failure on a cluster: wait up to `wait` s for Spark to notice a lost
        executor (H2O may fail first). Returns why the cloud broke, or None."""
        deadline = time.monotonic() + wait
        while self.lost is None and self._nodes and time.monotonic() < deadline:
            try:
                if self.live_executors() < self._nodes:
                    self.lost = (
                        "a Spark executor was lost, and with it an H2O node: "
                        "H2O has no high availability, the cloud cannot go on"
                    )
            except Exception:  # Spark itself is gone
                return self.lost
            time.sleep(1.0)
        return self.lost

    def _start_watchdog(self, nodes: int, period: float = 2.0) -> None:
        """Watch for a lost executor while H2O runs: H2O has no high availability, a lost
        node leaves its jobs waiting forever. The watchdog records why and interrupts the
        main thread, which the stage runner turns into a clear error."""

        def watch() -> None:
            while not self._stopping and self.lost is None:
                try:
                    live = self.live_executors()
                except Exception:  # Spark is stopping
                    return
                if live < nodes:
                    self.lost = (
                        f"a Spark executor was lost ({live} of {nodes} left), and with it an H2O node: "
                        "H2O has no high availability, the cloud cannot go on"
                    )
                    log.error("%s", self.lost)
                    _thread.interrupt_main()
                    # The main thread only sees the interrupt between Python calls; a call
                    # into the broken cloud never returns, so end the process after a grace.
                    time.sleep(WATCHDOG_GRACE_S)
                    if not self._stopping:
                        log.error(
                            "the H2O cloud does not answer: exiting with code %d. Finished stages and models "
                            "are kept in %s: rerun the same command on a healthy cluster to resume",
                            EXIT_H2O_LOST,
                            Path(self.cfg.run.dir).resolve(),
                        )
                        logging.shutdown()
                        os._exit(EXIT_H2O_LOST)
                    return
                time.sleep(period)

        self._nodes = nodes
        self._watchdog = threading.Thread(target=watch, name="h2o-watchdog", daemon=True)
        self._watchdog.start()

    def _security_conf(self) -> dict[str, str]:
        """Sparkling Water settings for H2O's login and internal TLS. The login file
        (`user: password`, Jetty's hash format) lives in a private temporary folder for
        the session's lifetime, never under the run directory."""
        security = self.cfg.h2o.security
        conf: dict[str, str] = {}
        if security.internal_tls:
            conf["spark.ext.h2o.internal_secure_connections"] = "true"
        if security.login == "hash":
            password = h2o_password(self.cfg)
            self._login_dir = tempfile.mkdtemp(prefix="sparkling-mnist-login-")
            realm = Path(self._login_dir) / "realm.properties"
            realm.touch(mode=0o600)
            realm.write_text(f"{security.user}: {password}\n")
            conf["spark.ext.h2o.hash.login"] = "true"
            conf["spark.ext.h2o.login.conf"] = str(realm)
        return conf

    def stop(self) -> None:
        """Stop H2O, then Spark (Sparkling Water's required order)."""
        self._stopping = True
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._h2o is not None:
            if self.lost is None:  # a broken cloud does not answer; stopping Spark ends it
                self._h2o.stop()
            self._h2o = None
        if self._spark is not None:
            self._spark.stop()
            self._spark = None
        if self._login_dir is not None:
            shutil.rmtree(self._login_dir, ignore_errors=True)
            self._login_dir = None

    def __enter__(self) -> SparkH2OSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
