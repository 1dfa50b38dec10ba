"""The torch trainer without a JVM: the plan read from H2O parameters, H2O's input
scaling reproduced, the weights H2O needs, the rows each process reads, and training
alone and as a 2-process DDP group (gloo) agreeing with one process."""

from __future__ import annotations

import itertools
import logging
import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sparkling_mnist.augment.ids import augmented_ids
from sparkling_mnist.augment.selection import RowSelection, augmented_mask
from sparkling_mnist.torch_trainer import ParquetPart, TrainingData
from sparkling_mnist.torch_trainer.data import files_for_rank, load_rows
from sparkling_mnist.torch_trainer.loop import (
    FEW_STEPS,
    TorchJob,
    TorchOptions,
    TorchResult,
    few_steps_warning,
    layer_outputs,
    rate_factor,
    train_network,
)
from sparkling_mnist.torch_trainer.plan import (
    ColumnStats,
    h2o_initial_weights,
    input_scaling,
    layer_names,
    network_plan,
)
from sparkling_mnist.torch_trainer.runner import run_torch_job


def test_plan_reads_the_function_from_h2o_parameters() -> None:
    plan = network_plan(
        {"hidden": [64, 32], "activation": "RectifierWithDropout", "input_dropout_ratio": 0.2, "l1": 1e-5, "epochs": 3},
        autoencoder=False,
        where="team.members[0].params",
        seed=9,
    )
    assert plan.hidden == (64, 32) and plan.activation == "relu"
    assert plan.hidden_dropout == (0.5, 0.5)  # H2O's default for ...WithDropout
    assert plan.input_dropout == 0.2 and plan.l1 == 1e-5 and plan.l2 == 0.0
    assert plan.transform == "standardize" and plan.epochs == 3.0 and plan.seed == 9
    assert network_plan({"sparse": True}, autoencoder=False, where="w").transform == "descale"
    assert network_plan({"sparse": True}, autoencoder=True, where="w").transform == "normalize"
    assert network_plan({"standardize": False}, autoencoder=True, where="w").transform == "none"
    tanh = network_plan({"activation": "Tanh", "hidden": 10, "rate": 0.01}, autoencoder=True, where="w")
    assert tanh.hidden == (10,) and tanh.hidden_dropout == (0.0,) and tanh.ignored == ("rate",)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"activation": "Maxout"}, "features.x.params.activation: 'Maxout' is not supported"),
        ({"checkpoint": "m1"}, "features.x.params.checkpoint: not supported"),
        ({"loss": "Absolute"}, "features.x.params.loss"),
        ({"activation": "Tanh", "hidden_dropout_ratios": [0.3]}, "needs a ...WithDropout activation"),
        ({"activation": "TanhWithDropout", "hidden": [4, 4], "hidden_dropout_ratios": [0.3]}, "1 ratios for 2"),
        ({"epochs": 0}, "features.x.params.epochs"),
    ],
)
def test_plan_rejects_what_torch_cannot_reproduce(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        network_plan(params, autoencoder=True, where="features.x.params")


def test_column_stats_in_chunks_and_merged_equal_numpy() -> None:
    rng = np.random.default_rng(1)
    values = rng.integers(0, 256, size=(1000, 7)).astype(np.uint8)
    whole = ColumnStats.of(values, chunk=64)
    halves = ColumnStats.of(values[:300]).merge(ColumnStats.of(values[300:]))
    for stats in (whole, halves):
        assert stats.count == 1000
        np.testing.assert_allclose(stats.mean(), values.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(stats.sd(), values.std(axis=0, ddof=1), rtol=1e-9)
        np.testing.assert_array_equal(stats.low, values.min(axis=0))
        np.testing.assert_array_equal(stats.high, values.max(axis=0))


def test_input_scaling_is_h2os_transform() -> None:
    values = np.array([[0.0, 5.0, 1.0], [2.0, 5.0, 3.0], [4.0, 5.0, 8.0]])
    stats = ColumnStats.of(values)
    normalize = input_scaling(stats, "normalize", ignore_const_cols=True)
    np.testing.assert_array_equal(normalize.columns, [0, 2])  # the constant column is dropped, as H2O does
    np.testing.assert_allclose(normalize.sub, [2.0, 4.0])
    np.testing.assert_allclose(normalize.mul, [1 / 4, 1 / 7])
    np.testing.assert_allclose(normalize.apply(values, np.float64), [[-0.5, -3 / 7], [0.0, -1 / 7], [0.5, 4 / 7]])
    standardize = input_scaling(stats, "standardize", ignore_const_cols=False)
    np.testing.assert_array_equal(standardize.columns, [0, 1, 2])
    expected_mul = np.array([1 / 2, 1.0, 1 / np.std([1.0, 3.0, 8.0], ddof=1)])
    np.testing.assert_allclose(standardize.mul, expected_mul)  # the constant column: mul 1
    descale = input_scaling(stats, "descale", ignore_const_cols=True)
    np.testing.assert_array_equal(descale.sub, [0.0, 0.0])
    with pytest.raises(ValueError, match="every input column is constant"):
        input_scaling(ColumnStats.of(np.ones((3, 2))), "normalize", ignore_const_cols=True)


def _h2o_scoring(layers: list[tuple[np.ndarray, np.ndarray]], dropout: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """H2O's inference with ...WithDropout layers: activation times (1 - ratio)."""
    for index, (weight, bias) in enumerate(layers[:-1]):
        x = np.maximum(x @ weight.T + bias, 0.0) * (1.0 - dropout[index])
    z = x @ layers[-1][0].T + layers[-1][1]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def test_h2o_weights_make_h2os_dropout_scoring_equal_torchs_eval() -> None:
    plan = network_plan(
        {"hidden": [5, 4], "activation": "RectifierWithDropout", "hidden_dropout_ratios": [0.5, 0.3]},
        autoencoder=False,
        where="w",
    )
    rng = np.random.default_rng(3)
    layers = [(rng.normal(size=(5, 6)), rng.normal(size=5)), (rng.normal(size=(4, 5)), rng.normal(size=4))]
    layers.append((rng.normal(size=(3, 4)), rng.normal(size=3)))
    x = rng.normal(size=(10, 6))
    ours = layer_outputs(plan, layers, x)[-1]
    theirs = _h2o_scoring(h2o_initial_weights(layers, plan), plan.hidden_dropout, x)
    np.testing.assert_allclose(theirs, ours, atol=1e-12)
    assert not np.allclose(_h2o_scoring(layers, plan.hidden_dropout, x), ours)  # unscaled weights would differ
    assert layer_names(plan)[-1] == "output (class probabilities)"


def test_files_are_shared_round_robin_once_each() -> None:
    files = [(f"f{i}", None) for i in range(7)]
    shares = [files_for_rank(files, rank, 3) for rank in range(3)]
    assert sorted(i for share in shares for i in share) == list(range(7))
    assert shares[0] == [0, 3, 6]


def _write_images(folder: Path, ids: np.ndarray, labels: np.ndarray, pixels: np.ndarray, files: int) -> None:
    folder.mkdir(parents=True)
    for part, rows in enumerate(np.array_split(np.arange(len(ids)), files)):
        table = pa.table(
            {
                "id": pa.array(ids[rows], pa.int64()),
                "label": pa.array(labels[rows], pa.int32()),
                "pixels": pa.array([pixels[i].tobytes() for i in rows], pa.binary()),
            }
        )
        pq.write_table(table, folder / f"part-{part:05d}.parquet")


def test_load_rows_applies_the_selection_and_shares_rows_across_processes(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, size=(60, 784)).astype(np.uint8)
    labels = rng.integers(0, 3, size=60)
    _write_images(tmp_path / "train", np.arange(60), labels, pixels, files=3)
    ids = augmented_ids(np.arange(40, dtype=np.int64), "rotate", 0)
    _write_images(tmp_path / "aug", ids, labels[:40], pixels[:40], files=2)
    selection = RowSelection(originals=True, augmented=True, fraction=0.5, seed=3)
    data = TrainingData(
        parts=(ParquetPart(str(tmp_path / "train")), ParquetPart(str(tmp_path / "aug"), selection)),
        classes=("0", "1", "2"),
    )
    x, y = load_rows(data)
    kept = int(augmented_mask(ids, selection).sum())
    assert 0 < kept < 40 and len(x) == 60 + kept
    assert x.dtype == np.uint8 and x.shape[1] == 784
    np.testing.assert_array_equal(x[:60], pixels)
    np.testing.assert_array_equal(y[:60], labels)
    shares = [load_rows(data, rank, 2) for rank in range(2)]
    assert sum(len(share[0]) for share in shares) == len(x)
    with pytest.raises(ValueError, match=r"part-00000\.parquet: labels \['2'\] are not among"):
        load_rows(replace(data, classes=("0", "1")))


def _blobs(tmp_path: Path, rows: int = 400) -> TrainingData:
    """Three well separated classes of 'images' (bright in one third each)."""
    rng = np.random.default_rng(8)
    labels = np.arange(rows) % 3
    pixels = rng.integers(0, 40, size=(rows, 784))
    for label in range(3):
        pixels[labels == label, label * 261 : (label + 1) * 261] += 200
    _write_images(tmp_path / "blobs", np.arange(rows), labels, pixels.clip(0, 255).astype(np.uint8), files=4)
    return TrainingData(parts=(ParquetPart(str(tmp_path / "blobs")),), classes=("0", "1", "2"))


def _job(data: TrainingData, *, autoencoder: bool, epochs: float = 3) -> TorchJob:
    params = {"hidden": [16], "activation": "Tanh" if autoencoder else "RectifierWithDropout", "epochs": epochs}
    plan = network_plan({**params, "seed": 4, "input_dropout_ratio": 0.1}, autoencoder=autoencoder, where="w")
    return TorchJob("test", plan, TorchOptions(batch_size=32, threads=1), data, data)


def test_training_learns_and_reports_each_epoch(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = _blobs(tmp_path)
    with caplog.at_level(logging.WARNING, logger="sparkling_mnist.torch_trainer"):
        classifier = run_torch_job(_job(data, autoencoder=False), spark=None, processes=None)
    assert [row["epochs"] for row in classifier.history] == [1.0, 2.0, 3.0]
    assert classifier.history[-1]["validation_error"] == 0.0
    assert classifier.rows == 400 and classifier.samples == 3 * 400  # 13 steps of 32 (the last one short) per epoch
    assert classifier.steps == 3 * 13
    # 39 steps learn these blobs, but the user is told how few they were and why.
    assert "torch test: only 39 optimizer steps (3 epochs of 400 rows over 1 process(es) at batch_size 32)" in (
        caplog.text
    )
    assert few_steps_warning("enough", replace(classifier, steps=FEW_STEPS), 32) is None
    assert [w.shape for w, _ in classifier.layers] == [(16, 784), (3, 16)]
    encoder = train_network(_job(replace(data, classes=()), autoencoder=True, epochs=4))
    mse = [row["training_mse"] for row in encoder.history]
    assert mse[-1] < mse[0]
    again = train_network(_job(data, autoencoder=False))
    np.testing.assert_array_equal(again.layers[0][0], classifier.layers[0][0])  # seeded: the same weights


def test_rate_schedules_start_peak_and_end_where_documented() -> None:
    total = 100
    assert [rate_factor("constant", step, total) for step in (0, 50, 100)] == [1.0, 1.0, 1.0]
    cosine = [rate_factor("cosine", step, total) for step in range(total + 1)]
    assert cosine[0] == 1.0 and cosine[50] == pytest.approx(0.5) and cosine[-1] == pytest.approx(0.0)
    assert all(a >= b for a, b in itertools.pairwise(cosine))  # never rises
    onecycle = [rate_factor("onecycle", step, total) for step in range(total + 1)]
    assert onecycle[0] == pytest.approx(1 / 25) and onecycle[30] == pytest.approx(1.0)
    assert onecycle[-1] == pytest.approx(0.0) and max(onecycle) == pytest.approx(1.0)
    assert onecycle.index(max(onecycle)) == 30  # warm up over 30 % of the steps
    with pytest.raises(ValueError, match="unknown learning rate schedule 'linear'"):
        rate_factor("linear", 0, total)


def test_weight_decay_label_smoothing_and_a_schedule_change_the_training(tmp_path: Path) -> None:
    data = _blobs(tmp_path)
    plain = _job(data, autoencoder=False, epochs=2)
    options = TorchOptions(batch_size=32, threads=1, schedule="cosine", weight_decay=0.1, label_smoothing=0.2)
    tuned = train_network(replace(plain, options=options))
    baseline = train_network(plain)
    assert tuned.history[-1]["validation_error"] == 0.0  # still learns the blobs
    assert not np.array_equal(tuned.layers[0][0], baseline.layers[0][0])
    # Smoothed labels keep the network from ever being sure: the loss cannot go near 0.
    assert tuned.history[-1]["training_logloss"] > baseline.history[-1]["training_logloss"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rank(rank: int, world: int, port: int, job: TorchJob, out: str) -> None:
    import pickle

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    result = train_network(job)
    Path(out, f"rank{rank}.pickle").write_bytes(pickle.dumps(result))


def test_two_ddp_processes_scale_like_one_and_agree(tmp_path: Path) -> None:
    import pickle

    from torch.multiprocessing.spawn import spawn

    data = _blobs(tmp_path)
    job = _job(data, autoencoder=False, epochs=2)
    spawn(_rank, args=(2, _free_port(), job, str(tmp_path)), nprocs=2, join=True)  # type: ignore[no-untyped-call]
    results: list[TorchResult] = [pickle.loads(Path(tmp_path, f"rank{r}.pickle").read_bytes()) for r in range(2)]
    alone = train_network(job)
    # The statistics are summed over both processes' files: the same scaling as one process.
    np.testing.assert_array_equal(results[0].scaling.columns, alone.scaling.columns)
    np.testing.assert_allclose(results[0].scaling.sub, alone.scaling.sub, rtol=1e-12)
    np.testing.assert_allclose(results[0].scaling.mul, alone.scaling.mul, rtol=1e-12)
    # DDP keeps the ranks' weights identical, and every rank returns rank 0's history.
    np.testing.assert_array_equal(results[0].layers[0][0], results[1].layers[0][0])
    assert results[0].history == results[1].history and len(results[0].history) == 2
    assert results[0].world == 2 and results[0].rows == 400
    assert results[0].steps == results[1].steps == 2 * 7  # 200 rows per process, 7 steps of 32 per epoch
    assert results[0].history[-1]["validation_error"] < 0.05


def test_the_manifest_says_who_trained_each_network() -> None:
    from sparkling_mnist.store.manifest import model_roles

    agreement = {"max_abs_difference": {"hidden layer 1 (8 units)": 2e-15, "output (class probabilities)": 4e-15}}
    scores = {split: {"error": 0.1, "logloss": 0.3} for split in ("valid", "test")}
    metrics = {
        "features": {
            "autoencoders": {
                "AE": {"model_id": "AE_1", "training_mse": 0.1, "validation_mse": 0.2, "trainer": "h2o"},
            }
        },
        "team": {
            "members": {
                "dl": {
                    "model_id": "dl_1",
                    "algorithm": "deeplearning",
                    "params": {},
                    "trainer": "torch",
                    "torch": {"agreement": agreement},
                    **scores,
                },
            }
        },
    }
    roles = model_roles(metrics)
    assert (
        roles["AE_1"]["metrics"]["trainer"] == "h2o" and "torch_h2o_max_abs_difference" not in roles["AE_1"]["metrics"]
    )
    assert roles["dl_1"]["metrics"]["trainer"] == "torch"
    assert roles["dl_1"]["metrics"]["torch_h2o_max_abs_difference"] == 4e-15
    assert roles["dl_1"]["metrics"]["valid"] == {"error": 0.1, "logloss": 0.3}


def test_config_resolves_trainers_and_refuses_what_torch_cannot_train() -> None:
    from sparkling_mnist.config import validate_config
    from sparkling_mnist.errors import ConfigError
    from sparkling_mnist.team.members import check_team_parameters

    cfg = validate_config(
        {
            "features": {
                "trainer": "torch",
                "torch": {"batch_size": 64},
                "autoencoders": [
                    {"name": "A", "hidden": 8},
                    {"name": "B", "hidden": 4, "input": "A", "trainer": "h2o"},
                    {"name": "C", "hidden": 4, "torch": {"learning_rate": 0.01}},
                ],
            },
            "team": {
                "trainer": "torch",
                "members": [
                    {"name": "dl", "algorithm": "deeplearning"},
                    {"name": "dl_h2o", "algorithm": "deeplearning", "trainer": "h2o"},
                    {"name": "gbm", "algorithm": "gbm"},
                ],
                "keep": 2,
            },
        }
    )
    resolved = {spec.name: spec for spec in cfg.features.ordered()}
    assert [resolved[name].trainer for name in "ABC"] == ["torch", "h2o", "torch"]
    assert resolved["A"].torch is not None and resolved["A"].torch.batch_size == 64
    assert resolved["C"].torch is not None and resolved["C"].torch.learning_rate == 0.01
    assert resolved["C"].torch.batch_size == 128  # its own section replaces the default whole
    assert [cfg.team.member_trainer(member)[0] for member in cfg.team.members] == ["torch", "h2o", "h2o"]

    with pytest.raises(ConfigError, match=r"team: members\[0\]\.trainer: torch trains deeplearning members only"):
        validate_config({"team": {"members": [{"name": "g", "algorithm": "gbm", "trainer": "torch"}], "keep": 1}})
    maxout = cfg.team.model_copy(
        update={"members": [cfg.team.members[0].model_copy(update={"params": {"activation": "Maxout"}})], "keep": 1}
    )
    with pytest.raises(ConfigError, match=r"team\.members\[0\]\.params\.activation: 'Maxout' is not supported"):
        check_team_parameters(maxout, seed=1)
