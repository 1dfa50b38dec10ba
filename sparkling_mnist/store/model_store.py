"""The model store: every model of a run saved by H2O itself onto shared storage
(`<store>/<run-id>/<model-id>`), read back, sized and checksummed, and a manifest
written last.

Why: on a multi-node H2O cluster `save_model` to a local path writes on the node the
client talks to and `load_model` reads on another; shared storage (S3, HDFS, a shared
mount) is the safe place. H2O writes and reads the model files (its persist layer
speaks `s3://` and `hdfs://`); Python only reads them back for the checksums and
writes the manifest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparkling_mnist import __version__
from sparkling_mnist.errors import ExportError, StoreError
from sparkling_mnist.network.h2o_reader import read_network
from sparkling_mnist.runtime.models import h2o_version, model_in_cluster
from sparkling_mnist.store.files import StoreFiles, sha256_of
from sparkling_mnist.store.manifest import (
    FAILED,
    SAVED,
    ModelEntry,
    build_manifest,
    check_manifest,
    checksum_problem,
)
from sparkling_mnist.store.rekey import rekey_model
from sparkling_mnist.store_location import MANIFEST, StoreLocation, check_run_id

log = logging.getLogger(__name__)

ARTIFACT_SUFFIXES = {"mojo": ".mojo.zip", "network": ".network.npz"}
FOLDER_RECORD_SUFFIX = ".files.json"
"""`<run>/<folder>.files.json`: the files of a folder saved beside the models, checksummed."""


@dataclass
class SaveReport:
    """What a save did: the manifest written, and the models that failed with reasons."""

    run_id: str
    manifest_path: str
    saved: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every model was saved."""
        return not self.failed


@dataclass
class VerifyReport:
    """What `verify` found for one run."""

    run_id: str
    complete: bool
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        """True when the manifest exists, is complete and every checksum matches."""
        return self.complete and not self.problems


