"""Autoencoders trained by torch (`trainer: torch`): their rows read straight from the
run's Parquet (through the encoders they stack on), the weights learned in torch and
loaded into an H2O model, and the per-epoch history in H2O's score-history columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from sparkling_mnist.config import AutoencoderSpec
from sparkling_mnist.features.autoencoders import HISTORY_COLUMNS
from sparkling_mnist.network.encoder_chain import PIXELS_INPUT, ChainLink
from sparkling_mnist.network.h2o_reader import read_network
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.torch_trainer import ParquetPart, TrainingData

if TYPE_CHECKING:
    pass


def autoencoder_data(
    run: RunDir, spec: AutoencoderSpec, links: list[ChainLink], models: dict[str, Any], *, extra_rows: bool
) -> tuple[TrainingData, TrainingData]:
    """The torch trainer's rows of one autoencoder: the train split's pixels (plus the
    augmented rows when the autoencoders train on them), through the finished encoders
    it stacks on; the validation split likewise."""
    chain: list[ChainLink] = []
    name = spec.input
    while name != PIXELS_INPUT:
        link = next(link for link in links if link.name == name)
        chain.insert(0, link)
        name = link.input
    specs = {link.name: read_network(models[link.name]) for link in chain}
    parts = [ParquetPart(str(run.split("train")))]
    if extra_rows:
        parts.append(ParquetPart(str(run.augmented)))

    def data(parts: list[ParquetPart]) -> TrainingData:
        return TrainingData(parts=tuple(parts), chain=tuple(chain), specs=specs, input=spec.input)

    return data(parts), data([ParquetPart(str(run.split("valid")))])


def trainer_history(record: dict[str, Any]) -> pd.DataFrame:
    """A torch-trained autoencoder's per-epoch history in the columns of `score_history`."""
    history = pd.DataFrame(record["history"])
    for column in HISTORY_COLUMNS:
        if column not in history:
            history[column] = float("nan")
    return history[list(HISTORY_COLUMNS)]
