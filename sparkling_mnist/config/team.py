"""The `team` section: its members, how they are ranked, kept and combined."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from sparkling_mnist.config.base import Section, check_names
from sparkling_mnist.config.recipe import (
    DEFAULT_MEMBERS,
    H2OParamValue,
)
from sparkling_mnist.config.training import MemberSearch, TorchSettings, Trainer, TrainingRowsSettings, resolve_trainer


class MemberSpec(Section):
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


class TeamSettings(Section):
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
        check_names(names, "members")
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
