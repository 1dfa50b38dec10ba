"""The rows a torch-trained network learns from, read from the run's Parquet: pure
numpy and pyarrow, the same in the driver and in every TorchDistributor process.

A `TrainingData` names Parquet tables (the train split, the augmented rows with a row
selection), which columns are the inputs (the packed `pixels` column or named feature
columns), and for a stacked autoencoder the encoders that turn pixels into its input.
Each process reads its own share of the files (`files_for_rank`), so no process holds
more than its part.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds

from sparkling_mnist.augment.selection import RowSelection, augmented_mask
from sparkling_mnist.data.frames import InputKind
from sparkling_mnist.network.encoder_chain import PIXELS_INPUT, ChainLink, encode_pixels
from sparkling_mnist.network.spec import NetworkSpec
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.schema import PIXEL_COLUMNS, pixels_from_arrow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParquetPart:
    """One Parquet table of training rows; `selection` keeps the augmented rows it
    chooses (by id), None keeps every row."""

    path: str
    selection: RowSelection | None = None


@dataclass(frozen=True)
class TrainingData:
    """Where a network's rows come from and what its inputs are.

    Attributes:
        parts: the tables, read in this order.
        columns: the input columns by name; empty: the 784 pixels of the `pixels` column.
        chain: for a stacked autoencoder, the encoders (dependency order) from pixels
            to its input, `input` naming the one it reads.
        specs: the encoders' networks.
        input: the chain link whose hidden layer is the input ('pixels' without a chain).
        classes: the label's classes in H2O's order (classifiers); empty for autoencoders.
    """

    parts: tuple[ParquetPart, ...]
    columns: tuple[str, ...] = ()
    chain: tuple[ChainLink, ...] = ()
    specs: Mapping[str, NetworkSpec] = field(default_factory=dict)
    input: str = PIXELS_INPUT
    classes: tuple[str, ...] = ()

    def files(self) -> list[tuple[str, RowSelection | None]]:
        """Every Parquet file of every part with its selection, in a fixed order."""
        found: list[tuple[str, RowSelection | None]] = []
        for part in self.parts:
            root = Path(part.path)
            paths = sorted(str(path) for path in root.rglob("*.parquet")) if root.is_dir() else [str(root)]
            if not paths:
                raise FileNotFoundError(f"{part.path}: no Parquet files")
            found.extend((path, part.selection) for path in paths)
        return found


def files_for_rank(files: Sequence[tuple[str, RowSelection | None]], rank: int, world: int) -> list[int]:
    """Indices of the files process `rank` of `world` reads: round robin. Pure."""
    return list(range(rank, len(files), world))


def load_rows(data: TrainingData, rank: int = 0, world: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The inputs (rows x input columns: uint8 pixels, else float32) and label indices
    (int64; -1 for an autoencoder's rows) of this process's share of the rows.

    Raises:
        ValueError: a label outside `classes`, naming the file and the label.
    """
    files = data.files()
    inputs: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for index in files_for_rank(files, rank, world):
        path, selection = files[index]
        table = ds.dataset(path, format="parquet").to_table(columns=_needed_columns(data))
        if selection is not None:
            keep = augmented_mask(table.column("id").to_numpy().astype(np.int64), selection)
            table = table.filter(pa.array(keep))
        inputs.append(_inputs_of(data, table))
        labels.append(_labels_of(data, table, path))
    width = len(data.columns) if data.columns else _input_width(data)
    dtype = np.uint8 if not data.columns and data.input == PIXELS_INPUT else np.float32
    x = np.concatenate(inputs) if inputs else np.empty((0, width), dtype=dtype)
    y = np.concatenate(labels) if labels else np.empty(0, dtype=np.int64)
    return x, y


def _needed_columns(data: TrainingData) -> list[str]:
    names = ["id", "label"]
    return names + (list(data.columns) if data.columns else ["pixels"])


def _input_width(data: TrainingData) -> int:
    for link in data.chain:
        if link.name == data.input:
            return link.hidden
    return 784


def _inputs_of(data: TrainingData, table: pa.Table) -> np.ndarray:
    if data.columns:
        return np.column_stack([table.column(name).to_numpy().astype(np.float32) for name in data.columns])
    pixels = pixels_from_arrow(table.column("pixels"))
    if data.input == PIXELS_INPUT:
        return pixels
    encoded = encode_pixels(list(data.chain), data.specs, pixels)
    return encoded[data.input].to_numpy(np.float32)


def _labels_of(data: TrainingData, table: pa.Table, path: str) -> np.ndarray:
    labels = table.column("label").to_numpy()
    if not data.classes:
        return np.full(len(labels), -1, dtype=np.int64)
    index = {label: position for position, label in enumerate(data.classes)}
    unknown = sorted({str(label) for label in labels} - set(index))
    if unknown:
        raise ValueError(f"{path}: labels {unknown[:5]} are not among the model's classes {list(data.classes)}")
    values, inverse = np.unique(labels, return_inverse=True)
    return np.array([index[str(value)] for value in values], dtype=np.int64)[inverse]


def run_rows(
    run: RunDir, kind: InputKind, selection: RowSelection, columns: list[str], classes: list[str]
) -> tuple[TrainingData, TrainingData]:
    """A classifier's training rows (the same as `RunFrames.training(kind, selection)`)
    and the validation split, as the torch trainer reads them: straight from the run's
    Parquet.

    Args:
        run: the run directory.
        kind: the pixels or the feature table.
        selection: which training rows.
        columns: the input columns (the pixels are read from their packed column).
        classes: the label's classes in H2O's order.

    Returns:
        (training rows, validation rows); the training parts are listed originals
        first, as `TrainingFrames.first`.
    """
    if kind == "pixels" and list(columns) != list(PIXEL_COLUMNS):
        raise ValueError(f"pixel rows have the columns px0..px783, not {columns[:3]}...")
    augmented = run.augmented if kind == "pixels" else run.features_augmented

    def path(split: str) -> str:
        return str(run.split(split) if kind == "pixels" else run.features_split(split))

    parts = []
    if selection.originals:
        parts.append(ParquetPart(path("train")))
    if selection.augmented:
        parts.append(ParquetPart(str(augmented), selection))
    names = () if kind == "pixels" else tuple(columns)

    def data(chosen: list[ParquetPart]) -> TrainingData:
        return TrainingData(parts=tuple(chosen), columns=names, classes=tuple(classes))

    return data(parts), data([ParquetPart(path("valid"))])
