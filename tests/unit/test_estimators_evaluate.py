import numpy as np
import pytest
from h2o.estimators import H2ODeepLearningEstimator, H2OGradientBoostingEstimator

from sparkling_mnist.config.h2o_params import check_parameters, estimator_parameters
from sparkling_mnist.errors import H2OParameterError
from sparkling_mnist.evaluate.classification import classification_summary, confusion_matrix


def test_real_parameters_pass_and_typos_are_named() -> None:
    params = {"hidden": [200], "epochs": 2, "input_dropout_ratio": 0.2, "l2": 1e-4, "adaptive_rate": False}
    assert check_parameters(H2ODeepLearningEstimator, params, "baseline.params") == params
    assert "hidden_dropout_ratios" in estimator_parameters(H2ODeepLearningEstimator)
    with pytest.raises(H2OParameterError) as err:
        check_parameters(H2ODeepLearningEstimator, {"hiden": [10], "training_frame": "x"}, "baseline.params")
    message = str(err.value)
    assert "baseline.params.hiden: not a parameter of H2ODeepLearningEstimator (did you mean hidden" in message
    assert "baseline.params.training_frame: set by the job itself" in message
    with pytest.raises(H2OParameterError, match="H2OGradientBoostingEstimator"):
        check_parameters(H2OGradientBoostingEstimator, {"hidden": [1]}, "team.gbm")


def test_confusion_and_error() -> None:
    labels = np.array([0, 0, 1, 2, 2, 2])
    predicted = np.array([0, 1, 1, 2, 0, 2])
    matrix = confusion_matrix(labels, predicted, classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    summary = classification_summary(labels, predicted, logloss=0.5)
    assert summary["rows"] == 6 and summary["errors"] == 2 and summary["error"] == pytest.approx(2 / 6)
    assert summary["per_class_error"][:3] == [0.5, 0.0, pytest.approx(1 / 3, abs=1e-6)]
    assert summary["per_class_error"][3] is None and summary["logloss"] == 0.5
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix(labels, predicted[:3])
