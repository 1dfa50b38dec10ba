"""The model store with real H2O models: a local directory, S3 on a local moto server,
and a Hadoop store (`file:` URIs through Hadoop's FileSystem API, as `hdfs://` stores
go); manifests, checksums of every model, MOJO and network file, failures, incomplete
runs, same ids side by side."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sparkling_mnist.config import StoreSettings
from sparkling_mnist.errors import StoreError
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.store import ModelStore, StoreLocation, open_store
from sparkling_mnist.store.files import HadoopFiles
from tests.s3_faults import point_h2o_s3_client

pytestmark = pytest.mark.spark

ACCESS_KEY = "test-access-key-7f3a"
SECRET_KEY = "test-secret-key-c91e0b"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint(jvm_session: SparkH2OSession) -> Iterator[str]:
    """A moto S3 server on loopback, its bucket, and H2O's S3 client pointed at it."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        env.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="models")
        # The JVM started before this fixture: give H2O's S3 client the same settings a
        # job gets at JVM start (store_java_options), whichever server it used before.
        _ = jvm_session.h2o
        point_h2o_s3_client(jvm_session.spark, endpoint, ACCESS_KEY, SECRET_KEY, max_error_retry=2)
        yield endpoint
    server.stop()


def _train(model_id: str, ntrees: int, seed: int) -> Any:
    import h2o
    from h2o.estimators import H2OGradientBoostingEstimator

    rng = np.random.default_rng(seed)
    table = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    table["y"] = np.where(table["a"] + 0.3 * table["b"] > 0, "yes", "no")
    frame = h2o.H2OFrame(table)
    frame["y"] = frame["y"].asfactor()
    model = H2OGradientBoostingEstimator(model_id=model_id, ntrees=ntrees, max_depth=2, seed=seed)
    model.train(x=["a", "b", "c"], y="y", training_frame=frame)
    return model


def _stores(tmp_path: Path, s3_endpoint: str) -> list[ModelStore]:
    local = open_store(StoreSettings(uri=str(tmp_path / "store")))
    s3 = open_store(
        StoreSettings.model_validate(
            {"uri": f"s3://models/{tmp_path.name}", "s3": {"endpoint": s3_endpoint, "path_style": True}}
        )
    )
    return [local, s3]


def test_save_verify_and_load_side_by_side(jvm_session: SparkH2OSession, tmp_path: Path, s3_endpoint: str) -> None:
    import h2o

    for store in _stores(tmp_path, s3_endpoint):
        day1 = _train("gbm_daily", ntrees=3, seed=1)
        roles = {"gbm_daily": {"role": "member gbm", "params": {"ntrees": 3}, "metrics": {"valid": {"error": 0.1}}}}
        report = store.save("day1", [day1], roles=roles, lineage={"team": ["gbm"]})
        assert report.ok and report.saved == ["gbm_daily"]
        _train("gbm_daily", ntrees=7, seed=2)  # the next day: same model id, another model
        assert store.save("day2", ["gbm_daily"]).ok
        assert store.runs() == ["day1", "day2"]

        manifest = store.manifest("day1")
        entry = manifest["models"]["gbm_daily"]
        assert manifest["complete"] and manifest["lineage"] == {"team": ["gbm"]}
        assert entry["status"] == "saved" and entry["size"] > 1000 and len(entry["sha256"]) == 64
        assert entry["role"] == "member gbm" and entry["algorithm"] == "gbm"
        assert manifest["versions"]["h2o"].startswith("3.46")
        assert all(report.ok and report.checked == 1 for report in map(store.verify, ["day1", "day2"]))

        h2o.remove_all()
        first = store.load_run("day1")["gbm_daily"]
        second = store.load_run("day2")["gbm_daily"]
        assert first.model_id == "gbm_daily" and second.model_id == "day2.gbm_daily"  # no silent overwrite
        assert h2o.get_model("gbm_daily").actual_params["ntrees"] == 3
        assert h2o.get_model("day2.gbm_daily").actual_params["ntrees"] == 7


