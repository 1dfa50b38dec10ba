"""The `ood` section: the out-of-distribution detectors and the set they are judged on."""

from __future__ import annotations

from pydantic import (
    Field,
)

from sparkling_mnist.config.base import Section
from sparkling_mnist.config.recipe import (
    DEFAULT_ISOLATION_FOREST_PARAMS,
    FASHION_MNIST_DIR,
    H2OParamValue,
)


class OodEvaluationSettings(Section):
    """The mixed set the detectors are judged on: the run's test digits plus images that
    are not digits (the test part of Fashion-MNIST, IDX gz, as the `fashion-mnist`
    source reads it). When its files are absent the evaluation is skipped and recorded
    as skipped, never faked."""

    dir: str = Field(FASHION_MNIST_DIR, description="Fashion-MNIST folder (t10k-images-idx3-ubyte.gz is read)")
    items: int = Field(1000, gt=0, description="Fashion-MNIST items mixed with the test digits (the first ones)")


class OodSettings(Section):
    """Out-of-distribution flags: an H2O isolation forest trained on the train split's
    deep features, and the reconstruction error of a pixel autoencoder, each with a
    threshold at `flag_quantile` of the training rows' scores (a score above it is
    flagged); `score` writes both scores and flags per row."""

    enabled: bool = Field(True, description="whether `run` includes the ood stage (needs features)")
    params: dict[str, H2OParamValue] = Field(
        default_factory=lambda: dict(DEFAULT_ISOLATION_FOREST_PARAMS),
        description="any H2OIsolationForestEstimator parameter, by its H2O name (seed: the run's)",
    )
    flag_quantile: float = Field(
        0.99, gt=0.0, lt=1.0, description="the thresholds: this quantile of the training rows' scores"
    )
    autoencoder: str | None = Field(
        None, description="the pixel autoencoder whose reconstruction error `score` writes; None: the first one"
    )
    evaluation: OodEvaluationSettings = Field(default_factory=OodEvaluationSettings)