class ModelStore:
    """Save and load the models of runs under one store location."""

    def __init__(self, location: StoreLocation, files: StoreFiles) -> None:
        self.location = location
        self.files = files

    # Saving

    def save(
        self,
        run_id: str,
        models: Iterable[Any],
        *,
        roles: Mapping[str, Mapping[str, Any]] | None = None,
        lineage: Mapping[str, Any] | None = None,
    ) -> SaveReport:
        """Save models (H2O model objects or model ids) under `<store>/<run_id>/`, then
        the manifest. Every model is attempted; failures are reported, not raised.

        A manifest already there is removed first: until the new one is written the run
        reads as incomplete, so a save that fails part way never leaves an old manifest
        vouching for files it has since replaced.

        Returns:
            The report; `ok` is false when any model failed (the manifest marks it, and
            lists no file or checksum for it).

        Raises:
            StoreError: the manifest could not be removed or written (naming it); the
                run then has no manifest and reads as incomplete.
        """
        check_run_id(run_id)
        roles = roles or {}
        self.files.delete(self.location.manifest(run_id))
        entries: dict[str, ModelEntry] = {}
        for model in models:
            model_id = model if isinstance(model, str) else str(model.model_id)
            entries[model_id] = self._save_one(run_id, model, roles.get(model_id, {}))
        manifest = build_manifest(run_id, entries, lineage=lineage or {}, versions=self._versions())
        # Written last: a run without a manifest is an interrupted one.
        self.files.write_bytes(self.location.manifest(run_id), json.dumps(manifest, indent=2, sort_keys=True).encode())
        report = SaveReport(run_id, self.location.manifest(run_id))
        for model_id, entry in entries.items():
            if entry.status == SAVED:
                report.saved.append(model_id)
            else:
                report.failed[model_id] = entry.error or "unknown"
        log.info(
            "store: run %s, %d model(s) saved, %d failed -> %s",
            run_id,
            len(report.saved),
            len(report.failed),
            report.manifest_path,
        )
        return report

    def _save_one(self, run_id: str, model: Any, role: Mapping[str, Any]) -> ModelEntry:
        import h2o

        model_id = model if isinstance(model, str) else str(model.model_id)
        target = self.location.path(run_id, model_id)
        entry = ModelEntry(model_id=model_id, status=FAILED, **_role_fields(role))
        writing = target  # the file being written when something fails, for the report
        try:
            h2o_model = h2o.get_model(model_id) if isinstance(model, str) else model
            entry.algorithm = entry.algorithm or str(h2o_model.algo)
            h2o.save_model(h2o_model, path=self.location.run(run_id), filename=model_id, force=True)
            entry.size, entry.sha256 = sha256_of(self.files, target)
            for kind in role.get("artifacts", ()):
                writing = self.location.path(run_id, artifact_name(model_id, kind))
                entry.artifacts[kind] = self._save_artifact(run_id, h2o_model, kind)
            for kind in role.get("optional_artifacts", ()):
                writing = self.location.path(run_id, artifact_name(model_id, kind))
                try:
                    entry.artifacts[kind] = self._save_artifact(run_id, h2o_model, kind)
                except ExportError as exc:  # a network numpy cannot reproduce: scored by its MOJO
                    log.info("store: model %s has no %s artifact: %s", model_id, kind, exc)
        except Exception as exc:  # H2O and storage raise many types; each is reported
            entry.error = f"saving {writing}: {_one_line(exc)}"
            # A failed model is listed with its reason only: no size, checksum or artifact
            # of a save that did not finish (a file may be missing, half there or stale).
            entry.size = entry.sha256 = None
            entry.artifacts = {}
            log.error("store: model %s not saved: %s", model_id, entry.error)
            return entry
        entry.status = SAVED
        entry.file = f"{run_id}/{model_id}"
        return entry

    def _save_artifact(self, run_id: str, model: Any, kind: str) -> dict[str, Any]:
        """Write a scoring artifact beside the model: its MOJO (`mojo`) or its network as
        numpy arrays (`network`: autoencoders, and deep-learning members when numpy
        reproduces them), both usable without an H2O cluster."""
        name = artifact_name(str(model.model_id), kind)
        with tempfile.TemporaryDirectory(prefix="sparkling-mnist-artifact-") as folder:
            if kind == "mojo":
                local = Path(model.download_mojo(path=folder))
            else:
                local = read_network(model).save(Path(folder) / name)
            data = local.read_bytes()
        self.files.write_bytes(self.location.path(run_id, name), data)
        size, digest = sha256_of(self.files, self.location.path(run_id, name))
        if size != len(data):
            raise StoreError(f"{name}: wrote {len(data)} bytes, read back {size}")
        return {"file": f"{run_id}/{name}", "size": size, "sha256": digest}

    def artifact(self, manifest: Mapping[str, Any], model_id: str, kind: str, folder: Path) -> Path:
        """Copy a model's artifact from the store to a local folder, checked against the
        manifest; returns the local path.

        Raises:
            StoreError: the model has no such artifact, or its checksum does not match.
        """
        entry = manifest["models"].get(model_id, {}).get("artifacts", {}).get(kind)
        if entry is None:
            raise StoreError(f"run {manifest['run_id']}: model {model_id} has no {kind} in the store")
        path = self.location.path(entry["file"])
        data = self.files.read_bytes(path)
        problem = checksum_problem(path, entry, len(data), hashlib.sha256(data).hexdigest())
        if problem:
            raise StoreError(problem)
        local: Path = folder / str(entry["file"]).rsplit("/", 1)[-1]
        local.write_bytes(data)
        return local

    def _versions(self) -> dict[str, str]:
        try:
            h2o = h2o_version()
        except Exception:  # no cluster connected: the manifest still says ours
            h2o = "unknown"
        return {"h2o": h2o, "sparkling_mnist": __version__}

    # Reading

    def runs(self) -> list[str]:
        """Run ids in the store (folders holding a manifest or model files)."""
        names = {path[len(self.location.root) + 1 :].split("/", 1)[0] for path in self.files.list(self.location.root)}
        return sorted(name for name in names if name)

    def manifest(self, run_id: str) -> dict[str, Any]:
        """The manifest of a run.

        Raises:
            StoreError: no manifest (the run is incomplete: interrupted while saving), or
                one this version cannot read.
        """
        path = self.location.manifest(run_id)
        if not self.files.exists(path):
            stored = [p for p in self.files.list(self.location.run(run_id)) if not p.endswith(MANIFEST)]
            raise StoreError(
                f"run {run_id} in {self.location.root} is incomplete: no {MANIFEST} "
                f"({len(stored)} model file(s) present); save it again to complete it"
            )
        try:
            manifest = json.loads(self.files.read_bytes(path))
        except ValueError as exc:  # JSON and UTF-8 decoding errors
            raise StoreError(f"{path}: not a readable manifest (truncated or altered?): {exc}") from exc
        if not isinstance(manifest, dict):
            raise StoreError(f"{path}: not a readable manifest (a JSON {type(manifest).__name__}, not an object)")
        try:
            check_manifest(manifest, path)
        except ValueError as exc:
            raise StoreError(str(exc)) from exc
        return manifest

    def verify(self, run_id: str) -> VerifyReport:
        """Re-read every saved model file of a run and compare size and checksum."""
        try:
            manifest = self.manifest(run_id)
        except StoreError as exc:
            return VerifyReport(run_id, complete=False, problems=[str(exc)])
        report = VerifyReport(run_id, complete=bool(manifest["complete"]))
        for model_id, entry in manifest["models"].items():
            if entry["status"] != SAVED:
                report.problems.append(f"{model_id}: not saved ({entry.get('error', 'no reason recorded')})")
                continue
            for item in [entry, *entry.get("artifacts", {}).values()]:
                self._verify_file(report, model_id, item)
        for folder in self._recorded_folders(run_id):
            record = self.folder_record(run_id, folder)
            report.checked += len(record)
            report.problems.extend(f"{folder}: {problem}" for problem in self.check_folder(run_id, folder, record))
        return report

    # Folders saved beside the models (the run's PipelineModel): a checksum record each

    def _folder_record_path(self, run_id: str, folder: str) -> str:
        return self.location.path(run_id, f"{folder}{FOLDER_RECORD_SUFFIX}")

    def _recorded_folders(self, run_id: str) -> list[str]:
        names = [path.rsplit("/", 1)[-1] for path in self.files.list(self.location.run(run_id))]
        return sorted(name.removesuffix(FOLDER_RECORD_SUFFIX) for name in names if name.endswith(FOLDER_RECORD_SUFFIX))

    def record_folder(self, run_id: str, folder: str) -> dict[str, Any]:
        """Write `<run>/<folder>.files.json`: every file under `<run>/<folder>/` with its
        size and SHA-256, read back from the store. Written after the folder, so a
        folder without a record is an unfinished one. Returns the record."""
        root = self.location.path(run_id, folder)
        record = {}
        for path in self.files.list(root):
            size, digest = sha256_of(self.files, path)
            record[path.removeprefix(root + "/")] = {"size": size, "sha256": digest}
        data = json.dumps({"folder": folder, "files": record}, indent=2, sort_keys=True).encode()
        self.files.write_bytes(self._folder_record_path(run_id, folder), data)
        return record

    def folder_record(self, run_id: str, folder: str) -> dict[str, Any]:
        """The files recorded for `<run>/<folder>/` ({} when it has no record).

        Raises:
            StoreError: the record exists but cannot be read, naming it.
        """
        path = self._folder_record_path(run_id, folder)
        if not self.files.exists(path):
            return {}
        try:
            files: dict[str, Any] = json.loads(self.files.read_bytes(path))["files"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{path}: not a readable file record ({exc})") from None
        return files

    def check_folder(self, run_id: str, folder: str, record: Mapping[str, Any] | None = None) -> list[str]:
        """What is wrong with `<run>/<folder>/` against its record: files missing,
        truncated, altered or added, each naming the file ([] when whole).

        Raises:
            StoreError: the folder has no record (unfinished, or saved by an older version).
        """
        record = self.folder_record(run_id, folder) if record is None else record  # read once by callers that have it
        root = self.location.path(run_id, folder)
        if not record:
            raise StoreError(f"{root}: no record of its files ({folder}{FOLDER_RECORD_SUFFIX}): unfinished or older")
        present = {path.removeprefix(root + "/"): path for path in self.files.list(root)}
        problems = [f"{root}/{name}: missing" for name in sorted(set(record) - set(present))]
        problems += [f"{root}/{name}: not in the record (added later)" for name in sorted(set(present) - set(record))]
        for name in sorted(set(record) & set(present)):
            size, digest = sha256_of(self.files, present[name])
            problem = checksum_problem(present[name], record[name], size, digest)
            if problem:
                problems.append(problem)
        return problems

    def _verify_file(self, report: VerifyReport, model_id: str, entry: Mapping[str, Any]) -> None:
        """Re-read one stored file (a model or an artifact) against its manifest entry."""
        path = self.location.path(entry["file"])
        try:
            size, digest = sha256_of(self.files, path)
        except StoreError as exc:
            report.problems.append(f"{model_id}: {exc}")
            return
        report.checked += 1
        problem = checksum_problem(path, entry, size, digest)
        if problem:
            report.problems.append(f"{model_id}: {problem}")

    def load_run(self, run_id: str, *, namespace: str | None = None) -> dict[str, Any]:
        """Load every saved model of a run into the H2O cluster.

        Models are loaded under `<namespace>.<model_id>` when a namespace is given (by
        default the run id, when another run's model already holds the key), so two
        runs with the same model id live side by side.

        Returns:
            Model id as stored -> loaded H2O model.

        Raises:
            StoreError: the run is incomplete, or a file fails its checksum.
        """
        manifest = self.manifest(run_id)
        if not manifest["complete"]:
            raise StoreError(f"run {run_id}: incomplete, models not saved: {', '.join(manifest['failed'])}")
        loaded = {}
        for model_id, entry in manifest["models"].items():
            loaded[model_id] = self._load_one(self.location.path(entry["file"]), entry, namespace or run_id)
        log.info("store: loaded %d model(s) of run %s", len(loaded), run_id)
        return loaded

    def _load_one(self, path: str, entry: Mapping[str, Any], namespace: str) -> Any:
        problem = checksum_problem(path, entry, *sha256_of(self.files, path))
        if problem:
            raise StoreError(problem)
        return _load_namespaced(path, namespace)


def _load_namespaced(path: str, namespace: str) -> Any:
    """Load a model file; if its id is already taken by a different model in the
    cluster, keep both: the loaded one moves to `<namespace>.<id>`."""
    import h2o

    model_id = path.rsplit("/", 1)[-1]
    previous = model_in_cluster(model_id)
    if previous is not None:
        # Move the model already there aside, load, swap: the new one gets the namespaced key.
        parked = rekey_model(model_id, f"{model_id}__parked")
        h2o.load_model(path)
        rekey_model(model_id, namespaced(namespace, model_id))
        rekey_model(parked, model_id)
        log.warning(
            "store: model id %s already in the cluster; loaded %s as %s",
            model_id,
            path,
            namespaced(namespace, model_id),
        )
        return h2o.get_model(namespaced(namespace, model_id))
    return h2o.load_model(path)


def artifact_name(model_id: str, kind: str) -> str:
    """The file name of a model's artifact of `kind` (`mojo`, `network`) beside the model."""
    return f"{model_id}{ARTIFACT_SUFFIXES[kind]}"


def _role_fields(role: Mapping[str, Any]) -> dict[str, Any]:
    return {key: role[key] for key in ("algorithm", "role", "params", "metrics") if key in role}


def _one_line(exc: Exception) -> str:
    """The exception's type and first two non-empty lines (H2O puts the cause on the second)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {' '.join(lines[:2])}".strip()


def namespaced(namespace: str, model_id: str) -> str:
    """The key a model loads under when its own id is taken: `<namespace>.<model_id>`
    (no slash: H2O's REST paths carry model keys)."""
    return f"{namespace}.{model_id}"
