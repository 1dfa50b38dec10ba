"""Tests of the per-row stream keys and the counter-based streams behind every effect."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from sparkling_mnist.augment import RowStream, effect_key, row_keys, row_streams


def first_draws(keys: np.ndarray) -> list[int]:
    return [int(key) for key in keys]


def test_effect_key_is_crc32_of_the_name() -> None:
    assert effect_key("rotate") == zlib.crc32(b"rotate") == 931746316
    assert effect_key("all2") == 3800827925


def test_streams_are_pinned() -> None:
    # Golden values: if this fails, every augmented data set changes. Change it only
    # together with SEED_SCHEME_VERSION.
    draws = first_draws(row_keys(42, np.array([7, -7]), 3, "rotate"))
    assert draws == [15105511462759377341, 2454911038176067512]


def test_one_generator_per_row_each_depending_only_on_its_key() -> None:
    ids = np.array([5, 9, 5, 11], dtype=np.int64)
    draws = first_draws(row_keys(1, ids, 0, "warp"))
    assert len(draws) == 4
    assert draws[0] == draws[2]  # same key, same stream, wherever the row sits
    assert len({draws[0], draws[1], draws[3]}) == 3
    alone = first_draws(row_keys(1, np.array([9]), 0, "warp"))
    assert alone == [draws[1]]


@pytest.mark.parametrize(
    "changed",
    [
        {"run_seed": 2},
        {"source_ids": np.array([6])},
        {"copy_index": 1},
        {"effect": "warp2"},
    ],
)
def test_every_key_part_changes_the_stream(changed: dict[str, object]) -> None:
    base: dict[str, object] = {
        "run_seed": 1,
        "source_ids": np.array([5]),
        "copy_index": 0,
        "effect": "warp",
    }
    reference = first_draws(row_keys(**base))  # type: ignore[arg-type]
    other = first_draws(row_keys(**{**base, **changed}))  # type: ignore[arg-type]
    assert reference != other


def test_key_parts_do_not_collide_across_word_boundaries() -> None:
    # A variable-length encoding would make (2**32, 0) and (0, 1) the same words.
    a = first_draws(row_keys(2**32, np.array([0]), 0, "e"))
    b = first_draws(row_keys(0, np.array([1]), 0, "e"))
    c = first_draws(row_keys(0, np.array([0]), 2**32, "e"))
    d = first_draws(row_keys(0, np.array([2**32]), 0, "e"))
    assert len({a[0], b[0], c[0], d[0]}) == 4


def test_negative_source_ids_are_distinct_from_positive_ones() -> None:
    draws = first_draws(row_keys(3, np.array([-1, 1, -(2**63), 2**63 - 1]), 0, "e"))
    assert len(set(draws)) == 4


def test_copy_index_array_is_per_row() -> None:
    ids = np.array([4, 4, 4])
    per_row = first_draws(row_keys(3, ids, np.array([0, 1, 0]), "e"))
    assert per_row[0] == per_row[2] != per_row[1]
    assert per_row[1] == first_draws(row_keys(3, np.array([4]), 1, "e"))[0]


def test_empty_ids_give_no_keys() -> None:
    keys = row_keys(3, np.empty(0, dtype=np.int64), 0, "e")
    assert keys.shape == (0,) and keys.dtype == np.uint64
    assert row_streams(3, np.empty(0, dtype=np.int64), 0, "e") == []


def test_a_stream_is_splitmix64_of_its_key() -> None:
    # SplitMix64's published outputs for seed 0 (Vigna's splitmix64.c).
    stream = RowStream(0)
    expected = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    draws = [stream.random() for _ in expected]
    np.testing.assert_array_equal(draws, [(value >> 11) * 2.0**-53 for value in expected])
    assert stream.drawn == 3


def test_streams_have_the_right_distributions() -> None:
    stream = RowStream(12345)
    uniforms = np.array([stream.random() for _ in range(20000)])
    assert uniforms.min() >= 0 and uniforms.max() < 1
    counts = np.histogram(uniforms, bins=10, range=(0, 1))[0]
    assert np.abs(counts - 2000).max() < 200  # about 4.5 standard errors
    normals = np.array([stream.normal() for _ in range(20000)])
    assert abs(normals.mean()) < 0.04 and abs(normals.std() - 1) < 0.03
    integers = np.array([stream.integers(3, 7) for _ in range(4000)])
    assert set(integers.tolist()) == {3, 4, 5, 6}
    between = np.array([stream.uniform(-2.0, 5.0) for _ in range(4000)])
    assert -2.0 <= between.min() < -1.9 and 4.9 < between.max() < 5.0


def test_neighbouring_keys_give_unrelated_streams() -> None:
    keys = row_keys(0, np.arange(2000), 0, "e")
    firsts = np.array([RowStream(int(key)).random() for key in keys])
    assert abs(np.corrcoef(firsts[:-1], firsts[1:])[0, 1]) < 0.1
    assert abs(firsts.mean() - 0.5) < 0.03


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"run_seed": -1}, ValueError, r"run_seed must be in \[0, 2\*\*64\)"),
        ({"run_seed": 2**64}, ValueError, r"run_seed must be in \[0, 2\*\*64\)"),
        ({"run_seed": 1.5}, TypeError, "run_seed must be an int"),
        ({"run_seed": True}, TypeError, "run_seed must be an int"),
        ({"source_ids": np.array([1.5])}, ValueError, "source_ids must be integers"),
        ({"source_ids": np.zeros((2, 2), int)}, ValueError, "1-D integer array"),
        ({"copy_index": -1}, ValueError, "copy_index must be >= 0"),
        ({"copy_index": np.array([0, 1])}, ValueError, r"shape \(3,\)"),
        ({"copy_index": 0.5}, ValueError, "copy_index must be an integer"),
    ],
)
def test_invalid_keys_are_rejected(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    arguments: dict[str, object] = {
        "run_seed": 1,
        "source_ids": np.array([1, 2, 3]),
        "copy_index": 0,
        "effect": "e",
        **kwargs,
    }
    with pytest.raises(error, match=message):
        row_keys(**arguments)  # type: ignore[arg-type]
