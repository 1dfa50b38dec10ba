from pathlib import Path

import pytest

from sparkling_mnist.augment import PRESET_EFFECTS, EraseParams, GarmentsParams, RotateParams, known_effects
from sparkling_mnist.config import (
    JobConfig,
    apply_overrides,
    load_config,
    validate_config,
)
from sparkling_mnist.config.data import CsvSource, FashionMnistSource, MlxtendSource
from sparkling_mnist.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "conf").glob("*.yaml")))
def test_shipped_configs_validate(name: str) -> None:
    cfg = load_config(ROOT / "conf" / name)
    assert isinstance(cfg, JobConfig)


def test_local_config_is_the_embedded_default() -> None:
    cfg = load_config(ROOT / "conf" / "local.yaml")
    assert isinstance(cfg.source, MlxtendSource)
    assert cfg.spark.master == "local[2]"
    assert cfg.ingest.max_reject_fraction == 0.0


def test_unknown_key_names_the_path_and_the_known_keys() -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({"split": {"valid_fraktion": 0.1}})
    message = str(err.value)
    assert "split.valid_fraktion: unknown key" in message
    assert "valid_fraction" in message and "test_fraction" in message


def test_unknown_key_inside_a_source_variant() -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({"source": {"format": "csv", "train": ["a.csv"], "heading": "yes"}})
    assert "source.csv.heading: unknown key" in str(err.value)
    assert "header" in str(err.value)


def test_mistyped_value_names_the_path_and_the_value() -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({"ingest": {"max_reject_fraction": "lots"}})
    assert "ingest.max_reject_fraction" in str(err.value)
    assert "'lots'" in str(err.value)


def test_out_of_range_and_unknown_format() -> None:
    with pytest.raises(ConfigError, match=r"split.valid_fraction"):
        validate_config({"split": {"valid_fraction": 1.5}})
    with pytest.raises(ConfigError, match=r"source"):
        validate_config({"source": {"format": "tiff"}})
    with pytest.raises(ConfigError, match=r"valid_fraction \+ test_fraction"):
        validate_config({"split": {"valid_fraction": 0.5, "test_fraction": 0.5}})


def test_spark_conf_keys_must_be_spark_settings() -> None:
    with pytest.raises(ConfigError, match=r"spark.conf.*spark\."):
        validate_config({"spark": {"conf": {"driver.memory": "2g"}}})


def test_overrides_are_parsed_as_yaml_and_validated() -> None:
    raw = apply_overrides(
        {"run": {"dir": "a"}},
        [
            "run.dir=runs/b",
            "split.valid_fraction=0.25",
            "baseline.params.hidden=[32, 16]",
            "spark.conf.spark.sql.shuffle.partitions=3",
            "source.format=fashion-mnist",
        ],
    )
    cfg = validate_config(raw)
    assert cfg.run.dir == "runs/b"
    assert cfg.split.valid_fraction == 0.25
    assert cfg.baseline.params["hidden"] == [32, 16]
    assert cfg.spark.conf == {"spark.sql.shuffle.partitions": 3}
    assert isinstance(cfg.source, FashionMnistSource)