def test_failures_are_reported_and_incomplete_runs_refused(
    jvm_session: SparkH2OSession, tmp_path: Path, s3_endpoint: str
) -> None:
    for store in _stores(tmp_path, s3_endpoint):
        model = _train("gbm_ok", ntrees=2, seed=3)
        report = store.save("partial", [model, "no_such_model"])
        assert not report.ok and report.saved == ["gbm_ok"]
        assert "no_such_model" in report.failed and "not found" in report.failed["no_such_model"]
        manifest = store.manifest("partial")
        assert not manifest["complete"] and manifest["failed"] == ["no_such_model"]
        assert "sha256" not in manifest["models"]["no_such_model"]  # never claims a missing file
        with pytest.raises(StoreError, match="incomplete, models not saved: no_such_model"):
            store.load_run("partial")
        verify = store.verify("partial")
        assert not verify.ok and verify.checked == 1 and "no_such_model: not saved" in verify.problems[0]

        # Killed before the manifest: files but no manifest -> incomplete, and saying so.
        store.files.write_bytes(store.location.path("killed", "gbm_ok"), b"half a model")
        with pytest.raises(StoreError, match=r"run killed .* is incomplete: no manifest.json \(1 model file"):
            store.manifest("killed")
        assert not store.verify("killed").ok

        # A changed file fails its checksum.
        assert store.save("tampered", [model]).ok
        store.files.write_bytes(store.location.path("tampered", "gbm_ok"), b"not the model")
        assert "checksum mismatch" in store.verify("tampered").problems[0]
        with pytest.raises(StoreError, match="checksum mismatch"):
            store.load_run("tampered")


def test_s3_endpoint_down_is_a_clear_bounded_error(tmp_path: Path) -> None:
    settings = StoreSettings.model_validate(
        {
            "uri": "s3://models/x",
            "s3": {"endpoint": f"http://127.0.0.1:{_free_port()}", "max_attempts": 2, "timeout_seconds": 1},
        }
    )
    store = open_store(settings)
    with pytest.raises(StoreError, match=r"S3 \(http://127.0.0.1:\d+\): cannot check s3://models/x/r/manifest.json"):
        store.manifest("r")


def test_manifest_and_store_keep_no_secrets(tmp_path: Path, s3_endpoint: str) -> None:
    for store in _stores(tmp_path, s3_endpoint):
        _train("gbm_secret", ntrees=2, seed=4)
        store.save("secrets", ["gbm_secret"])
        text = json.dumps(store.manifest("secrets"))
        assert ACCESS_KEY not in text and SECRET_KEY not in text


def test_hadoop_files_through_the_driver_jvm(jvm_session: SparkH2OSession, tmp_path: Path) -> None:
    """The hdfs:// store's file layer (Hadoop's FileSystem API in the driver JVM), run on
    a file:// Hadoop URI: the same calls, with no HDFS server here."""
    files = HadoopFiles(jvm_session.spark)
    root = f"file://{tmp_path}/store"
    path = f"{root}/run-1/model"
    assert not files.exists(path) and files.list(root) == []
    files.write_bytes(path, b"\x00model bytes\xff")
    files.write_bytes(path, b"\x00model bytes, again\xff")  # replaced whole
    assert files.exists(path) and not files.exists(f"{root}/run-1")  # a folder is not a file
    assert files.read_bytes(path) == b"\x00model bytes, again\xff"
    files.write_bytes(f"{root}/run-2/manifest.json", b"{}")
    assert files.list(root) == [path, f"{root}/run-2/manifest.json"]  # no temporary files left
    files.delete(path)
    assert not files.exists(path)
    with pytest.raises(StoreError, match="cannot read"):
        files.read_bytes(path)


def _train_network(model_id: str) -> Any:
    """A tiny deep-learning classifier (its network exports to numpy)."""
    import h2o
    from h2o.estimators import H2ODeepLearningEstimator

    rng = np.random.default_rng(5)
    table = pd.DataFrame(rng.normal(size=(100, 3)), columns=["a", "b", "c"])
    table["y"] = np.where(table["a"] > 0, "yes", "no")
    frame = h2o.H2OFrame(table)
    frame["y"] = frame["y"].asfactor()
    model = H2ODeepLearningEstimator(model_id=model_id, hidden=[4], epochs=1, seed=5, reproducible=True)
    model.train(x=["a", "b", "c"], y="y", training_frame=frame)
    return model


# Each kind of stored file: the model binary (H2O's), its MOJO, its network as numpy.
ARTIFACT_ROLES = {"gbm_kinds": {"artifacts": ["mojo"]}, "dl_kinds": {"artifacts": ["mojo", "network"]}}
KIND_FILES = {"model": "dl_kinds", "mojo": "gbm_kinds.mojo.zip", "network": "dl_kinds.network.npz"}


