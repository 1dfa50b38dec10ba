"""The `score` job: new raw images (any ingest format, the config's `source`) through a
stored run's autoencoders and team, predictions written as Parquet.

    sparkling-mnist score --config conf/local.yaml --run-id local --engine spark \\
        --set source.format=idx --set source.train.images=new-images.gz ... --out preds.parquet

The images are validated exactly as `ingest` validates them (rejected rows are kept
with reasons under `<out>.input/data/rejects`); every accepted row is scored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from sparkling_mnist.config.settings import JobConfig
from sparkling_mnist.data.ingest import run_ingest
from sparkling_mnist.ood.flags import ANOMALY_FLAG
from sparkling_mnist.run_lock import RunLock
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.scoring.engines import score_images, write_spark_predictions
from sparkling_mnist.scoring.plan import ScoringPlan
from sparkling_mnist.store import open_store

log = logging.getLogger(__name__)

SCORE_SPLIT = "score"
"""The one split new images are ingested into (`<out>.input/data/images/split=score`)."""


def run_score(cfg: JobConfig, *, engine: str, out: Path, cli_conf: Mapping[str, str]) -> Path:
    """Ingest the config's source, score it with the stored run `cfg.store_run_id()`,
    write the predictions to `out` (Parquet: one file from the `h2o` engine, a dataset
    written by the executors from the `spark` engine, which starts no H2O).

    Raises:
        ConfigError: no store configured.
        StoreError: the stored run is incomplete or cannot be scored.
        InputDataError, RejectThresholdError: the new images cannot be read.
    """
    location = cfg.store.location
    store = None if location is not None and location.needs_spark else open_store(cfg.store)
    inputs = RunDir.at(out.with_name(out.name + ".input"))
    with RunLock(inputs.root), SparkH2OSession(cfg, cli_conf) as session:
        store = store or open_store(cfg.store, session.spark)
        plan = ScoringPlan.from_manifest(store.manifest(cfg.store_run_id()))
        counts = run_ingest(
            cfg.source, cfg.split, cfg.ingest, session.spark, inputs, seed=cfg.run.seed, one_split=SCORE_SPLIT
        )
        log.info(
            "score: %d images read, %d accepted, %d rejected (kept in %s)",
            counts.read,
            counts.accepted,
            counts.rejected,
            inputs.rejects,
        )
        images = session.spark.read.parquet(str(inputs.images)).select("id", "label", "pixels")
        out.parent.mkdir(parents=True, exist_ok=True)
        if engine == "spark":
            scored = write_spark_predictions(plan, store, images, out)
            log.info(
                "score: %d predictions (%d low-confidence%s) -> %s",
                scored.rows,
                scored.low_confidence,
                _anomalies_text(scored.anomalies),
                out,
            )
            return out
        result = score_images(plan, store, images, engine=engine, hc=session.h2o)
    result.to_parquet(out, index=False)
    anomalies = int(result[ANOMALY_FLAG].sum()) if ANOMALY_FLAG in result else None
    log.info(
        "score: %d predictions (%d low-confidence%s) -> %s",
        len(result),
        int(result["low_confidence"].sum()),
        _anomalies_text(anomalies),
        out,
    )
    return out


def _anomalies_text(anomalies: int | None) -> str:
    return "" if anomalies is None else f", {anomalies} flagged out of distribution"
