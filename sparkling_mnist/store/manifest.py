"""The manifest of a stored run: every model's file, size, checksum, algorithm,
parameters, metrics and status, the lineage between models, and whether the run is
complete. Pure (dicts in, dicts out); the store reads and writes it.

A run whose `manifest.json` is missing was interrupted before it finished saving.
A manifest lists only files that were written and read back; a model that failed to
save is listed with `status: failed` and the reason, never with a checksum.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sparkling_mnist.schema import FOREST

MANIFEST_FORMAT = 1
SAVED = "saved"
FAILED = "failed"


@dataclass
class ModelEntry:
    """One model of a run, as the manifest records it."""

    model_id: str
    status: str
    file: str | None = None
    size: int | None = None
    sha256: str | None = None
    algorithm: str | None = None
    role: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """JSON-ready, without empty optional fields."""
        data = {
            "model_id": self.model_id,
            "status": self.status,
            "file": self.file,
            "size": self.size,
            "sha256": self.sha256,
            "algorithm": self.algorithm,
            "role": self.role,
            "params": self.params,
            "metrics": self.metrics,
            "error": self.error,
            "artifacts": self.artifacts,
        }
        return {key: value for key, value in data.items() if value not in (None, {})}


def build_manifest(
    run_id: str,
    entries: Mapping[str, ModelEntry],
    *,
    lineage: Mapping[str, Any],
    versions: Mapping[str, str],
) -> dict[str, Any]:
    """The manifest of a run; `complete` is true only when every model was saved."""
    failed = sorted(model_id for model_id, entry in entries.items() if entry.status != SAVED)
    return {
        "format": MANIFEST_FORMAT,
        "run_id": run_id,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "complete": not failed,
        "failed": failed,
        "versions": dict(versions),
        "models": {model_id: entries[model_id].as_json() for model_id in sorted(entries)},
        "lineage": dict(lineage),
    }


def check_manifest(manifest: Mapping[str, Any], where: str) -> None:
    """Raise ValueError naming `where` when the manifest is not one this version reads."""
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{where}: manifest format {manifest.get('format')!r}, expected {MANIFEST_FORMAT}")
    for key in ("run_id", "models", "lineage", "complete"):
        if key not in manifest:
            raise ValueError(f"{where}: manifest has no {key!r}")
    for model_id, entry in manifest["models"].items():
        files = [entry, *entry.get("artifacts", {}).values()]
        if entry.get("status") == SAVED and not all(
            item.get("file") and item.get("sha256") and isinstance(item.get("size"), int) for item in files
        ):
            raise ValueError(f"{where}: model {model_id} is marked saved without a file, size and checksum")


def checksum_problem(path: str, entry: Mapping[str, Any], size: int, sha256: str) -> str | None:
    """None when a file read back as `size` bytes with digest `sha256` is the one the
    manifest `entry` records; otherwise what is wrong, naming `path`: truncated (fewer
    bytes), or altered (other bytes)."""
    expected_size, expected_sha256 = entry["size"], entry["sha256"]
    if (size, sha256) == (expected_size, expected_sha256):
        return None
    if size < expected_size:
        found = f"truncated: {size} of {expected_size} bytes"
    elif size > expected_size:
        found = f"altered: {size} bytes, the manifest records {expected_size}"
    else:
        found = f"altered: sha256 {sha256[:12]}..., the manifest records {expected_sha256[:12]}..."
    return f"{path}: checksum mismatch with the manifest ({found})"


def run_lineage(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Which autoencoder feeds which, which inputs each member used, which members form
    the team and by which rule (`rule`: name and weights; the team is its members, the
    kept ones of positive weight), from a run's metrics.json. Runs recorded before team
    rules have no `rule`: their team is every kept member, summed. Pure."""
    features = metrics.get("features", {})
    team = metrics.get("team", {})
    rule = team.get("rule")
    return {
        "autoencoders": {
            name: {"model_id": ae["model_id"], "input": ae["input"], "hidden": ae["hidden"]}
            for name, ae in features.get("autoencoders", {}).items()
        },
        "features": features.get("used", []),
        "members": {
            name: {"model_id": member["model_id"], "algorithm": member["algorithm"], "input": member["input"]}
            for name, member in team.get("members", {}).items()
            if not member.get("failure")
        },
        "team": list(rule["members"]) if rule else team.get("kept", []),
        "rule": rule,
        "classes": team.get("classes", []),
        "low_confidence_threshold": team.get("low_confidence_threshold"),
        "passthrough": features.get("passthrough", []),
        "baseline": metrics.get("baseline", {}).get("model_id"),
        "ood": _ood_lineage(metrics.get("ood")),
    }


