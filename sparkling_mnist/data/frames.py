"""The run's H2O frames, converted from its Parquet once per session.

The baseline, the autoencoders, the feature classifier and the team all read the
same splits; converting 784 pixel columns through Sparkling Water is the slow part,
so every stage of one session shares the frames made here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from sparkling_mnist.augment.selection import RowSelection, select_batches
from sparkling_mnist.data.h2o_frames import images_to_h2o
from sparkling_mnist.rundir import RunDir

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

InputKind = Literal["pixels", "features"]

log = logging.getLogger(__name__)


def features_to_h2o(hc: Any, table: DataFrame, name: str) -> Any:
    """Rows of the feature table as an H2OFrame with a categorical label."""
    frame = hc.asH2OFrame(table, h2oFrameName=name)
    frame["label"] = frame["label"].asfactor()
    return frame


def select_augmented(frame: DataFrame, selection: RowSelection) -> DataFrame:
    """The rows of an augmented table (images or features) the selection keeps, chosen
    on the executors by each row's id (`augment.selection.select_batch`)."""

    def select(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return select_batches(batches, selection)

    return frame.mapInArrow(select, frame.schema)


@dataclass(frozen=True)
class TrainingFrames:
    """What one model trains on, and the parts its training error is reported on.

    Attributes:
        originals: the train split's own rows (reported as `train` even when not fitted on).
        augmented: the selected augmented rows, when the selection has them.
        selection: which rows.
        combine: builds (once per session, cached by `RunFrames`) the originals and the
            augmented rows in one frame; only called when `fit` is asked for, so a
            model that does not need one frame of every row (torch) never copies them.
    """

    originals: Any
    augmented: Any | None
    selection: RowSelection
    combine: Callable[[], Any] | None = None

    @property
    def fit(self) -> Any:
        """The training frame (originals, augmented rows or both)."""
        if self.augmented is None:
            return self.originals
        if not self.selection.originals:
            return self.augmented
        assert self.combine is not None  # RunFrames.training gives one whenever both are used
        return self.combine()

    @property
    def first(self) -> Any:
        """The first part of the rows: the originals when selected, else the augmented rows
        (`RunFrames.training_data` lists its Parquet parts in the same order)."""
        if self.selection.originals or self.augmented is None:
            return self.originals
        return self.augmented

    def rows(self) -> dict[str, Any]:
        """Row counts of the training rows by origin (they add up to `total`)."""
        originals = self.originals.nrows if self.selection.originals else 0
        augmented = self.augmented.nrows if self.augmented is not None else 0
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

    def pixels(self, split: str) -> Any:
        """`id`, categorical `label` and px0..px783 of one split."""
        if split not in self._pixels:
            images = self._spark.read.parquet(str(self._run.split(split)))
            self._pixels[split] = images_to_h2o(self._hc, images, f"images_{split}")
        return self._pixels[split]

    def features(self, split: str) -> Any:
        """The feature table of one split (id, label, passthrough, features)."""
        if split not in self._features:
            table = self._spark.read.parquet(str(self._run.features_split(split)))
            self._features[split] = features_to_h2o(self._hc, table, f"features_table_{split}")
        return self._features[split]

    def split(self, kind: InputKind, split: str) -> Any:
        """One split of the pixels or of the feature table."""
        return self.pixels(split) if kind == "pixels" else self.features(split)

    def _augmented(self, kind: InputKind, selection: RowSelection) -> Any:
        key = (kind, selection.augmented_key)
        if key not in self._training:
            path: Path = self._run.augmented if kind == "pixels" else self._run.features_augmented
            if not path.is_dir():
                raise FileNotFoundError(
                    f"{path}: no augmented {kind} in this run; run the augment stage (and features) first"
                )
            chosen = select_augmented(self._spark.read.parquet(str(path)), selection)
            name = f"augmented_{kind}_{selection.augmented_key}"
            if kind == "pixels":
                self._training[key] = images_to_h2o(self._hc, chosen, name)
            else:
                self._training[key] = features_to_h2o(self._hc, chosen, name)
        return self._training[key]

    def training(self, kind: InputKind, selection: RowSelection) -> TrainingFrames:
        """The training frames of a row selection over the pixels or the feature table;
        converted once per session and selection (the combined frame only when used)."""
        originals = self.split(kind, "train")
        if not selection.augmented:
            return TrainingFrames(originals, None, selection)
        augmented = self._augmented(kind, selection)

        def combine() -> Any:
            key = (kind, selection.key)
            if key not in self._training:
                self._training[key] = originals.rbind(augmented[originals.columns])
                log.info(
                    "training rows (%s): %d originals + %d augmented (%s)",
                    kind,
                    originals.nrows,
                    augmented.nrows,
                    selection.describe(),
                )
            return self._training[key]

        return TrainingFrames(originals, augmented, selection, combine)

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
