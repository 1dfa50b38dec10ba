"""The run's H2O frames, converted from its Parquet once per session.

The baseline, the autoencoders, the feature classifier and the team all read the
same splits; converting 784 pixel columns through Sparkling Water is the slow part,
so every stage of one session shares the frames made here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from sparkling_mnist.augment.selection import RowSelection, select_batches
from sparkling_mnist.data.h2o_frames import images_to_h2o, log_conversion
from sparkling_mnist.rundir import RunDir

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

InputKind = Literal["pixels", "features"]

log = logging.getLogger(__name__)


def features_to_h2o(hc: Any, table: DataFrame, name: str) -> Any:
    """Rows of the feature table as an H2OFrame with a categorical label."""
    started = time.monotonic()
    frame = hc.asH2OFrame(table, h2oFrameName=name)
    frame["label"] = frame["label"].asfactor()
    log_conversion(name, frame, time.monotonic() - started)
    return frame


def select_augmented(frame: DataFrame, selection: RowSelection) -> DataFrame:
    """The rows of an augmented table (images or features) the selection keeps, chosen
    on the executors by each row's id (`augment.selection.select_batch`)."""

    def select(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return select_batches(batches, selection)

    return frame.mapInArrow(select, frame.schema)


@dataclass
class TrainingFrames:
    """What one model trains on, and the parts its training error is reported on.

    The augmented rows stay Spark rows until H2O needs them: `augmented` converts them
    (once per session and selection, cached by `RunFrames`) for a model H2O trains or
    scores on them; a network evaluated by its numpy forward pass reads `augmented_rows`
    on the executors instead, so nothing is copied into H2O only to report an error.

    Attributes:
        originals: the train split's own rows, an H2OFrame (reported as `train` even
            when not fitted on).
        selection: which rows.
        augmented_rows: the selected augmented rows as Spark rows (None: the selection
            has none).
        convert: their H2OFrame, converted on first call.
        combine: builds the originals and the augmented rows in one frame; only called
            when `fit` is asked for, so a model that does not need one frame of every
            row (torch) never copies them.
    """

    originals: Any
    selection: RowSelection
    augmented_rows: DataFrame | None = None
    convert: Callable[[], Any] | None = None
    combine: Callable[[], Any] | None = None
    _augmented_count: int | None = field(default=None, repr=False)

    @property
    def has_augmented(self) -> bool:
        """Whether the selection has augmented rows."""
        return self.augmented_rows is not None

    @property
    def augmented(self) -> Any:
        """The augmented rows as an H2OFrame (converted now if they were not); None without any."""
        if self.convert is None:
            return None
        return self.convert()

    @property
    def fit(self) -> Any:
        """The training frame (originals, augmented rows or both)."""
        if not self.has_augmented:
            return self.originals
        if not self.selection.originals:
            return self.augmented
        assert self.combine is not None  # RunFrames.training gives one whenever both are used
        return self.combine()

    @property
    def first(self) -> Any:
        """The first part of the rows: the originals when selected, else the augmented rows
        (`RunFrames.training_data` lists its Parquet parts in the same order)."""
        if self.selection.originals or not self.has_augmented:
            return self.originals
        return self.augmented

    def augmented_count(self) -> int:
        """How many augmented rows the selection keeps (counted by Spark, once)."""
        if self.augmented_rows is None:
            return 0
        if self._augmented_count is None:
            self._augmented_count = int(self.augmented_rows.count())
        return self._augmented_count

    def rows(self) -> dict[str, Any]:
        """Row counts of the training rows by origin (they add up to `total`)."""
        originals = self.originals.nrows if self.selection.originals else 0
        augmented = self.augmented_count()
        return {
            "originals": originals,
            "augmented": augmented,
            "total": originals + augmented,
            "selection": self.selection.describe(),
        }


class RunFrames:
    """Lazily converted H2OFrames of one run: pixels and feature table, per split."""

    def __init__(self, spark: SparkSession, hc: Any, run: RunDir) -> None:
        self._spark = spark
        self._hc = hc
        self._run = run
        self._pixels: dict[str, Any] = {}
        self._features: dict[str, Any] = {}
        self._training: dict[tuple[str, str], Any] = {}
        self._converted: dict[str, int] = {}

    def pixels(self, split: str) -> Any:
        """`id`, categorical `label` and px0..px783 of one split."""
        if split not in self._pixels:
            images = self._spark.read.parquet(str(self._run.split(split)))
            self._pixels[split] = self._record(f"images_{split}", images_to_h2o(self._hc, images, f"images_{split}"))
        return self._pixels[split]

    def features(self, split: str) -> Any:
        """The feature table of one split (id, label, passthrough, features)."""
        if split not in self._features:
            table = self._spark.read.parquet(str(self._run.features_split(split)))
            name = f"features_table_{split}"
            self._features[split] = self._record(name, features_to_h2o(self._hc, table, name))
        return self._features[split]

    def split(self, kind: InputKind, split: str) -> Any:
        """One split of the pixels or of the feature table."""
        return self.pixels(split) if kind == "pixels" else self.features(split)

    def _augmented_rows(self, kind: InputKind, selection: RowSelection) -> DataFrame:
        """The selected augmented rows (images or features) as Spark rows."""
        path: Path = self._run.augmented if kind == "pixels" else self._run.features_augmented
        if not path.is_dir():
            raise FileNotFoundError(
                f"{path}: no augmented {kind} in this run; run the augment stage (and features) first"
            )
        return select_augmented(self._spark.read.parquet(str(path)), selection)

    def _augmented(self, kind: InputKind, selection: RowSelection, rows: DataFrame) -> Any:
        key = (kind, selection.augmented_key)
        if key not in self._training:
            name = f"augmented_{kind}_{selection.augmented_key}"
            convert = images_to_h2o if kind == "pixels" else features_to_h2o
            self._training[key] = self._record(name, convert(self._hc, rows, name))
        return self._training[key]

    def training(self, kind: InputKind, selection: RowSelection) -> TrainingFrames:
        """The training frames of a row selection over the pixels or the feature table;
        the augmented rows converted into H2O only when a model asks for them (once per
        session and selection), the combined frame only when used."""
        originals = self.split(kind, "train")
        if not selection.augmented:
            return TrainingFrames(originals, selection)
        rows = self._augmented_rows(kind, selection)

        def convert() -> Any:
            return self._augmented(kind, selection, rows)

        def combine() -> Any:
            key = (kind, selection.key)
            if key not in self._training:
                augmented = convert()
                self._training[key] = originals.rbind(augmented[originals.columns])
                log.info(
                    "training rows (%s): %d originals + %d augmented (%s)",
                    kind,
                    originals.nrows,
                    augmented.nrows,
                    selection.describe(),
                )
            return self._training[key]

        return TrainingFrames(originals, selection, rows, convert, combine)

    def _record(self, name: str, frame: Any) -> Any:
        """Count a frame converted from Spark rows into H2O (see `converted`)."""
        self._converted[name] = int(frame.nrows)
        return frame

    @property
    def converted(self) -> dict[str, int]:
        """Every frame this session converted from Spark rows into H2O, and its rows (a
        copy: compare two of them to see what a stage converted)."""
        return dict(self._converted)

    @property
    def spark(self) -> SparkSession:
        """The session the frames come from."""
        return self._spark

    @property
    def hc(self) -> Any:
        """The H2OContext the frames live in."""
        return self._hc

    @property
    def run(self) -> RunDir:
        """The run directory whose Parquet the frames are converted from."""
        return self._run

    def forget_features(self) -> None:
        """Drop the feature frames (the features stage is rewriting the table)."""
        import h2o

        stale = list(self._features.values())
        stale += [frame for (kind, _), frame in self._training.items() if kind == "features"]
        if stale:
            h2o.remove(stale)
        self._features.clear()
        self._training = {key: frame for key, frame in self._training.items() if key[0] != "features"}