def _ood_lineage(ood: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What scoring needs to flag rows: the isolation forest and the autoencoder whose
    reconstruction error is written, each with its threshold (None: no ood stage)."""
    if not ood:
        return None
    return {
        "isolation_forest": ood["isolation_forest"]["model_id"],
        "anomaly_threshold": ood["isolation_forest"]["threshold"],
        "autoencoder": ood["reconstruction"]["autoencoder"],
        "reconstruction_threshold": ood["reconstruction"]["threshold"],
        "flag_quantile": ood["flag_quantile"],
    }


def model_roles(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per model id of a run: its role, algorithm, parameters and headline metrics. Pure."""
    roles: dict[str, dict[str, Any]] = {}
    for name, ae in metrics.get("features", {}).get("autoencoders", {}).items():
        roles[ae["model_id"]] = {
            "role": f"autoencoder {name}",
            "algorithm": "deeplearning",
            "artifacts": ["network"],
            "metrics": {"training_mse": ae["training_mse"], "validation_mse": ae["validation_mse"], **_trainer(ae)},
        }
    for name, member in metrics.get("team", {}).get("members", {}).items():
        if member.get("failure"):
            continue
        roles[member["model_id"]] = {
            "role": f"member {name}",
            "algorithm": member["algorithm"],
            "artifacts": ["mojo"],
            # A deep-learning member's network scores as a vectorized numpy pass (the
            # PipelineModel's fast path); skipped where numpy cannot reproduce it.
            "optional_artifacts": ["network"] if member["algorithm"] == "deeplearning" else [],
            "params": member["params"],
            "metrics": {
                **{
                    split: {"error": member[split]["error"], "logloss": member[split]["logloss"]}
                    for split in ("valid", "test")
                },
                **_trainer(member),
            },
        }
    ood = metrics.get("ood")
    if ood:
        forest = ood["isolation_forest"]
        evaluation = ood["evaluation"]
        roles[forest["model_id"]] = {
            "role": "ood isolation forest",
            "algorithm": forest["algorithm"],
            "artifacts": ["mojo"],
            "params": forest["params"],
            "metrics": {
                "threshold": forest["threshold"],
                "flag_quantile": ood["flag_quantile"],
                **{
                    key: evaluation["detectors"][FOREST][key]
                    for key in ("auc", "aucpr")
                    if evaluation["status"] == "done"
                },
            },
        }
    for section in ("baseline", "features_classifier"):
        if section in metrics:
            model = metrics[section]
            roles[model["model_id"]] = {
                "role": section,
                "algorithm": model["algorithm"],
                "params": model["params"],
                "metrics": {
                    **{split: {"error": model[split]["error"]} for split in ("valid", "test")},
                    **_trainer(model),
                },
            }
    return roles


def _trainer(model: Mapping[str, Any]) -> dict[str, Any]:
    """Who learnt a network's weights, and for torch the agreement of H2O's copy."""
    if "trainer" not in model:
        return {}
    result: dict[str, Any] = {"trainer": model["trainer"]}
    record = model.get("torch")
    if record:
        result["torch_h2o_max_abs_difference"] = max(record["agreement"]["max_abs_difference"].values())
    return result
