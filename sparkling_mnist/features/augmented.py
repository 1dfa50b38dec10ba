"""The deep features of every augmented row: the numpy encoders run inside the executors
(`mapInArrow`), written beside the feature table, then checked against H2O's own
`deepfeatures` on a sample (a difference above 1e-6 is an error, never a warning).
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sparkling_mnist.errors import FeatureAgreementError
from sparkling_mnist.features.autoencoders import deep_features
from sparkling_mnist.network.encoder_chain import PIXELS_INPUT, ChainLink, encode_pixels, feature_batch, feature_schema
from sparkling_mnist.network.h2o_reader import read_network
from sparkling_mnist.rundir import RunDir, committed
from sparkling_mnist.schema import PIXEL_COLUMNS, pixels_from_arrow

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

AGREEMENT_TOLERANCE = 1e-6
"""Largest difference allowed between the numpy encoders and H2O's `deepfeatures`."""
AGREEMENT_ROWS = 200
"""Augmented rows (the lowest ids) on which the numpy encoders are checked against H2O."""


def write_augmented_features(
    run: RunDir,
    augmented: DataFrame,
    links: list[ChainLink],
    models: dict[str, Any],
    *,
    used: list[str],
    passthrough: list[str],
) -> dict[str, Any]:
    """The deep features of every augmented row, computed by the numpy encoders inside
    the executors (`mapInArrow`), written to `data/features_augmented` with the feature
    table's column types; then checked against H2O's `deepfeatures` on a sample.

    Returns:
        rows, seconds, rows/s and the agreement check (rows, largest difference per
        autoencoder).

    Raises:
        FeatureAgreementError: naming the autoencoder whose numpy features differ from
            H2O's by more than `AGREEMENT_TOLERANCE`.
    """
    from pyspark.sql.functions import col
    from pyspark.sql.pandas.types import from_arrow_schema

    started = time.monotonic()
    specs = {link.name: read_network(models[link.name]) for link in links}
    schema = feature_schema(links, used, passthrough)

    def encode_partition(batches: Any) -> Any:
        for batch in batches:
            yield feature_batch(batch, links, specs, used, passthrough)

    spark = augmented.sparkSession
    table_schema = spark.read.parquet(str(run.features_split("train"))).schema
    encoded = augmented.select("id", "label", "pixels").mapInArrow(encode_partition, from_arrow_schema(schema))
    encoded = encoded.select([col(field.name).cast(field.dataType) for field in table_schema.fields])
    with committed(run.features_augmented) as tmp:
        encoded.write.parquet(str(tmp))
    seconds = time.monotonic() - started
    rows = spark.read.parquet(str(run.features_augmented)).count()
    log.info("features: %d augmented rows encoded by numpy on the executors in %.1f s", rows, seconds)
    check = check_against_h2o(run, augmented, links, specs=specs, models=models, used=used)
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds, 1) if seconds else None,
        "agreement": check,
    }


def check_against_h2o(
    run: RunDir,
    augmented: DataFrame,
    links: list[ChainLink],
    *,
    specs: dict[str, Any],
    models: dict[str, Any],
    used: list[str],
) -> dict[str, Any]:
    """H2O's `deepfeatures` of the first `AGREEMENT_ROWS` augmented rows against the
    numpy encoders (every autoencoder) and against what was written (the used ones).

    Raises:
        FeatureAgreementError: a difference above `AGREEMENT_TOLERANCE`, naming where.
    """
    import h2o

    sample = augmented.select("id", "pixels").orderBy("id").limit(AGREEMENT_ROWS).toPandas()
    ids = sample["id"].to_numpy(np.int64)
    pixels = pixels_from_arrow(pa.array(sample["pixels"].tolist(), pa.binary()))
    expected = encode_pixels(links, specs, pixels)
    frames: dict[str, Any] = {
        PIXELS_INPUT: h2o.H2OFrame(pd.DataFrame(pixels.astype(np.int64), columns=list(PIXEL_COLUMNS)))
    }
    written = pd.read_parquet(run.features_augmented, filters=[("id", "in", ids.tolist())]).set_index("id").loc[ids]
    differences: dict[str, float] = {}
    for link in links:
        frames[link.name] = deep_features(models[link.name], frames[link.input], link.name, link.hidden)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # h2o: single-threaded conversion of a small frame
            theirs = frames[link.name].as_data_frame(use_multi_thread=False).to_numpy(np.float64)
        differences[link.name] = float(np.max(np.abs(theirs - expected[link.name].to_numpy())))
        if link.name in used:
            stored = written[link.columns()].to_numpy(np.float64)
            differences[f"{link.name} (written)"] = float(np.max(np.abs(theirs - stored)))
    h2o.remove(list(frames.values()))
    worst = max(differences, key=lambda name: differences[name])
    log.info(
        "features: numpy encoders vs H2O deepfeatures on %d rows, largest difference %.2e (%s)",
        len(ids),
        differences[worst],
        worst,
    )
    if differences[worst] > AGREEMENT_TOLERANCE:
        raise FeatureAgreementError(
            f"autoencoder {worst}: numpy deep features differ from H2O's deepfeatures by {differences[worst]:.3e} "
            f"on {len(ids)} augmented rows (tolerance {AGREEMENT_TOLERANCE:g})"
        )
    return {"rows": len(ids), "tolerance": AGREEMENT_TOLERANCE, "max_abs_difference": differences}
