"""How models train: the trainer (`h2o` or `torch` and its settings), the rows a model trains
on, hyper-parameter searches, and the `baseline` section.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    model_validator,
)

from sparkling_mnist.augment.selection import RowSelection, subset_seed
from sparkling_mnist.config.augment import EffectName
from sparkling_mnist.config.base import Section
from sparkling_mnist.config.recipe import (
    DEFAULT_BASELINE_PARAMS,
    H2OParamValue,
)


class TrainingRowsSettings(Section):
    """Which rows a supervised model trains on (valid and test are never augmented).

    `originals`: the train split's own rows; `augmented`: the augment stage's rows,
    narrowed to `effects` (empty: all) and to a seeded `fraction`. The fraction's seed
    defaults to one derived from the run seed and the model's name, so members of one
    team train on different subsets unless they share a `seed`.
    """

    originals: bool = Field(True, description="the train split's own rows")
    augmented: bool = Field(False, description="the augment stage's rows (needs augment.enabled)")
    effects: list[EffectName] = Field(default_factory=list, description="only these effects' rows; empty: all")
    fraction: float = Field(1.0, gt=0.0, le=1.0, description="seeded share of the augmented rows kept")
    seed: int | None = Field(None, ge=0, description="seed of the fraction; default: from run.seed and the model")

    @model_validator(mode="after")
    def _some_rows(self) -> TrainingRowsSettings:
        if not (self.originals or self.augmented):
            raise ValueError("originals and augmented are both false: a model needs some training rows")
        return self

    def selection(self, run_seed: int, model: str) -> RowSelection:
        """The resolved selection for `model` (its default subset seed filled in)."""
        return RowSelection(
            originals=self.originals,
            augmented=self.augmented,
            effects=tuple(self.effects),
            fraction=self.fraction,
            seed=self.seed if self.seed is not None else subset_seed(run_seed, model),
        )


Trainer = Literal["h2o", "torch"]


class TorchSettings(Section):
    """How `trainer: torch` learns a deep-learning network's weights before H2O takes it
    over (`sparkling_mnist.torch_trainer`): minibatches in PyTorch, the same layers,
    activation, dropout, l1/l2 and input scaling as the H2O parameters say; the weights
    are then loaded into an ordinary H2O model (`initial_weights`), checked against
    torch, and optionally trained on by H2O for `h2o_epochs`.
    """

    batch_size: int = Field(128, gt=0, description="rows per step and process")
    optimizer: Literal["adam", "sgd"] = "adam"
    learning_rate: float = Field(1e-3, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1, description="sgd only")
    schedule: Literal["constant", "cosine", "onecycle"] = Field(
        "constant",
        description="learning rate over the steps: constant, cosine decay to 0, or one-cycle (warm up to the rate, "
        "then anneal)",
    )
    weight_decay: float = Field(
        0.0, ge=0, description="decoupled weight decay per step (AdamW; sgd: added to the gradient); 0: none"
    )
    label_smoothing: float = Field(
        0.0, ge=0, lt=1, description="classifiers: cross-entropy against labels smoothed by this much (0: none)"
    )
    h2o_epochs: float = Field(0.0, ge=0, description="H2O's own epochs after loading the weights (0: none)")
    processes: int | None = Field(
        None, gt=0, description="training processes; default: 1 (the driver) in local mode, one per executor else"
    )
    threads: int | None = Field(None, gt=0, description="torch threads per process; default: the cores it has")


def resolve_trainer(
    own: tuple[Trainer | None, TorchSettings | None], default: tuple[Trainer, TorchSettings]
) -> tuple[Trainer, TorchSettings]:
    """A model's trainer and torch settings: its own where given, else the section's."""
    return own[0] or default[0], own[1] or default[1]


class BaselineSettings(Section):
    """The raw-pixel H2O deep-learning classifier, parameters by their H2O names.

    `rows` are its training rows; the feature classifier (the same classifier on the
    autoencoder features) trains on the same rows, so the comparison stays fair.
    """

    enabled: bool = True
    params: dict[str, H2OParamValue] = Field(default_factory=lambda: dict(DEFAULT_BASELINE_PARAMS))
    rows: TrainingRowsSettings = Field(default_factory=TrainingRowsSettings)
    trainer: Trainer = Field("h2o", description="who learns the weights: H2O itself, or torch then H2O")
    torch: TorchSettings = Field(default_factory=TorchSettings)


def _distinct_values(values: list[H2OParamValue]) -> list[H2OParamValue]:
    texts = [json.dumps(value, sort_keys=True) for value in values]
    repeated = sorted({text for text in texts if texts.count(text) > 1})
    if repeated:
        raise ValueError(f"each value may appear once (repeated: {', '.join(repeated)})")
    return values


SearchValues = Annotated[list[H2OParamValue], Field(min_length=1), AfterValidator(_distinct_values)]


class SearchSettings(Section):
    """A hyper-parameter search over one model (H2O's grid search: `H2OGridSearch`'s
    `hyper_params` and `search_criteria`, by their H2O names).

    `cartesian` tries every combination of `hyper_params` (H2O's `Cartesian`); `random`
    draws combinations without replacement with `seed` (H2O's `RandomDiscrete`). Both stop
    after `max_models` models, and launch no new model once `max_runtime_secs` have passed
    (0: no limit, as in H2O). Every model is scored on the validation split by `sort_by`
    (lower is better) and the best becomes the model; the others stay saved beside it.
    """

    strategy: Literal["cartesian", "random"] = Field("cartesian", description="H2O: Cartesian or RandomDiscrete")
    hyper_params: dict[str, SearchValues] = Field(
        min_length=1, description="H2O parameter name -> the values to try (each over params)"
    )
    max_models: int = Field(0, ge=0, description="models built at most; 0: no limit")
    max_runtime_secs: float = Field(0.0, ge=0, description="launch no new model after this; 0: no limit")
    seed: int | None = Field(None, description="the random strategy's draws; default: run.seed")
    sort_by: str | None = None


class MemberSearch(SearchSettings):
    """A team member's search, ranked on the validation split's logloss or error."""

    sort_by: Literal["logloss", "error"] | None = Field(None, description="default: team.rank_by")


class AutoencoderSearch(SearchSettings):
    """An autoencoder's search, ranked on the validation split's reconstruction MSE."""

    sort_by: Literal["mse"] = "mse"
