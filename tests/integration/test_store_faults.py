"""The store on a misbehaving S3 (moto behind tests/s3_faults.py on 127.0.0.1): 5xx
answers on a share of requests and slow answers are survived by bounded retries with
backoff, by boto3 (manifest, artifacts, checksums) and by H2O's Java client (model
binaries); a save that still fails leaves an incomplete manifest that lists no file
for the failed model, or no manifest at all, and the error names the path."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from sparkling_mnist.config import StoreSettings
from sparkling_mnist.errors import StoreError
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.store import ModelStore, open_store
from tests.s3_faults import FaultRule, FaultyS3, point_h2o_s3_client

ACCESS_KEY = "test-access-key-faults"
SECRET_KEY = "test-secret-key-faults"
BUCKET = "faults"
RETRY_LOG = "retrying in"


@pytest.fixture(scope="module")
def faulty_s3() -> Iterator[FaultyS3]:
    """moto on loopback behind the fault layer (no faults until a test asks), one bucket."""
    import boto3

    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        env.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        with FaultyS3() as server:
            boto3.client("s3", endpoint_url=server.endpoint).create_bucket(Bucket=BUCKET)
            yield server


@pytest.fixture(scope="module")
def h2o_on_faulty_s3(jvm_session: SparkH2OSession, faulty_s3: FaultyS3) -> FaultyS3:
    """H2O's own S3 client pointed at the fault layer too, with 3 retries per request."""
    _ = jvm_session.h2o
    point_h2o_s3_client(jvm_session.spark, faulty_s3.endpoint, ACCESS_KEY, SECRET_KEY, max_error_retry=3)
    return faulty_s3


def _store(server: FaultyS3, prefix: str, *, attempts: int = 4, timeout: float = 5.0) -> ModelStore:
    return open_store(
        StoreSettings.model_validate(
            {
                "uri": f"s3://{BUCKET}/{prefix}",
                "s3": {
                    "endpoint": server.endpoint,
                    "path_style": True,
                    "max_attempts": attempts,
                    "timeout_seconds": timeout,
                    "backoff_seconds": 0.01,  # tiny waits: the tests count retries, not seconds
                    "max_backoff_seconds": 0.05,
                },
            }
        )
    )


def _retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records if r.name == "sparkling_mnist.store.files" and RETRY_LOG in r.getMessage())


