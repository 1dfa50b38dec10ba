"""The autoencoders' deep features computed with numpy alone: the chain of encoders
(AE200, AE32, AE768 -> AE128) over a batch of images, exactly as H2O's `deepfeatures`.

Pure numpy and pyarrow over exported `NetworkSpec`s: the scoring engine without H2O
and the features stage (the deep features of the augmented rows, at executor speed
inside `mapInArrow`) both run these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from sparkling_mnist.network.forward import encode
from sparkling_mnist.network.spec import NetworkSpec
from sparkling_mnist.schema import PIXEL_COLUMNS, pixels_from_arrow

PIXELS_INPUT = "pixels"


@dataclass(frozen=True)
class ChainLink:
    """One autoencoder of the chain: its name, what it reads ('pixels' or another
    link's name) and its hidden layer's size."""

    name: str
    input: str
    hidden: int

    def columns(self) -> list[str]:
        """Its feature columns: `AE200_0` ... `AE200_199`."""
        return [f"{self.name}_{i}" for i in range(self.hidden)]


def encode_pixels(
    links: Sequence[ChainLink], specs: Mapping[str, NetworkSpec], pixels: np.ndarray
) -> dict[str, pd.DataFrame]:
    """Every link's hidden layer for (n, 784) pixels; links in dependency order. Pure.

    Returns:
        'pixels' and each link's name -> a DataFrame of its columns.
    """
    # Numpy arrays in each network's own input order (no per-column pandas work).
    blocks: dict[str, tuple[list[str], np.ndarray]] = {
        PIXELS_INPUT: (list(PIXEL_COLUMNS), np.asarray(pixels, dtype=np.float64))
    }
    for link in links:
        spec = specs[link.name]
        names, values = blocks[link.input]
        position = {name: index for index, name in enumerate(names)}
        missing = [name for name in spec.input_columns if name not in position]
        if missing or spec.categorical_inputs:
            raise ValueError(f"autoencoder {link.name}: inputs {missing[:5]} are not among {link.input}'s columns")
        order = [position[name] for name in spec.input_columns]
        blocks[link.name] = (link.columns(), encode(spec, values[:, order], 0))
    return {name: pd.DataFrame(values, columns=names) for name, (names, values) in blocks.items()}


def feature_schema(links: Sequence[ChainLink], used: Sequence[str], kept_pixels: Sequence[str]) -> pa.Schema:
    """The Arrow schema of `feature_batch`'s output."""
    by_name = {link.name: link for link in links}
    fields = [pa.field("id", pa.int64()), pa.field("label", pa.int32())]
    # Grey levels are whole numbers 0..255: int16 carries them exactly at a quarter of
    # float64's bytes (every later Arrow stage ships these 784 columns per row).
    fields += [pa.field(name, pa.int16()) for name in kept_pixels]
    fields += [pa.field(column, pa.float64()) for name in used for column in by_name[name].columns()]
    return pa.schema(fields)


def feature_batch(
    batch: pa.RecordBatch,
    links: Sequence[ChainLink],
    specs: Mapping[str, NetworkSpec],
    used: Sequence[str],
    kept_pixels: Sequence[str],
) -> pa.RecordBatch:
    """One Arrow batch of images (id, label, pixels) -> id, label, the kept pixel
    columns and the used links' features, in `feature_schema` order. Pure."""
    frames = encode_pixels(links, specs, pixels_from_arrow(batch.column("pixels")))
    columns: list[pa.Array] = [batch.column("id").cast(pa.int64()), batch.column("label").cast(pa.int32())]
    columns += [pa.array(frames[PIXELS_INPUT][name].to_numpy().astype(np.int16)) for name in kept_pixels]
    for name in used:
        block = frames[name].to_numpy()
        columns += [pa.array(np.ascontiguousarray(block[:, i])) for i in range(block.shape[1])]
    return pa.RecordBatch.from_arrays(columns, schema=feature_schema(links, used, kept_pixels))
