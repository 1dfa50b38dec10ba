"""Which settings the SparkSession gets, resolved from the config, `--conf` and what
spark-submit already set. Pure: no JVM needed, unit-tested as is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from sparkling_mnist.config import JobConfig
from sparkling_mnist.errors import ConfigError

LOOPBACK = "127.0.0.1"
DEFAULT_MASTER = "local[*]"

# Java 17 closes these packages; H2O's REST client needs them (IllegalAccessError otherwise).
JAVA17_FLAGS = tuple(
    f"--{kind}=java.base/sun.net.www.protocol.{proto}=ALL-UNNAMED"
    for proto in ("http", "https")
    for kind in ("add-opens", "add-exports")
)
JAVA_OPTION_KEYS = ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions")

# Sparkling Water refuses to start with these on; we fail earlier with the key named.
FORBIDDEN_ON = ("spark.dynamicAllocation.enabled", "spark.speculation")


def under_spark_submit() -> bool:
    """True when this Python process was launched by spark-submit (its JVM already runs)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def is_local_master(master: str) -> bool:
    """local, local[N], local[*] and local-cluster[...] all run on this machine only."""
    return master.startswith("local")


def merge_java_options(existing: str | None, extra: tuple[str, ...] = ()) -> str:
    """Add the Java 17 flags (and `extra` ones) to existing JVM options, without repeating any."""
    options = (existing or "").split()
    return " ".join(options + [flag for flag in (*JAVA17_FLAGS, *extra) if flag not in options])


def store_java_options(cfg: JobConfig) -> tuple[str, ...]:
    """JVM properties for H2O's own S3 client when the store is on S3: endpoint, path
    style, and the store's bound on tries and its timeouts (H2O writes and reads the
    model binaries; without these its SDK's defaults apply: 3 retries, 50 s). Credentials
    are not among them: H2O reads the AWS environment variables or the AWS chain."""
    if cfg.store.location is None or cfg.store.location.scheme != "s3":
        return ()
    s3 = cfg.store.s3
    timeout_ms = round(s3.timeout_seconds * 1000)
    options = [
        f"-Dsys.ai.h2o.persist.s3.maxErrorRetry={s3.max_attempts - 1}",
        f"-Dsys.ai.h2o.persist.s3.socketTimeout={timeout_ms}",
        f"-Dsys.ai.h2o.persist.s3.connectionTimeout={timeout_ms}",
    ]
    if cfg.store.s3.endpoint:
        options.append(f"-Dsys.ai.h2o.persist.s3.endPoint={cfg.store.s3.endpoint}")
    if cfg.store.s3.path_style:
        options.append("-Dsys.ai.h2o.persist.s3.enable.path.style=true")
    return tuple(options)


def loopback_conf() -> dict[str, str]:
    """Settings that keep Spark and the H2O nodes on 127.0.0.1 in local mode.

    `spark.ext.h2o.node.network.mask` is only read for executors on workers; in local
    mode H2O picks the first non-loopback interface unless given `-ip`, and binds its
    REST port to every interface unless given `-web_ip`.
    """
    return {
        "spark.driver.host": LOOPBACK,
        "spark.driver.bindAddress": LOOPBACK,
        "spark.ext.h2o.extra.properties": f"-ip {LOOPBACK} -web_ip {LOOPBACK}",
    }


def resolve_spark_conf(cfg: JobConfig, cli_conf: Mapping[str, str], launched: Mapping[str, str]) -> dict[str, str]:
    """Compute the settings to give the SparkSession builder. Pure: no JVM needed.

    Precedence, lowest first: our defaults, the YAML's `spark.conf`, `--conf` on our
    command line, and finally what spark-submit already set (`launched`), which is
    never overridden: keys it set are left out of the result, except JVM options,
    which get the Java 17 flags merged in.

    Raises:
        ConfigError: dynamic allocation or speculation switched on (Sparkling Water
            refuses them).
    """
    master = launched.get("spark.master") or cli_conf.get("spark.master") or cfg.spark.master or DEFAULT_MASTER
    wanted: dict[str, str] = {
        "spark.master": master,
        "spark.app.name": cfg.spark.app_name,
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.dynamicAllocation.enabled": "false",
        "spark.speculation": "false",
        "spark.ext.h2o.log.level": cfg.h2o.log_level,
        "spark.log.level": cfg.spark.log_level,
        "spark.ext.h2o.log.dir": cfg.h2o_log_dir(),
    }
    if is_local_master(master):
        wanted.update(loopback_conf())
    if is_local_master(master) and "spark.ext.h2o.extra.properties" in cfg.spark.conf:
        # Keep the loopback flags when the config adds H2O arguments of its own.
        extra = str(cfg.spark.conf["spark.ext.h2o.extra.properties"])
        wanted["spark.ext.h2o.extra.properties"] += f" {extra}"
    for key, value in cfg.spark.conf.items():
        if key == "spark.ext.h2o.extra.properties" and is_local_master(master):
            continue
        wanted[key] = str(value).lower() if isinstance(value, bool) else str(value)
    wanted.update(cli_conf)
    for key in FORBIDDEN_ON:
        value = launched.get(key, wanted.get(key, "false"))
        if value.strip().lower() == "true":
            raise ConfigError(f"{key}=true is not supported by Sparkling Water: set it to false")
    for key in JAVA_OPTION_KEYS:
        wanted[key] = merge_java_options(launched.get(key) or wanted.get(key), store_java_options(cfg))
    return {key: value for key, value in wanted.items() if key not in launched or key in JAVA_OPTION_KEYS}
