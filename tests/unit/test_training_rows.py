"""Which rows a model trains on: the pure selection, its config, and the numpy encoder
chain that computes the augmented rows' deep features."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from sparkling_mnist.augment.ids import augmented_ids
from sparkling_mnist.augment.selection import RowSelection, augmented_mask, select_batch, splitmix64, subset_seed
from sparkling_mnist.config import JobConfig, validate_config
from sparkling_mnist.errors import ConfigError
from sparkling_mnist.network.encoder_chain import ChainLink, encode_pixels, feature_batch, feature_schema
from sparkling_mnist.network.spec import Layer, NetworkSpec
from sparkling_mnist.schema import PIXEL_COLUMNS, pixels_to_arrow

SOURCES = np.arange(0, 4000, dtype=np.int64) * 3 + 11
EFFECTS = ("rotate", "shift", "blotches")


def all_ids() -> tuple[np.ndarray, np.ndarray]:
    """Ids and effect names of 2 copies of 3 effects of 4,000 sources."""
    ids, effects = [], []
    for effect in EFFECTS:
        for copy in range(2):
            ids.append(augmented_ids(SOURCES, effect, copy))
            effects += [effect] * len(SOURCES)
    return np.concatenate(ids), np.array(effects)


def test_splitmix64_known_answers() -> None:
    # SplitMix64's first outputs from state 0 (Steele, Lea and Flood; also Java's SplittableRandom).
    state = np.array([0, 0x9E3779B97F4A7C15], dtype=np.uint64)
    assert [hex(int(v)) for v in splitmix64(state)] == ["0xe220a8397b1dcdaf", "0x6e789e6aa1b965f4"]


def test_effects_keep_exactly_their_rows() -> None:
    ids, effects = all_ids()
    mask = augmented_mask(ids, RowSelection(originals=True, augmented=True, effects=("rotate", "blotches")))
    np.testing.assert_array_equal(mask, np.isin(effects, ["rotate", "blotches"]))
    assert augmented_mask(ids, RowSelection(originals=True, augmented=True)).all()
    assert not augmented_mask(ids, RowSelection(originals=True, augmented=False)).any()


def test_fraction_is_seeded_nested_and_about_right() -> None:
    ids, _ = all_ids()
    third = augmented_mask(ids, RowSelection(True, True, fraction=0.3, seed=5))
    again = augmented_mask(ids, RowSelection(True, True, fraction=0.3, seed=5))
    other = augmented_mask(ids, RowSelection(True, True, fraction=0.3, seed=6))
    more = augmented_mask(ids, RowSelection(True, True, fraction=0.6, seed=5))
    np.testing.assert_array_equal(third, again)
    assert abs(third.mean() - 0.3) < 0.015 and abs(other.mean() - 0.3) < 0.015
    assert not np.array_equal(third, other)
    # Two seeds pick nearly independent subsets: overlap about 0.3 * 0.3.
    assert abs((third & other).mean() - 0.09) < 0.015
    assert not (third & ~more).any()  # a larger fraction with the same seed keeps a superset


def test_selection_does_not_depend_on_order_or_batching() -> None:
    ids, _ = all_ids()
    selection = RowSelection(False, True, effects=("shift",), fraction=0.5, seed=9)
    order = np.random.default_rng(0).permutation(len(ids))
    np.testing.assert_array_equal(augmented_mask(ids, selection)[order], augmented_mask(ids[order], selection))


def test_select_batch_keeps_every_column_of_the_kept_rows() -> None:
    ids, effects = all_ids()
    batch = pa.RecordBatch.from_pydict({"id": ids, "effect": effects, "x": np.arange(len(ids))})
    selection = RowSelection(True, True, effects=("rotate",), fraction=0.5, seed=1)
    kept = select_batch(batch, selection)
    mask = augmented_mask(ids, selection)
    assert kept.num_rows == int(mask.sum()) > 0
    np.testing.assert_array_equal(kept.column("x").to_numpy(), np.flatnonzero(mask))
    assert set(kept.column("effect").to_pylist()) == {"rotate"}


def test_original_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="id 12 is not an augmented row id"):
        augmented_mask(np.array([augmented_ids(SOURCES[:1], "rotate", 0)[0], 12]), RowSelection(True, True))


def test_selection_rules() -> None:
    with pytest.raises(ValueError, match="needs the originals, the augmented rows or both"):
        RowSelection(False, False)
    with pytest.raises(ValueError, match="fraction"):
        RowSelection(True, True, fraction=0.0)
    with pytest.raises(ValueError, match="unknown effects"):
        RowSelection(True, True, effects=("smudge",))
    assert RowSelection(True, False).key == "originals"
    a, b = RowSelection(True, True, fraction=0.5, seed=1), RowSelection(False, True, fraction=0.5, seed=1)
    assert a.augmented_key == b.augmented_key and a.key != b.key
    assert RowSelection(True, True, seed=1).key == RowSelection(True, True, seed=2).key  # all rows: seed unused
    assert "0.5 of them" in a.describe() and b.describe().startswith("augmented rows")


# --- config ---------------------------------------------------------------------------

AUGMENT = {"enabled": True, "effects": list(EFFECTS), "copies": 2}


def config(**sections: Any) -> JobConfig:
    return validate_config({"augment": AUGMENT, **sections})


def test_rows_default_to_the_originals_and_members_inherit_the_team_rows() -> None:
    cfg = validate_config({})
    assert not cfg.baseline.rows.augmented and not cfg.team.rows.augmented
    cfg = config(
        team={
            "rows": {"augmented": True, "fraction": 0.5},
            "members": [
                {"name": "a", "algorithm": "drf"},
                {"name": "b", "algorithm": "gbm"},
                {"name": "c", "algorithm": "glm", "rows": {"originals": False, "augmented": True, "seed": 3}},
            ],
        }
    )
    a, b, c = (cfg.team.member_rows(m).selection(cfg.run.seed, m.name) for m in cfg.team.members)
    assert a.augmented and a.fraction == 0.5 and a.seed == subset_seed(cfg.run.seed, "a")
    assert a.seed != b.seed  # members draw different subsets by default
    assert not c.originals and c.seed == 3 and c.fraction == 1.0


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"baseline": {"rows": {"originals": False}}}, "baseline.rows: .*originals and augmented are both false"),
        ({"team": {"rows": {"fraction": 1.5}}}, "team.rows.fraction"),
        ({"team": {"rows": {"effects": ["smudge"]}}}, r"team.rows.effects\[0\]: .*unknown effect 'smudge'"),
        ({"baseline": {"rows": {"augment": True}}}, "baseline.rows.augment: unknown key"),
    ],
)
def test_rows_errors_name_the_key(sections: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(**sections)


def test_augmented_rows_need_the_augment_stage_and_its_effects() -> None:
    member = {"name": "m", "algorithm": "drf", "rows": {"augmented": True}}
    with pytest.raises(ConfigError, match=r"augment.enabled is false but team.members\[0\].rows.augmented is true"):
        validate_config({"team": {"members": [member], "keep": 1}, "augment": {"enabled": False}})
    with pytest.raises(ConfigError, match=r"but baseline.rows.augmented, team.rows.augmented are true"):
        validate_config({"baseline": {"rows": {"augmented": True}}, "team": {"rows": {"augmented": True}}})
    with pytest.raises(ConfigError, match=r"baseline.rows.effects: \['warp'\] are not made by the augment stage"):
        config(baseline={"rows": {"augmented": True, "effects": ["warp"]}})


def test_rows_change_the_fingerprint() -> None:
    plain = config()
    more = config(baseline={"rows": {"augmented": True}})
    assert plain.fingerprint("baseline") != more.fingerprint("baseline")
    assert plain.fingerprint("team") == more.fingerprint("team")


# --- the numpy encoder chain ----------------------------------------------------------


def autoencoder(name: str, inputs: list[str], hidden: int, seed: int, scaled: bool) -> NetworkSpec:
    rng = np.random.default_rng(seed)
    n = len(inputs)
    return NetworkSpec(
        model_id=name,
        category="AutoEncoder",
        activation="Tanh",
        categorical_inputs=(),
        numeric_inputs=tuple(inputs),
        use_all_factor_levels=True,
        norm_sub=rng.normal(size=n) if scaled else None,
        norm_mul=rng.uniform(0.5, 2.0, size=n) if scaled else None,
        layers=(
            Layer("tanh", rng.normal(scale=0.05, size=(hidden, n)), rng.normal(size=hidden)),
            Layer("tanh", rng.normal(size=(n, hidden)), rng.normal(size=n)),
        ),
    )


def test_chain_encodes_pixels_then_stacks_exactly() -> None:
    kept = list(PIXEL_COLUMNS[100:700])  # an autoencoder sees only its non-constant columns
    links = [ChainLink("Big", "pixels", 5), ChainLink("Top", "Big", 3)]
    specs = {
        "Big": autoencoder("Big", kept, 5, seed=1, scaled=True),
        "Top": autoencoder("Top", [f"Big_{i}" for i in range(5)], 3, seed=2, scaled=False),
    }
    pixels = np.random.default_rng(3).integers(0, 256, size=(7, 784)).astype(np.uint8)
    frames = encode_pixels(links, specs, pixels)
    big = specs["Big"]
    assert big.norm_sub is not None and big.norm_mul is not None
    x = (pixels[:, 100:700] - big.norm_sub) * big.norm_mul
    hidden = np.tanh(x @ big.layers[0].weights.T + big.layers[0].biases)
    np.testing.assert_allclose(frames["Big"].to_numpy(), hidden, atol=1e-12)
    top = np.tanh(hidden @ specs["Top"].layers[0].weights.T + specs["Top"].layers[0].biases)
    np.testing.assert_allclose(frames["Top"].to_numpy(), top, atol=1e-12)

    batch = pa.RecordBatch.from_pydict(
        {"id": pa.array(np.arange(7) + 40, pa.int64()), "label": pa.array(np.arange(7) % 3, pa.int32())}
    ).append_column("pixels", pixels_to_arrow(pixels))
    out = feature_batch(batch, links, specs, used=["Top"], kept_pixels=["px5"])
    assert out.schema == feature_schema(links, ["Top"], ["px5"])
    assert out.schema.names == ["id", "label", "px5", "Top_0", "Top_1", "Top_2"]
    np.testing.assert_array_equal(out.column("id").to_numpy(), np.arange(7) + 40)
    np.testing.assert_array_equal(out.column("px5").to_numpy(), pixels[:, 5])
    assert out.schema.field("px5").type == pa.int16()  # grey levels exactly, a quarter of float64
    np.testing.assert_allclose(np.column_stack([out.column(f"Top_{i}").to_numpy() for i in range(3)]), top)