@pytest.mark.parametrize("status", [500, 503])
def test_s3_files_survive_three_errors_in_four(
    faulty_s3: FaultyS3, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    """3 of every 4 requests fail and a quarter of the others are slow: with 4 tries per
    request every call still succeeds, each fault costing exactly one retry."""
    store = _store(faulty_s3, f"share-{status}", attempts=4)
    files = {store.location.path("run", f"file-{i}"): f"contents {i}".encode() * 50 for i in range(3)}
    caplog.set_level(logging.WARNING, logger="sparkling_mnist.store.files")
    rule = FaultRule(error_share=0.75, status=status, delay_share=0.25, delay_seconds=0.05)
    with faulty_s3.faults(rule) as seen:
        for path, data in files.items():
            store.files.write_bytes(path, data)
        assert store.files.list(store.location.path("run")) == sorted(files)
        assert all(store.files.exists(path) for path in files)
        assert {path: store.files.read_bytes(path) for path in files} == files
        store.files.delete(next(iter(files)))
        assert not store.files.exists(next(iter(files)))
    # 12 calls, each one succeeding after 3 faults: F F F ok.
    assert seen.faulted("boto3") == 3 * 12 and seen.total("boto3") == 4 * 12
    assert seen.delayed("boto3") == 3  # the 1st, 5th and 9th request served
    assert _retries(caplog) == seen.faulted("boto3")


def test_a_slow_answer_past_the_timeout_is_retried(faulty_s3: FaultyS3, caplog: pytest.LogCaptureFixture) -> None:
    store = _store(faulty_s3, "slow", attempts=2, timeout=0.5)
    path = store.location.path("run", "a")
    store.files.write_bytes(path, b"contents")
    caplog.set_level(logging.WARNING, logger="sparkling_mnist.store.files")
    # Every second GET (the first one included) waits 1.5 s, three times the read timeout.
    with faulty_s3.faults(FaultRule(delay_share=0.5, delay_seconds=1.5, methods=("GET",))) as seen:
        assert store.files.read_bytes(path) == b"contents"  # GET 1 times out, GET 2 on time
    assert seen.delayed("boto3") == 1 and seen.total("boto3") == 2
    assert _retries(caplog) == 1 and "Read timeout" in caplog.records[-1].getMessage()


def test_s3_files_give_up_after_the_bound_and_name_the_path(faulty_s3: FaultyS3) -> None:
    store = _store(faulty_s3, "down", attempts=3)
    path = store.location.path("run", "model")
    down = rf"cannot write {path} after 3 attempts: .*ServiceUnavailable"
    with faulty_s3.faults(FaultRule(error_share=1.0)) as seen, pytest.raises(StoreError, match=down):
        store.files.write_bytes(path, b"bytes")
    assert seen.faulted("boto3") == 3 and seen.total() == 3  # bounded: exactly 3 tries
    # A missing file is not retried: 404 is an answer, not a fault.
    with faulty_s3.faults() as seen:
        assert not store.files.exists(path)
        with pytest.raises(StoreError, match=rf"cannot read {path}: .*NoSuchKey"):
            store.files.read_bytes(path)
    assert seen.total() == 2


def _train(model_id: str, seed: int) -> Any:
    import h2o
    import numpy as np
    import pandas as pd
    from h2o.estimators import H2OGradientBoostingEstimator

    rng = np.random.default_rng(seed)
    table = pd.DataFrame(rng.normal(size=(100, 3)), columns=["a", "b", "c"])
    table["y"] = np.where(table["a"] > 0, "yes", "no")
    frame = h2o.H2OFrame(table)
    frame["y"] = frame["y"].asfactor()
    model = H2OGradientBoostingEstimator(model_id=model_id, ntrees=2, max_depth=2, seed=seed)
    model.train(x=["a", "b", "c"], y="y", training_frame=frame)
    return model


MOJO = {"artifacts": ["mojo"]}


@pytest.mark.spark
def test_save_and_load_survive_faults_on_both_clients(h2o_on_faulty_s3: FaultyS3) -> None:
    """Every second request of H2O's Java client (model binary, written and loaded) and
    every third of boto3 (checksums, MOJO, manifest) answers 503, and some are slow."""
    import h2o

    server = h2o_on_faulty_s3
    store = _store(server, "flaky")
    model = _train("gbm_flaky", seed=1)
    h2o_rule = FaultRule(error_share=0.5, clients=("h2o",))
    boto3_rule = FaultRule(error_share=1 / 3, delay_share=0.25, delay_seconds=0.05, clients=("boto3",))
    with server.faults(h2o_rule, boto3_rule) as seen:
        report = store.save("r1", [model], roles={"gbm_flaky": MOJO})
        verify = store.verify("r1")
        h2o.remove_all()
        loaded = store.load_run("r1")["gbm_flaky"]
    assert report.ok and verify.ok and verify.checked == 2
    assert loaded.model_id == "gbm_flaky" and loaded.actual_params["ntrees"] == 2
    # H2O: PUT faulted, PUT; GET faulted, GET. boto3: a third of its requests faulted.
    assert seen.faulted("h2o") == 2 and seen.total("h2o") == 4
    assert seen.faulted("boto3") > 0 and seen.delayed("boto3") > 0


@pytest.mark.spark
def test_a_save_that_still_fails_leaves_an_honest_manifest(h2o_on_faulty_s3: FaultyS3) -> None:
    """Storage that keeps failing for one model's binary (H2O's client) and another
    model's MOJO (boto3): both are listed as failed, naming the path, with no file or
    checksum; the model saved in between is listed and verifies."""
    server = h2o_on_faulty_s3
    store = _store(server, "broken", attempts=3)
    models = [_train(name, seed) for seed, name in enumerate(["gbm_good", "gbm_nobinary", "gbm_nomojo"])]
    roles = {model.model_id: MOJO for model in models}
    binary_down = FaultRule(error_share=1.0, path_contains="/r2/gbm_nobinary", methods=("PUT",))
    mojo_down = FaultRule(error_share=1.0, path_contains="/r2/gbm_nomojo.mojo.zip", methods=("PUT",))
    with server.faults(binary_down, mojo_down) as seen:
        report = store.save("r2", models, roles=roles)
    assert report.saved == ["gbm_good"] and sorted(report.failed) == ["gbm_nobinary", "gbm_nomojo"]
    assert store.location.path("r2", "gbm_nobinary") in report.failed["gbm_nobinary"]
    assert (
        f"cannot write {store.location.path('r2', 'gbm_nomojo.mojo.zip')} after 3 attempts"
        in (report.failed["gbm_nomojo"])
    )
    assert seen.faulted("h2o") == 4  # H2O's 1 try + 3 retries, then it gave up
    assert seen.faulted("boto3") == 3

    manifest = store.manifest("r2")
    assert not manifest["complete"] and manifest["failed"] == ["gbm_nobinary", "gbm_nomojo"]
    for failed in ("gbm_nobinary", "gbm_nomojo"):
        entry = manifest["models"][failed]
        assert entry["status"] == "failed" and entry.keys().isdisjoint({"file", "size", "sha256", "artifacts"})
    assert not store.files.exists(store.location.path("r2", "gbm_nobinary"))
    verify = store.verify("r2")
    assert verify.checked == 2 and len(verify.problems) == 2  # gbm_good and its MOJO check out
    with pytest.raises(StoreError, match="incomplete, models not saved: gbm_nobinary, gbm_nomojo"):
        store.load_run("r2")


@pytest.mark.spark
def test_a_failed_manifest_write_leaves_no_manifest(h2o_on_faulty_s3: FaultyS3) -> None:
    """Saving a run again while the manifest cannot be written: the error names the
    manifest, and the run has no manifest (the old one is gone, not left vouching for
    files the new save replaced)."""
    server = h2o_on_faulty_s3
    store = _store(server, "nomanifest", attempts=2)
    model = _train("gbm_again", seed=5)
    assert store.save("r3", [model]).ok
    manifest_path = store.location.manifest("r3")
    manifest_down = FaultRule(error_share=1.0, path_contains="/r3/manifest.json", methods=("PUT",))
    with server.faults(manifest_down), pytest.raises(StoreError, match=rf"cannot write {manifest_path} after 2"):
        store.save("r3", [model])
    with pytest.raises(StoreError, match=r"run r3 .* is incomplete: no manifest.json \(1 model file"):
        store.manifest("r3")
    assert not store.verify("r3").ok
