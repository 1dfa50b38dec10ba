"""The `features` section: the autoencoders, their stacking, the feature table."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from sparkling_mnist.config.base import Section, check_names
from sparkling_mnist.config.recipe import (
    AUTOENCODER_PROFILES,
    RECIPE_AUTOENCODERS,
    H2OParamValue,
)
from sparkling_mnist.config.training import AutoencoderSearch, TorchSettings, Trainer, resolve_trainer


class AutoencoderSpec(Section):
    """One autoencoder: a single hidden layer over the pixels or another one's features.

    `hidden: nonconstant` sizes the layer to the number of non-constant input columns
    in the training data (768 in the recipe's data). `params` are
    H2ODeepLearningEstimator parameters by their H2O names; they are merged over the
    section's `defaults`, which are merged over its `profile` (recipe or fast).
    """

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]*$")
    hidden: Annotated[int, Field(gt=0)] | Literal["nonconstant"]
    input: str = "pixels"
    params: dict[str, H2OParamValue] = Field(default_factory=dict)
    trainer: Trainer | None = Field(None, description="default: features.trainer")
    torch: TorchSettings | None = Field(None, description="default: features.torch")
    search: AutoencoderSearch | None = Field(None, description="hyper-parameter search; the best becomes the model")


class FeaturesSettings(Section):
    """Autoencoder features: which autoencoders, stacked how, and which are joined.

    `use` names the autoencoders whose hidden layers form the feature table (default:
    every autoencoder no other one stacks on: AE200 + AE32 + AE128 = 360 columns).
    """

    enabled: bool = True
    profile: Literal["recipe", "fast"] = Field("recipe", description="base parameters of every autoencoder")
    defaults: dict[str, H2OParamValue] = Field(default_factory=dict, description="merged over the profile's")
    autoencoders: list[AutoencoderSpec] = Field(
        default_factory=lambda: [AutoencoderSpec.model_validate(spec) for spec in RECIPE_AUTOENCODERS]
    )
    use: list[str] | None = None
    passthrough: list[str] = Field(default_factory=list, description="pixel columns (px0..px783) kept beside")
    include_augmented: bool = Field(True, description="train the autoencoders on augmented rows too, when present")
    compare: bool = Field(True, description="train the baseline's classifier on the features too")
    trainer: Trainer = Field("h2o", description="who learns the autoencoders' weights: H2O, or torch then H2O")
    torch: TorchSettings = Field(default_factory=TorchSettings)

    @model_validator(mode="after")
    def _graph_is_sound(self) -> FeaturesSettings:
        names = [spec.name for spec in self.autoencoders]
        check_names(names, "autoencoders")
        for index, spec in enumerate(self.autoencoders):
            if spec.input != "pixels" and spec.input not in names:
                raise ValueError(
                    f"autoencoders[{index}] ({spec.name}) stacks on {spec.input!r}, which is neither "
                    f"'pixels' nor an autoencoder ({', '.join(names)})"
                )
        self.ordered()  # raises on a cycle
        for name in self.use or []:
            if name not in names:
                raise ValueError(f"use: {name!r} is not an autoencoder ({', '.join(names)})")
        if self.use == []:
            raise ValueError("use: the feature set has no columns; name at least one autoencoder")
        pixel_names = {f"px{i}" for i in range(784)}
        bad = [name for name in self.passthrough if name not in pixel_names]
        if bad:
            raise ValueError(f"passthrough: {bad} are not pixel columns (px0..px783)")
        return self

    def ordered(self) -> list[AutoencoderSpec]:
        """The specs in dependency order (inputs first), params = profile < defaults < own,
        trainer and torch settings resolved (own, else the section's).

        Raises:
            ValueError: the stacking has a cycle (names it).
        """
        by_name = {spec.name: spec for spec in self.autoencoders}
        done: list[AutoencoderSpec] = []
        visiting: list[str] = []

        def visit(spec: AutoencoderSpec) -> None:
            if spec in done:
                return
            if spec.name in visiting:
                cycle = " -> ".join([*visiting[visiting.index(spec.name) :], spec.name])
                raise ValueError(f"autoencoders: circular stacking {cycle}")
            visiting.append(spec.name)
            if spec.input in by_name:
                visit(by_name[spec.input])
            visiting.pop()
            done.append(spec)

        for spec in self.autoencoders:
            visit(spec)
        base = {**AUTOENCODER_PROFILES[self.profile], **self.defaults}
        resolved = []
        for spec in done:
            trainer, torch = resolve_trainer((spec.trainer, spec.torch), (self.trainer, self.torch))
            update = {"params": {**base, **spec.params}, "trainer": trainer, "torch": torch}
            resolved.append(spec.model_copy(update=update))
        return resolved

    def used(self) -> list[str]:
        """The autoencoders whose hidden layers are joined into the feature table."""
        if self.use is not None:
            return list(self.use)
        stacked_on = {spec.input for spec in self.autoencoders}
        return [spec.name for spec in self.autoencoders if spec.name not in stacked_on]
