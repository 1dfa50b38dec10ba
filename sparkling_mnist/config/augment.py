"""The `augment` section: which effects, how many copies, their settings (the settings classes
themselves are `augment.params`: no kernel loads with a config).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sparkling_mnist.augment.ids import MAX_COPIES, AugmentPlan
from sparkling_mnist.augment.params import (
    EFFECT_SPECS,
    PRESET_EFFECTS,
    AffineParams,
    All2Params,
    AllParams,
    BlotchesParams,
    BoldParams,
    DilateParams,
    EraseParams,
    ErodeDilateParams,
    ErodeParams,
    FlipParams,
    GarmentsParams,
    ImageKind,
    JitterParams,
    RotateParams,
    ScratchesParams,
    ShiftParams,
    TranslateParams,
    WarpParams,
    effect_suits,
    known_effects,
)
from sparkling_mnist.config.base import Section


def _known_effect(name: str) -> str:
    if name not in EFFECT_SPECS:
        raise ValueError(f"unknown effect {name!r}; known effects: {', '.join(known_effects())}")
    return name


EffectName = Annotated[str, AfterValidator(_known_effect)]


class EffectParamsSettings(Section):
    """Per-effect settings, by effect name; each maps onto that effect's frozen dataclass.

    Give only what differs from the recipe's defaults, nested as in the dataclass:
    `rotate: {sigma_degrees: 6, sharpen: {unsharp_amount: 1.5}}`. Unknown fields are
    errors naming the key path; out-of-range values fail with the dataclass's message.
    """

    rotate: RotateParams = Field(default_factory=RotateParams)
    warp: WarpParams = Field(default_factory=WarpParams)
    shift: ShiftParams = Field(default_factory=ShiftParams)
    bold: BoldParams = Field(default_factory=BoldParams)
    dilate: DilateParams = Field(default_factory=DilateParams)
    erode: ErodeParams = Field(default_factory=ErodeParams)
    erodedilate: ErodeDilateParams = Field(default_factory=ErodeDilateParams)
    scratches: ScratchesParams = Field(default_factory=ScratchesParams)
    blotches: BlotchesParams = Field(default_factory=BlotchesParams)
    all: AllParams = Field(default_factory=AllParams)
    all2: All2Params = Field(default_factory=All2Params)
    flip: FlipParams = Field(default_factory=FlipParams)
    translate: TranslateParams = Field(default_factory=TranslateParams)
    affine: AffineParams = Field(default_factory=AffineParams)
    erase: EraseParams = Field(default_factory=EraseParams)
    jitter: JitterParams = Field(default_factory=JitterParams)
    garments: GarmentsParams = Field(default_factory=GarmentsParams)

    def for_effect(self, name: str) -> object:
        """The settings dataclass of effect `name` (an instance of `effect_params_type(name)`)."""
        params: object = getattr(self, name)
        return params


class AugmentSettings(Section):
    """Augmentation of the train split on the executors (never valid or test).

    Every effect in `effects` makes `copies` augmented rows of every training image,
    so the stage writes `rows_in * len(effects) * copies` rows. Copy `k` of effect `e`
    of source image `s` depends only on (run.seed, s, k, e).

    `preset` says what the images show: `digits` or `garments` (Fashion-MNIST). Without
    `effects` it picks that kind's effects (digits: the recipe's eleven; garments:
    `garments`), and it rejects effects that do not suit that kind (a stroke effect on
    garments, a mirror image of a digit). No preset: any effects, the digits' by default.
    """

    enabled: bool = Field(False, description="whether `run` includes the augment stage")
    preset: ImageKind | None = Field(
        None, description="digits or garments: the default effects, and only effects that suit them"
    )
    effects: list[EffectName] = Field(
        default_factory=lambda: list(PRESET_EFFECTS["digits"]),
        min_length=1,
        description="effect names, each applied to every image; default: the preset's (digits without one)",
    )
    copies: int = Field(1, ge=1, le=MAX_COPIES, description="copies per source image per effect")
    params: EffectParamsSettings = Field(default_factory=EffectParamsSettings)
    rows_per_batch: int = Field(8192, gt=0, description="rows per Arrow batch handed to the effects")
    partitions: int | None = Field(
        None, gt=0, description="tasks the train split is dealt over evenly; default: one per core"
    )

    def output_settings(self) -> dict[str, Any]:
        """The settings the augmented rows depend on, as JSON-ready data (for fingerprints).

        Leaves out `enabled`, `rows_per_batch` and `partitions`: they change whether and
        how the rows are computed, never their bytes, so tuning them reruns nothing; and
        `preset`, which only chooses and checks `effects`.
        """
        return self.model_dump(mode="json", exclude={"enabled", "preset", "rows_per_batch", "partitions"})

    def plan(self, run_seed: int) -> AugmentPlan:
        """The augment stage's plan: these effects, copies and parameters, with the run seed."""
        return AugmentPlan(
            effects=tuple(self.effects),
            copies=self.copies,
            run_seed=run_seed,
            params={name: self.params.for_effect(name) for name in self.effects},
        )

    @field_validator("effects")
    @classmethod
    def _no_repeats(cls, effects: list[str]) -> list[str]:
        repeated = sorted({name for name in effects if effects.count(name) > 1})
        if repeated:
            raise ValueError(f"each effect may appear once (repeated: {', '.join(repeated)}); raise `copies` instead")
        return effects

    @model_validator(mode="before")
    @classmethod
    def _preset_effects(cls, data: Any) -> Any:
        """No `effects` given: the preset's (a bad preset is reported by its own field)."""
        if isinstance(data, dict) and "effects" not in data and data.get("preset") in PRESET_EFFECTS:
            return {**data, "effects": list(PRESET_EFFECTS[data["preset"]])}
        return data

    @field_validator("effects")
    @classmethod
    def _suit_the_preset(cls, effects: list[str], info: ValidationInfo) -> list[str]:
        preset: ImageKind | None = info.data.get("preset")
        if preset is None:
            return effects
        unsuited = [name for name in effects if not effect_suits(name, preset)]
        if unsuited:
            suited = [name for name in known_effects() if effect_suits(name, preset)]
            raise ValueError(
                f"{', '.join(repr(name) for name in unsuited)} {'does' if len(unsuited) == 1 else 'do'} not suit "
                f"preset {preset!r} (effects for {preset}: {', '.join(suited)}); remove "
                f"{'it' if len(unsuited) == 1 else 'them'} or change augment.preset"
            )
        return effects
