"""The store cannot be fooled by a changed file: `verify`, `load_run` and `artifact()`
check every model binary, MOJO and network file against the manifest's size and
SHA-256 and name the file, truncated or altered. A local store, files made here, no JVM
(the checks happen before anything reaches H2O)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sparkling_mnist.config import StoreSettings
from sparkling_mnist.errors import StoreError
from sparkling_mnist.store import ModelStore, open_store
from sparkling_mnist.store.manifest import SAVED, ModelEntry, build_manifest, checksum_problem

MODEL = "dl_member"
FILES = {"model": MODEL, "mojo": f"{MODEL}.mojo.zip", "network": f"{MODEL}.network.npz"}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.ini", "[info]\nalgorithm = Deep Learning\n" * 20)
    return buffer.getvalue()


def _npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, w0=np.arange(60, dtype=np.float64).reshape(6, 10), b0=np.ones(6))
    return buffer.getvalue()


def _record(store: ModelStore, name: str, data: bytes) -> dict[str, object]:
    store.files.write_bytes(store.location.path("run", name), data)
    return {"file": f"run/{name}", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    """A local store holding run `run`: one model with its MOJO and network, and its manifest."""
    store = open_store(StoreSettings(uri=str(tmp_path / "store")))
    binary = _record(store, FILES["model"], b"\x00H2O model binary\xff" * 64)
    entry = ModelEntry(
        model_id=MODEL,
        status=SAVED,
        file=str(binary["file"]),
        size=int(str(binary["size"])),
        sha256=str(binary["sha256"]),
        artifacts={"mojo": _record(store, FILES["mojo"], _zip()), "network": _record(store, FILES["network"], _npz())},
    )
    manifest = build_manifest("run", {MODEL: entry}, lineage={}, versions={})
    store.files.write_bytes(store.location.manifest("run"), json.dumps(manifest).encode())
    return store


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _alter(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]  # one bit, same size


def _append(data: bytes) -> bytes:
    return data + b"\x00"


CHANGES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "truncated": (_truncate, r"truncated: \d+ of \d+ bytes"),
    "altered": (_alter, r"altered: sha256 [0-9a-f]{12}\.\.\., the manifest records [0-9a-f]{12}"),
    "grown": (_append, r"altered: \d+ bytes, the manifest records \d+"),
}


@pytest.mark.parametrize("kind", sorted(FILES))
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_file_is_named_by_verify_and_refused_on_load(
    store: ModelStore, tmp_path: Path, kind: str, change: str
) -> None:
    assert store.verify("run").ok and store.verify("run").checked == 3
    path = store.location.path("run", FILES[kind])
    original = store.files.read_bytes(path)
    how, found = CHANGES[change]
    store.files.write_bytes(path, how(original))
    message = rf"{re.escape(path)}: checksum mismatch with the manifest \({found}"

    report = store.verify("run")
    assert not report.ok and report.checked == 3 and len(report.problems) == 1
    assert re.match(rf"{MODEL}: {message}", report.problems[0])
    manifest = store.manifest("run")
    if kind == "model":
        with pytest.raises(StoreError, match=message):
            store.load_run("run")  # refused before H2O is asked to read it
    else:
        with pytest.raises(StoreError, match=message):
            store.artifact(manifest, MODEL, kind, tmp_path)
        assert not (tmp_path / FILES[kind]).exists()  # no local copy of a bad file
        other = "network" if kind == "mojo" else "mojo"
        assert store.artifact(manifest, MODEL, other, tmp_path).read_bytes()  # the other one is fine

    store.files.write_bytes(path, original)
    assert store.verify("run").ok


def test_a_missing_file_is_named(store: ModelStore, tmp_path: Path) -> None:
    path = store.location.path("run", FILES["network"])
    store.files.delete(path)
    report = store.verify("run")
    assert report.checked == 2 and report.problems == [f"{MODEL}: cannot read {path}: No such file or directory"]
    with pytest.raises(StoreError, match=f"cannot read {re.escape(path)}"):
        store.artifact(store.manifest("run"), MODEL, "network", tmp_path)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (lambda good: good[: len(good) // 2], "not a readable manifest \\(truncated or altered\\?\\)"),
        (lambda good: good.replace(b"{", b"[", 1), "not a readable manifest"),
        (lambda good: b"[1, 2]", r"not a readable manifest \(a JSON list, not an object\)"),
        (lambda good: good.replace(b'"size": ', b'"size": "x", "was": ', 1), "without a file, size and checksum"),
    ],
    ids=["truncated", "not-json", "a-list", "size-not-a-number"],
)
def test_a_damaged_manifest_is_named(store: ModelStore, text: Callable[[bytes], bytes], found: str) -> None:
    path = store.location.manifest("run")
    store.files.write_bytes(path, text(store.files.read_bytes(path)))
    with pytest.raises(StoreError, match=rf"{re.escape(path)}: .*{found}"):
        store.manifest("run")
    report = store.verify("run")
    assert not report.ok and report.checked == 0 and path in report.problems[0]


def test_checksum_problem_says_what_changed() -> None:
    entry = {"size": 10, "sha256": "a" * 64}
    assert checksum_problem("s3://b/run/m", entry, 10, "a" * 64) is None
    assert checksum_problem("s3://b/run/m", entry, 4, "b" * 64) == (
        "s3://b/run/m: checksum mismatch with the manifest (truncated: 4 of 10 bytes)"
    )
    assert checksum_problem("s3://b/run/m", entry, 10, "b" * 64) == (
        "s3://b/run/m: checksum mismatch with the manifest (altered: sha256 bbbbbbbbbbbb..., "
        "the manifest records aaaaaaaaaaaa...)"
    )
    assert checksum_problem("s3://b/run/m", entry, 11, "b" * 64) == (
        "s3://b/run/m: checksum mismatch with the manifest (altered: 11 bytes, the manifest records 10)"
    )
