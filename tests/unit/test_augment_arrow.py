"""The augment job's per-partition work without Spark: ids, plans, Arrow batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sparkling_mnist.augment import (
    EFFECTS,
    RotateParams,
    ShiftParams,
    UnknownEffectError,
    apply_effect,
    effect_params_type,
    known_effects,
)
from sparkling_mnist.augment.arrow import AUGMENTED_ARROW_SCHEMA, augment_batches
from sparkling_mnist.augment.ids import (
    EFFECT_CODES,
    MAX_COPIES,
    MAX_SOURCE_ID,
    AugmentPlan,
    augmented_ids,
    decode_augmented_id,
)
from sparkling_mnist.config import validate_config
from sparkling_mnist.config.augment import EffectParamsSettings
from sparkling_mnist.schema import pixels_from_arrow, pixels_to_arrow
from tests.sample_data import make_images

SEED = 11


def source_batch(n: int, first_id: int = 0) -> pa.RecordBatch:
    images, labels = make_images(n, seed=5)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(np.arange(first_id, first_id + n), pa.int64()),
            pa.array(labels.astype(np.int32)),
            pixels_to_arrow(images),
        ],
        names=["id", "label", "pixels"],
    )


def as_table(batches: list[pa.RecordBatch]) -> pa.Table:
    return pa.Table.from_batches(batches, schema=AUGMENTED_ARROW_SCHEMA).sort_by("id")


def test_every_effect_has_a_fixed_unique_id_code() -> None:
    assert set(EFFECT_CODES) == set(known_effects())
    codes = list(EFFECT_CODES.values())
    assert len(set(codes)) == len(codes) and min(codes) >= 1 and max(codes) < 1 << 10


def test_augmented_ids_follow_the_documented_formula_and_decode() -> None:
    ids = augmented_ids(np.array([0, 5, MAX_SOURCE_ID]), "warp", 3)
    assert ids.tolist() == [(2 << 52) | (3 << 40) | s for s in (0, 5, MAX_SOURCE_ID)]
    assert decode_augmented_id(int(ids[1])) == (5, "warp", 3)
    assert decode_augmented_id(int(augmented_ids(np.array([7]), "all2", MAX_COPIES - 1)[0])) == (
        7,
        "all2",
        MAX_COPIES - 1,
    )


def test_augmented_ids_are_unique_and_never_source_ids() -> None:
    sources = np.arange(50, dtype=np.int64)
    every = np.concatenate(
        [augmented_ids(sources, effect, copy) for effect in known_effects() for copy in (0, 1, MAX_COPIES - 1)]
    )
    assert len(np.unique(every)) == len(every)
    assert every.min() > MAX_SOURCE_ID  # source ids are at most MAX_SOURCE_ID
    assert (every > 0).all()


def test_augmented_ids_reject_what_the_layout_cannot_hold() -> None:
    with pytest.raises(ValueError, match=r"source id -1 is outside"):
        augmented_ids(np.array([3, -1]), "rotate", 0)
    with pytest.raises(ValueError, match=r"source id 1099511627776 is outside"):
        augmented_ids(np.array([MAX_SOURCE_ID + 1]), "rotate", 0)
    with pytest.raises(ValueError, match=r"copy must be in \[0, 4096\)"):
        augmented_ids(np.array([1]), "rotate", MAX_COPIES)
    with pytest.raises(UnknownEffectError, match="known effects"):
        augmented_ids(np.array([1]), "rotat", 0)
    with pytest.raises(ValueError, match="not an augmented id"):
        decode_augmented_id(12)


def test_batches_equal_the_effects_applied_locally_with_provenance() -> None:
    params = {"rotate": RotateParams(sigma_degrees=25.0)}
    plan = AugmentPlan(effects=("rotate", "scratches"), copies=2, run_seed=SEED, params=params)
    batch = source_batch(12, first_id=100)
    out = list(augment_batches([batch], plan))
    assert len(out) == 4  # one batch per (effect, copy), in plan order
    assert [(b.column("effect")[0].as_py(), b.column("copy")[0].as_py()) for b in out] == [
        ("rotate", 0),
        ("rotate", 1),
        ("scratches", 0),
        ("scratches", 1),
    ]
    images = pixels_from_arrow(batch.column("pixels")).reshape(-1, 28, 28)
    ids = batch.column("id").to_numpy()
    for result in out:
        effect, copy = result.column("effect")[0].as_py(), result.column("copy")[0].as_py()
        assert result.schema == AUGMENTED_ARROW_SCHEMA
        assert result.column("source_id").to_numpy().tolist() == ids.tolist()
        assert result.column("label").to_pylist() == batch.column("label").to_pylist()
        assert result.column("id").to_numpy().tolist() == augmented_ids(ids, effect, copy).tolist()
        assert set(result.column("effect").to_pylist()) == {effect}
        assert set(result.column("copy").to_pylist()) == {copy}
        expected = apply_effect(effect, images, ids, copy, SEED, params=params.get(effect))
        np.testing.assert_array_equal(pixels_from_arrow(result.column("pixels")).reshape(-1, 28, 28), expected)
    rotated = pixels_from_arrow(out[0].column("pixels"))
    default = apply_effect("rotate", images, ids, 0, SEED).reshape(len(ids), -1)
    assert not np.array_equal(rotated, default)  # the plan's settings reached the effect


def test_output_does_not_depend_on_how_rows_are_batched() -> None:
    plan = AugmentPlan(effects=("all", "shift"), copies=2, run_seed=SEED)
    whole = source_batch(20)
    pieces = [whole.slice(0, 3), whole.slice(3, 0), whole.slice(3, 10), whole.slice(13)]
    reordered = [pieces[2], pieces[0], pieces[3], pieces[1]]
    one = as_table(list(augment_batches([whole], plan)))
    many = as_table(list(augment_batches(reordered, plan)))
    assert one.num_rows == 20 * 4
    assert one.equals(many)


def test_empty_batches_and_partitions_give_nothing() -> None:
    plan = AugmentPlan(effects=("rotate",), copies=3, run_seed=SEED)
    assert list(augment_batches([], plan)) == []
    assert list(augment_batches([source_batch(4).slice(0, 0)], plan)) == []


def test_bad_input_batches_fail_clearly() -> None:
    plan = AugmentPlan(effects=("shift",), copies=1, run_seed=SEED)
    batch = source_batch(3)
    with pytest.raises(ValueError, match="needs columns id, label, pixels"):
        list(augment_batches([batch.drop_columns(["label"])], plan))
    with pytest.raises(ValueError, match="needs columns id, label, pixels"):
        list(augment_batches([batch.drop_columns(["pixels"])], plan))
    nulls = batch.set_column(0, "id", pa.array([1, None, 3], pa.int64()))
    with pytest.raises(ValueError, match="'id' has 1 null values"):
        list(augment_batches([nulls], plan))
    short = batch.set_column(2, "pixels", pa.array([b"\x00" * 784, b"\x00" * 10, b"\x00" * 784]))
    with pytest.raises(ValueError, match="pixels row 1 has 10 bytes, expected 784"):
        list(augment_batches([short], plan))


def test_plans_are_validated() -> None:
    with pytest.raises(ValueError, match="at least one effect"):
        AugmentPlan(effects=(), copies=1, run_seed=1)
    with pytest.raises(UnknownEffectError, match="known effects: affine, all, all2"):
        AugmentPlan(effects=("rotate", "twirl"), copies=1, run_seed=1)
    with pytest.raises(ValueError, match="once"):
        AugmentPlan(effects=("rotate", "rotate"), copies=1, run_seed=1)
    with pytest.raises(ValueError, match=r"copies must be in \[1, 4096\]"):
        AugmentPlan(effects=("rotate",), copies=0, run_seed=1)
    with pytest.raises(ValueError, match="settings of 'rotate' must be RotateParams, got ShiftParams"):
        AugmentPlan(effects=("rotate",), copies=1, run_seed=1, params={"rotate": ShiftParams()})


def test_plan_from_config_carries_effects_copies_seed_and_settings() -> None:
    cfg = validate_config(
        {
            "run": {"seed": 99},
            "augment": {"effects": ["shift", "rotate"], "copies": 3, "params": {"rotate": {"sigma_degrees": 4}}},
        }
    )
    plan = cfg.augment.plan(cfg.run.seed)
    assert (plan.effects, plan.copies, plan.run_seed, plan.rows_per_source) == (("shift", "rotate"), 3, 99, 6)
    assert plan.params["rotate"] == RotateParams(sigma_degrees=4.0)
    assert plan.params["shift"] == ShiftParams()


def test_effect_settings_section_mirrors_the_registry() -> None:
    fields = EffectParamsSettings.model_fields
    assert set(fields) == set(EFFECTS)
    settings = EffectParamsSettings()
    for name in EFFECTS:
        assert isinstance(settings.for_effect(name), effect_params_type(name))
