from typing import Any

import pytest

from sparkling_mnist.config import validate_config
from sparkling_mnist.errors import ConfigError, H2OParameterError
from sparkling_mnist.features.stage import autoencoder_fingerprints, check_features_parameters


def _features(**section: Any) -> Any:
    return validate_config({"features": section}).features


def test_recipe_default_is_ae200_ae32_ae768_into_ae128() -> None:
    features = _features()
    ordered = features.ordered()
    assert [spec.name for spec in ordered] == ["AE200", "AE32", "AE768", "AE128"]
    assert features.used() == ["AE200", "AE32", "AE128"]
    by_name = {spec.name: spec for spec in ordered}
    assert by_name["AE768"].hidden == "nonconstant" and by_name["AE128"].input == "AE768"
    assert by_name["AE200"].params == {
        "activation": "Tanh",
        "epochs": 20,
        "train_samples_per_iteration": 0,
        "input_dropout_ratio": 0.3,
        "l2": 1e-4,
    }
    assert by_name["AE128"].params["input_dropout_ratio"] == 0.0 and by_name["AE32"].params["l2"] == 1e-5


def test_stacking_order_puts_inputs_first() -> None:
    features = _features(
        autoencoders=[
            {"name": "Top", "hidden": 4, "input": "Mid"},
            {"name": "Mid", "hidden": 8, "input": "Low"},
            {"name": "Low", "hidden": 16},
        ]
    )
    assert [spec.name for spec in features.ordered()] == ["Low", "Mid", "Top"]
    assert features.used() == ["Top"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"autoencoders": [{"name": "A", "hidden": 3, "input": "B"}, {"name": "B", "hidden": 3, "input": "A"}]},
            "circular stacking A -> B -> A",
        ),
        ({"autoencoders": [{"name": "A", "hidden": 3, "input": "A"}]}, "circular stacking A -> A"),
        ({"autoencoders": [{"name": "A", "hidden": 3, "input": "Z"}]}, "stacks on 'Z', which is neither 'pixels'"),
        ({"autoencoders": [{"name": "A", "hidden": 0}]}, "features.autoencoders[0].hidden"),
        ({"autoencoders": []}, "at least one is needed"),
        ({"autoencoders": [{"name": "A", "hidden": 3}, {"name": "A", "hidden": 4}]}, "repeated: ['A']"),
        ({"use": []}, "the feature set has no columns"),
        ({"use": ["AE999"]}, "use: 'AE999' is not an autoencoder"),
        ({"passthrough": ["px9999"]}, "not pixel columns"),
    ],
)
def test_bad_feature_graphs_fail_before_training(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({"features": section})
    assert message in str(err.value)


def test_h2o_parameters_are_checked_with_the_key_path() -> None:
    check_features_parameters(_features())
    features = _features(autoencoders=[{"name": "A", "hidden": 3, "params": {"input_dropout": 0.1}}])
    with pytest.raises(
        H2OParameterError, match=r"features.autoencoders\[0\].params.input_dropout: .*input_dropout_ratio"
    ):
        check_features_parameters(features)
    with pytest.raises(H2OParameterError, match="set by the autoencoder spec itself"):
        check_features_parameters(_features(autoencoders=[{"name": "A", "hidden": 3, "params": {"hidden": [3]}}]))


def test_a_changed_parameter_changes_that_model_and_what_stacks_on_it() -> None:
    base = autoencoder_fingerprints(_features(), "data")
    raw = validate_config({}).features.model_dump(mode="json")
    raw["autoencoders"][2]["params"] = {"input_dropout_ratio": 0.2, "l2": 1e-4}  # AE768
    changed = autoencoder_fingerprints(_features(**raw), "data")
    assert [name for name in base if base[name] != changed[name]] == ["AE768", "AE128"]
    assert autoencoder_fingerprints(_features(), "other data") != base
