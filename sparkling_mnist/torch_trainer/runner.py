"""Where torch training runs: in the driver (local mode, one process), or on the Spark
executors with Spark's own `TorchDistributor` (one DDP process per executor, gloo on
CPU, each reading its share of the stage's Parquet)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sparkling_mnist.torch_trainer.loop import TorchJob, TorchResult, few_steps_warning, train_network

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def executor_count(spark: SparkSession) -> int:
    """Executors registered with the driver (the driver itself not counted)."""
    statuses = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
    return max(int(statuses) - 1, 1)


def training_processes(spark: SparkSession | None, processes: int | None) -> int:
    """The configured processes, else 1 in local mode and one per executor on a cluster."""
    if processes is not None:
        return processes
    if spark is None or spark.sparkContext.master.startswith("local"):
        return 1
    return executor_count(spark)


def executor_threads(spark: SparkSession) -> int:
    """Cores of one executor (`spark.executor.cores`, 1 when unset on a standalone cluster)."""
    return int(spark.sparkContext.getConf().get("spark.executor.cores", "1"))


def run_torch_job(job: TorchJob, spark: SparkSession | None, processes: int | None) -> TorchResult:
    """Train `job` in the driver or, with more than one process, on the executors.

    Local mode with more than one process runs them on the driver's machine
    (TorchDistributor's local mode).
    """
    result = _run(job, spark, training_processes(spark, processes))
    warning = few_steps_warning(job.name, result, job.options.batch_size)
    if warning:
        log.warning(warning)
    return result


def _run(job: TorchJob, spark: SparkSession | None, count: int) -> TorchResult:
    if count == 1:
        return train_network(job)
    assert spark is not None  # training_processes gives 1 without a session
    from pyspark.ml.torch.distributor import TorchDistributor

    local = spark.sparkContext.master.startswith("local")
    if job.options.threads is None and not local:
        from dataclasses import replace

        job = replace(job, options=replace(job.options, threads=executor_threads(spark)))
    log.info(
        "torch %s: %d processes with TorchDistributor (%s)", job.name, count, "local" if local else "on the executors"
    )
    result: Any = TorchDistributor(num_processes=count, local_mode=local, use_gpu=False).run(train_network, job)
    if not isinstance(result, TorchResult):
        raise RuntimeError(f"torch {job.name}: TorchDistributor returned {type(result).__name__}, not a result")
    return result
