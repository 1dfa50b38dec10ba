import pytest

from sparkling_mnist.config import validate_config
from sparkling_mnist.errors import ConfigError
from sparkling_mnist.runtime.spark_conf import JAVA17_FLAGS, merge_java_options, resolve_spark_conf


def test_local_defaults_bind_loopback_and_add_java_flags() -> None:
    cfg = validate_config({"spark": {"master": "local[2]"}, "run": {"dir": "runs/t"}})
    conf = resolve_spark_conf(cfg, {}, {})
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.ext.h2o.extra.properties"] == "-ip 127.0.0.1 -web_ip 127.0.0.1"
    assert conf["spark.sql.execution.arrow.pyspark.enabled"] == "true"
    assert conf["spark.dynamicAllocation.enabled"] == "false" and conf["spark.speculation"] == "false"
    assert conf["spark.ext.h2o.log.dir"] == "runs/t/logs/h2o"
    assert conf["spark.log.level"] == "WARN"  # Spark's own INFO lines stay out of the job's output
    quiet = resolve_spark_conf(validate_config({"spark": {"log_level": "ERROR"}}), {}, {})
    assert quiet["spark.log.level"] == "ERROR"
    launched = resolve_spark_conf(cfg, {}, {"spark.log.level": "INFO"})
    assert "spark.log.level" not in launched  # spark-submit's own --conf wins
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        assert conf[key].split() == list(JAVA17_FLAGS)


def test_cluster_master_does_not_force_loopback() -> None:
    cfg = validate_config({"spark": {"master": "spark://10.0.0.5:7077"}})
    conf = resolve_spark_conf(cfg, {}, {})
    assert "spark.driver.bindAddress" not in conf and "spark.ext.h2o.extra.properties" not in conf


def test_precedence_yaml_then_cli_then_spark_submit() -> None:
    cfg = validate_config(
        {
            "spark": {
                "master": "local[2]",
                "conf": {
                    "spark.executor.memory": "2g",
                    "spark.ui.enabled": False,
                    "spark.executor.extraJavaOptions": "-Xss4m",
                },
            }
        }
    )
    conf = resolve_spark_conf(cfg, {"spark.executor.memory": "3g"}, {})
    assert conf["spark.executor.memory"] == "3g" and conf["spark.ui.enabled"] == "false"
    assert conf["spark.executor.extraJavaOptions"].split() == ["-Xss4m", *JAVA17_FLAGS]
    launched = {
        "spark.master": "spark://h:7077",
        "spark.executor.memory": "8g",
        "spark.driver.extraJavaOptions": " ".join(JAVA17_FLAGS),
    }
    conf = resolve_spark_conf(cfg, {"spark.executor.memory": "3g"}, launched)
    assert "spark.master" not in conf and "spark.executor.memory" not in conf
    assert conf["spark.driver.extraJavaOptions"].split() == list(JAVA17_FLAGS)


def test_extra_h2o_arguments_keep_the_loopback_flags() -> None:
    cfg = validate_config({"spark": {"master": "local[1]", "conf": {"spark.ext.h2o.extra.properties": "-nthreads 1"}}})
    assert (
        resolve_spark_conf(cfg, {}, {})["spark.ext.h2o.extra.properties"]
        == "-ip 127.0.0.1 -web_ip 127.0.0.1 -nthreads 1"
    )


@pytest.mark.parametrize("key", ["spark.dynamicAllocation.enabled", "spark.speculation"])
def test_settings_sparkling_water_refuses(key: str) -> None:
    cfg = validate_config({"spark": {"conf": {key: True}}})
    with pytest.raises(ConfigError, match=f"{key}=true is not supported by Sparkling Water"):
        resolve_spark_conf(cfg, {}, {})


def test_merge_java_options_does_not_repeat() -> None:
    once = merge_java_options("-Xmx1g")
    assert merge_java_options(once) == once and once.startswith("-Xmx1g ")


def test_h2o_s3_client_gets_the_store_s_endpoint_tries_and_timeouts() -> None:
    from sparkling_mnist.runtime.spark_conf import store_java_options

    cfg = validate_config(
        {
            "store": {
                "uri": "s3://models/runs",
                "s3": {
                    "endpoint": "http://127.0.0.1:9000",
                    "path_style": True,
                    "max_attempts": 5,
                    "timeout_seconds": 2.5,
                },
            }
        }
    )
    assert set(store_java_options(cfg)) == {
        "-Dsys.ai.h2o.persist.s3.endPoint=http://127.0.0.1:9000",
        "-Dsys.ai.h2o.persist.s3.enable.path.style=true",
        "-Dsys.ai.h2o.persist.s3.maxErrorRetry=4",  # 5 tries in all, as boto3's side
        "-Dsys.ai.h2o.persist.s3.socketTimeout=2500",
        "-Dsys.ai.h2o.persist.s3.connectionTimeout=2500",
    }
    assert store_java_options(validate_config({"store": {"uri": "/shared/models"}})) == ()
