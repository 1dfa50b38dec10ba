"""The fingerprint of each stage: a hash of its own settings and of the fingerprints of
the stages it reads, so a rerun with the same config skips what is finished and a change
reruns exactly the stages it reaches. Pure (input files are read for size and mtime only).

Nothing here depends on where the run directory lives: a finished run moved to another
disk or copied to shared storage skips every stage, as it would where it was made.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence

from sparkling_mnist.config import JobConfig
from sparkling_mnist.data.sources import source_files
from sparkling_mnist.features.stage import autoencoder_fingerprints
from sparkling_mnist.ood.evaluation import others_files


def _files_signature(paths: Sequence[str]) -> str:
    """Size and modification time of every input file (cheap and enough to see a change)."""
    parts = []
    for path in paths:
        try:
            stat = os.stat(path)
            parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
        except OSError:
            parts.append(f"{path}:missing")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def stage_fingerprints(cfg: JobConfig) -> dict[str, str]:
    """The fingerprint of each stage: its own settings plus those of the stages it reads."""
    # The run's seed, not its directory: a run dir moved or copied elsewhere is the same run.
    ingest = (
        cfg.fingerprint("source", "split", "ingest")
        + f"seed={cfg.run.seed}"
        + _files_signature(source_files(cfg.source))
    )
    ingest = hashlib.sha256(ingest.encode()).hexdigest()[:16]
    # The augmented rows depend on the train split, the augment settings and the run seed.
    augment_settings = json.dumps(cfg.augment.output_settings(), sort_keys=True)
    augment = hashlib.sha256(f"{ingest}|{augment_settings}|{cfg.run.seed}".encode()).hexdigest()[:16]
    # Stages that read augmented rows depend on them; the others must not rerun when
    # only the augmentation changes.
    augmented = augment if cfg.augment.enabled else "none"
    baseline_data = augment if cfg.baseline.rows.augmented else ingest
    baseline = hashlib.sha256((baseline_data + cfg.fingerprint("baseline")).encode()).hexdigest()[:16]
    data = features_data_fingerprint(cfg, ingest, augment)
    features = hashlib.sha256(
        json.dumps(
            {
                "autoencoders": autoencoder_fingerprints(cfg.features, data),
                "used": cfg.features.used(),
                "passthrough": cfg.features.passthrough,
                "augmented_rows": augmented,
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()[:16]
    features_classifier = hashlib.sha256((features + cfg.fingerprint("baseline")).encode()).hexdigest()[:16]
    team = hashlib.sha256(
        f"{features}|{ingest}|{augmented}|{cfg.fingerprint('team')}|{cfg.run.seed}".encode()
    ).hexdigest()[:16]
    # The mixed set's Fashion-MNIST files count: their arrival turns a skipped evaluation into one.
    ood = hashlib.sha256(
        f"{features}|{ingest}|{cfg.fingerprint('ood')}|{cfg.run.seed}|"
        f"{_files_signature(others_files(cfg.ood.evaluation))}".encode()
    ).hexdigest()[:16]
    store = hashlib.sha256(
        "|".join([baseline, features, features_classifier, team, ood, str(cfg.store.uri), cfg.store_run_id()]).encode()
    ).hexdigest()[:16]
    return {
        "store": store,
        "ingest": ingest,
        "augment": augment,
        "baseline": baseline,
        "features": features,
        "features_data": data,
        "features_classifier": features_classifier,
        "team": team,
        "ood": ood,
    }


def uses_augmented_rows(cfg: JobConfig) -> bool:
    """Whether the autoencoders train on the augmented rows too."""
    return cfg.augment.enabled and cfg.features.include_augmented


def features_data_fingerprint(cfg: JobConfig, ingest: str, augment: str) -> str:
    """The autoencoders' training data: the train split, plus augmented rows when used."""
    return augment if uses_augmented_rows(cfg) else ingest