def test_bad_overrides() -> None:
    with pytest.raises(ConfigError, match=r"expected key\.path=value"):
        apply_overrides({}, ["run.dir"])
    with pytest.raises(ConfigError, match=r"run\.dir is a value, not a section"):
        apply_overrides({"run": {"dir": "x"}}, ["run.dir.deeper=1"])
    with pytest.raises(ConfigError, match=r"run.sede: unknown key"):
        load_config(ROOT / "conf" / "local.yaml", ["run.sede=3"])


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("run: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(listing)


def test_config_is_frozen_and_fingerprints_are_stable() -> None:
    cfg = validate_config({"source": {"format": "csv", "train": ["a.csv"]}})
    assert isinstance(cfg.source, CsvSource)
    with pytest.raises(ValueError, match="frozen"):
        cfg.run.dir = "elsewhere"  # type: ignore[misc]
    same = validate_config({"source": {"format": "csv", "train": ["a.csv"]}})
    other = validate_config({"source": {"format": "csv", "train": ["b.csv"]}})
    assert cfg.fingerprint("source") == same.fingerprint("source")
    assert cfg.fingerprint("source") != other.fingerprint("source")
    assert cfg.fingerprint("split") == other.fingerprint("split")


def test_augment_defaults_keep_older_configs_valid_and_off() -> None:
    cfg = validate_config({})
    assert cfg.augment.enabled is False
    assert cfg.augment.effects == list(PRESET_EFFECTS["digits"]) and cfg.augment.copies == 1
    assert cfg.augment.preset is None
    assert "flip" not in cfg.augment.effects and "garments" not in cfg.augment.effects
    assert cfg.augment.params.for_effect("rotate") == RotateParams()


def test_shipped_configs_keep_local_small_and_fashion_on_garments_with_torch() -> None:
    local = load_config(ROOT / "conf" / "local.yaml")
    assert local.augment.copies * len(local.augment.effects) <= 11
    full = load_config(ROOT / "conf" / "full-recipe.yaml")
    assert full.baseline.enabled and isinstance(full.source, FashionMnistSource)
    assert full.split.valid_fraction == 0.05  # the full 60 K training images: 57 K train + 3 K valid
    for name in ("full-recipe", "fashion-mnist", "bench-fashion"):
        cfg = load_config(ROOT / "conf" / f"{name}.yaml")
        assert isinstance(cfg.source, FashionMnistSource), name
        # Never a digit effect on garments (a preset refuses them), and every network torch-trained.
        assert not cfg.augment.enabled or cfg.augment.preset == "garments", name
        assert cfg.baseline.trainer == cfg.features.trainer == cfg.team.trainer == "torch", name


def test_unknown_effect_names_its_index_and_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({"augment": {"effects": ["rotate", "twirl"]}})
    message = str(err.value)
    assert "augment.effects[1]: unknown effect 'twirl'" in message
    assert "known effects: " + ", ".join(known_effects()) in message


def test_augment_effect_settings_are_checked_by_key_path() -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({"augment": {"params": {"rotate": {"sharpen": {"unsharp_amont": 2}}}}})
    assert "augment.params.rotate.sharpen.unsharp_amont: unknown key" in str(err.value)
    assert "unsharp_amount" in str(err.value)
    with pytest.raises(ConfigError, match=r"augment\.params\.twirl: unknown key \(known keys here: affine, all, all2"):
        validate_config({"augment": {"params": {"twirl": {}}}})
    with pytest.raises(ConfigError, match=r"augment\.params\.all\.rotate: RotateParams\.sigma_degrees must be >= 0"):
        validate_config({"augment": {"params": {"all": {"rotate": {"sigma_degrees": -2}}}}})
    with pytest.raises(ConfigError, match=r"augment\.params\.bold\.max_copies: Input should be a valid integer"):
        validate_config({"augment": {"params": {"bold": {"max_copies": "many"}}}})


def test_augment_counts_and_effect_lists_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"augment\.copies: Input should be greater than or equal to 1"):
        validate_config({"augment": {"copies": 0}})
    with pytest.raises(ConfigError, match=r"augment\.copies: Input should be less than or equal to 4096"):
        validate_config({"augment": {"copies": 5000}})
    with pytest.raises(ConfigError, match=r"augment\.effects: List should have at least 1 item"):
        validate_config({"augment": {"effects": []}})
    with pytest.raises(ConfigError, match=r"augment\.effects: each effect may appear once \(repeated: all\)"):
        validate_config({"augment": {"effects": ["all", "shift", "all"]}})
    with pytest.raises(ConfigError, match=r"augment\.rows_per_batch"):
        validate_config({"augment": {"rows_per_batch": 0}})


def test_preset_without_effects_picks_the_kind_of_image_s_effects() -> None:
    garments = validate_config({"augment": {"preset": "garments"}})
    assert garments.augment.effects == ["garments"]
    assert garments.augment.plan(1).params == {"garments": GarmentsParams()}
    digits = validate_config({"augment": {"preset": "digits"}})
    assert digits.augment.effects == list(PRESET_EFFECTS["digits"]) == validate_config({}).augment.effects
    # The preset only chooses and checks the effects: the rows, and so the fingerprint, follow the effects.
    same_rows = validate_config({"augment": {"effects": ["garments"]}})
    assert same_rows.augment.output_settings() == garments.augment.output_settings()


def test_preset_keeps_the_effects_it_is_given_when_they_suit_it() -> None:
    cfg = validate_config({"augment": {"preset": "garments", "effects": ["flip", "erase", "shift"]}})
    assert cfg.augment.effects == ["flip", "erase", "shift"]
    cfg = validate_config({"augment": {"preset": "digits", "effects": ["rotate", "jitter", "translate"]}})
    assert cfg.augment.effects == ["rotate", "jitter", "translate"]
    # No preset: any effect goes, flip on digits included.
    assert validate_config({"augment": {"effects": ["flip", "rotate"]}}).augment.effects == ["flip", "rotate"]