def _check_changes_are_caught(store: ModelStore, run_id: str, folder: Path) -> None:
    """Truncate, then alter (same size) each kind of file: `verify` names the file, and
    the load path that reads it (load_run for binaries, artifact() for MOJOs and
    networks) refuses it; restored, all is well again."""
    manifest = store.manifest(run_id)
    for kind, name in KIND_FILES.items():
        path = store.location.path(run_id, name)
        original = store.files.read_bytes(path)
        flipped = original[:100] + bytes([original[100] ^ 0x01]) + original[101:]
        for change, data in {"truncated": original[:-1], "altered": flipped}.items():
            store.files.write_bytes(path, data)
            problem = rf"{re.escape(path)}: checksum mismatch with the manifest \({change}"
            report = store.verify(run_id)
            assert not report.ok and len(report.problems) == 1, (kind, change, report.problems)
            assert re.search(problem, report.problems[0]), (kind, change, report.problems)
            with pytest.raises(StoreError, match=problem):
                if kind == "model":
                    store.load_run(run_id)
                else:
                    store.artifact(manifest, name.split(".")[0], kind, folder)
        store.files.write_bytes(path, original)
    assert store.verify(run_id).ok


def test_every_kind_of_stored_file_is_checked(jvm_session: SparkH2OSession, tmp_path: Path, s3_endpoint: str) -> None:
    models = [_train("gbm_kinds", ntrees=2, seed=6), _train_network("dl_kinds")]
    for store in _stores(tmp_path, s3_endpoint):
        assert store.save("kinds", models, roles=ARTIFACT_ROLES).ok
        assert store.verify("kinds").checked == 5  # 2 binaries, 2 MOJOs, 1 network
        _check_changes_are_caught(store, "kinds", tmp_path)


def test_a_store_through_hadoop_file_system(jvm_session: SparkH2OSession, tmp_path: Path) -> None:
    """A ModelStore whose files go through Hadoop's FileSystem API (HadoopFiles, as for
    hdfs:// stores), on a `file:` URI: H2O writes the binaries there, Hadoop writes the
    MOJO, network and manifest (temporary file, then renamed over), lists the runs,
    reads back for the checksums, and the models load back from it."""
    import h2o

    root = f"file://{tmp_path}/hadoop-store"
    store = ModelStore(StoreLocation("hdfs", root), HadoopFiles(jvm_session.spark))
    models = [_train("gbm_kinds", ntrees=2, seed=6), _train_network("dl_kinds")]
    report = store.save("run-h", models, roles=ARTIFACT_ROLES)
    assert report.ok and store.runs() == ["run-h"]
    names = ["dl_kinds", "dl_kinds.mojo.zip", "dl_kinds.network.npz", "gbm_kinds", "gbm_kinds.mojo.zip"]
    names.append("manifest.json")
    assert store.files.list(f"{root}/run-h") == [f"{root}/run-h/{name}" for name in names]
    on_disk = os.listdir(tmp_path / "hadoop-store" / "run-h")
    assert not [name for name in on_disk if name.endswith(".tmp")]  # every write renamed into place
    entry = store.manifest("run-h")["models"]["dl_kinds"]
    network = (tmp_path / "hadoop-store" / "run-h" / "dl_kinds.network.npz").read_bytes()
    assert entry["artifacts"]["network"]["size"] == len(network) and store.verify("run-h").checked == 5

    h2o.remove_all()
    loaded = store.load_run("run-h")
    assert loaded["gbm_kinds"].actual_params["ntrees"] == 2 and loaded["dl_kinds"].actual_params["hidden"] == [4]
    mojo = store.artifact(store.manifest("run-h"), "gbm_kinds", "mojo", tmp_path)
    assert mojo.read_bytes()[:2] == b"PK"
    _check_changes_are_caught(store, "run-h", tmp_path)

    # Changed behind Hadoop's back: its own .crc check refuses the read, naming the file.
    manifest_file = tmp_path / "hadoop-store" / "run-h" / "manifest.json"
    manifest_file.write_bytes(manifest_file.read_bytes().replace(b'"complete": true', b'"complete": fals'))
    verify = store.verify("run-h")
    assert not verify.ok and re.search(rf"cannot read {root}/run-h/manifest.json: .*Checksum", verify.problems[0])


def test_hadoop_write_replaces_whole_files_and_cleans_up(jvm_session: SparkH2OSession, tmp_path: Path) -> None:
    files = HadoopFiles(jvm_session.spark)
    path = f"file://{tmp_path}/model"
    files.write_bytes(path, b"old model")
    with (tmp_path / "model").open("rb") as reader:  # a reader that opened the old file
        files.write_bytes(path, b"new model, longer")
        assert reader.read() == b"old model"  # renamed over, not rewritten in place
    assert files.read_bytes(path) == b"new model, longer"

    # A write that cannot be renamed into place (a folder holds the name) fails, naming
    # the file, and leaves no temporary file behind.
    (tmp_path / "taken" / "inside").mkdir(parents=True)
    with pytest.raises(StoreError, match=f"cannot write file://{tmp_path}/taken: "):
        files.write_bytes(f"file://{tmp_path}/taken", b"bytes")
    assert sorted(os.listdir(tmp_path)) == [".model.crc", "model", "taken"]