@pytest.mark.parametrize(
    "effect", ["rotate", "warp", "bold", "dilate", "erode", "erodedilate", "scratches", "blotches", "all", "all2"]
)
def test_digit_effect_with_garments_preset_is_an_error_naming_the_key_and_the_effect(effect: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({"augment": {"preset": "garments", "effects": ["flip", effect]}})
    message = str(err.value)
    assert f"augment.effects: '{effect}' does not suit preset 'garments'" in message
    assert "effects for garments: affine, erase, flip, garments, jitter, shift, translate" in message


@pytest.mark.parametrize("effect", ["flip", "garments"])
def test_mirroring_effect_with_digits_preset_is_an_error_naming_the_key_and_the_effect(effect: str) -> None:
    with pytest.raises(ConfigError, match=rf"augment\.effects: '{effect}' does not suit preset 'digits'"):
        validate_config({"augment": {"preset": "digits", "effects": ["rotate", effect]}})


def test_preset_errors_list_every_unsuited_effect_and_unknown_presets() -> None:
    with pytest.raises(ConfigError, match=r"augment\.effects: 'bold', 'all2' do not suit preset 'garments'"):
        validate_config({"augment": {"preset": "garments", "effects": ["bold", "translate", "all2"]}})
    with pytest.raises(ConfigError) as err:
        validate_config({"augment": {"preset": "shoes"}})
    assert "augment.preset: Input should be 'digits' or 'garments' (got 'shoes')" in str(err.value)
    assert "augment.effects" not in str(err.value)  # one mistake, one message
    # A preset set on the command line does not replace the file's effects: it checks them.
    raw = apply_overrides({"augment": {"effects": ["all", "all2"]}}, ["augment.preset=garments"])
    with pytest.raises(ConfigError, match=r"augment\.effects: 'all', 'all2' do not suit preset 'garments'"):
        validate_config(raw)


def test_garment_effect_settings_are_configurable_by_key_path() -> None:
    cfg = validate_config(
        {
            "augment": {
                "preset": "garments",
                "params": {
                    "garments": {"jitter_prob": 0.6, "erase": {"fill": "noise"}, "affine": {"sigma_degrees": 4}},
                    "erase": {"probability": 1.0, "grey_level": 0},
                },
            }
        }
    )
    garments = cfg.augment.params.for_effect("garments")
    assert isinstance(garments, GarmentsParams)
    assert garments.jitter_prob == 0.6 and garments.erase.fill == "noise" and garments.affine.sigma_degrees == 4.0
    assert cfg.augment.params.for_effect("erase") == EraseParams(probability=1.0, grey_level=0)
    with pytest.raises(ConfigError, match=r"augment\.params\.erase\.fill: Input should be 'grey' or 'noise'"):
        validate_config({"augment": {"params": {"erase": {"fill": "paint"}}}})
    with pytest.raises(ConfigError, match=r"augment\.params\.translate\.max_pixel: unknown key"):
        validate_config({"augment": {"params": {"translate": {"max_pixel": 3}}}})
    with pytest.raises(ConfigError, match=r"augment\.params\.garments: GarmentsParams\.erase\.probability is not"):
        validate_config({"augment": {"params": {"garments": {"erase": {"probability": 0.9}}}}})
    with pytest.raises(ConfigError, match=r"augment\.params\.jitter: JitterParams\.contrast must be in \[0, 1\)"):
        validate_config({"augment": {"params": {"jitter": {"contrast": 1.5}}}})


def test_augment_settings_take_overrides_and_change_the_fingerprint() -> None:
    raw = apply_overrides({}, ["augment.enabled=true", "augment.params.rotate.sigma_degrees=4", "augment.copies=3"])
    cfg = validate_config(raw)
    assert cfg.augment.enabled and cfg.augment.copies == 3
    assert cfg.augment.params.for_effect("rotate") == RotateParams(sigma_degrees=4.0)
    assert cfg.fingerprint("augment") != validate_config({}).fingerprint("augment")
    assert cfg.fingerprint("baseline") == validate_config({}).fingerprint("baseline")


def test_shipped_configs_load_by_name_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sparkling_mnist.config.loading import config_file, shipped_configs

    monkeypatch.chdir(tmp_path)  # no conf/ here
    shipped = shipped_configs()
    assert {"local", "bench-fashion", "cluster", "fashion-mnist", "full-recipe"} <= set(shipped)
    for name in shipped:
        assert load_config(name) is not None  # every shipped config validates
    assert config_file("conf/local.yaml") == shipped["local"]  # the README's path, from elsewhere
    assert load_config("local").model_dump() == load_config(str(shipped["local"])).model_dump()
    mine = tmp_path / "conf" / "local.yaml"  # a file of the user's own wins over the shipped one
    mine.parent.mkdir()
    mine.write_text("run: {dir: runs/mine}\n")
    assert load_config("conf/local.yaml").run.dir == "runs/mine"
    with pytest.raises(ConfigError, match=r"config file nope not found, and it is not a shipped config \(bench"):
        load_config("nope")


def test_walkthrough_config_is_h2o_s_mnist_network_on_the_embedded_digits() -> None:
    from sparkling_mnist.baseline.classifier import classifier_parameters

    cfg = load_config("walkthrough")
    assert isinstance(cfg.source, MlxtendSource) and cfg.baseline.trainer == "h2o"
    params = classifier_parameters(cfg.baseline, cfg.run.seed)  # checked against H2O's estimator
    walkthrough = {
        "activation": "RectifierWithDropout",
        "adaptive_rate": False,
        "rate": 0.01,
        "rate_decay": 0.9,
        "rate_annealing": 1e-6,
        "momentum_start": 0.95,
        "momentum_ramp": 1e5,
        "momentum_stable": 0.99,
        "nesterov_accelerated_gradient": False,
        "input_dropout_ratio": 0.2,
        "train_samples_per_iteration": 20000,
        "classification_stop": -1,
        "l1": 1e-5,
    }
    assert {key: params[key] for key in walkthrough} == walkthrough
    assert not (cfg.augment.enabled or cfg.features.enabled or cfg.team.enabled)
