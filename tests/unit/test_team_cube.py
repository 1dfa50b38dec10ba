"""The team's arithmetic on hand-made cubes whose answers are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sparkling_mnist.errors import TeamError
from sparkling_mnist.evaluate.classification import multiclass_logloss
from sparkling_mnist.team import cube as team_cube

# 4 rows, 3 classes, 3 members. Labels: 0, 1, 2, 2.
A = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
B = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.4, 0.2, 0.4], [0.1, 0.1, 0.8]])
C = np.array([[0.2, 0.7, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
LABELS = np.array([0, 1, 2, 2])
NAMES = ["a", "b", "c"]


def cube() -> np.ndarray:
    return team_cube.probability_cube([A, B, C], NAMES)


def test_cube_shape_and_member_order() -> None:
    built = cube()
    assert built.shape == (4, 3, 3) and built.dtype == np.float64
    np.testing.assert_array_equal(built[:, :, 1], B)


def test_summed_prediction_and_mean_probabilities() -> None:
    # Sums per row: [1.5, 1.2, 0.3], [0.8, 1.9, 0.3], [1.0, 0.6, 1.4], [0.6, 0.7, 1.7]
    np.testing.assert_array_equal(team_cube.summed_prediction(cube()), [0, 1, 2, 2])
    np.testing.assert_allclose(team_cube.team_probabilities(cube())[2], [1.0 / 3, 0.2, 1.4 / 3])


def test_vote_and_its_tie_break() -> None:
    # Member classes: row0 a0 b0 c1 -> 0; row1 a1 b0 c1 -> 1; row2 a0 b0(tie 0.4/0.4 -> 0) c2 -> 0;
    # row3 a2 b2 c1 -> 2.
    np.testing.assert_array_equal(team_cube.member_predictions(cube())[2], [0, 0, 2])
    np.testing.assert_array_equal(team_cube.vote_prediction(cube()), [0, 1, 0, 2])
    # Three members, three different classes: the summed probability decides.
    tie = team_cube.probability_cube(
        [np.array([[0.5, 0.3, 0.2]]), np.array([[0.1, 0.5, 0.4]]), np.array([[0.0, 0.45, 0.55]])], NAMES
    )
    assert team_cube.vote_prediction(tie).tolist() == [1]  # sums 0.6, 1.25, 1.15


def test_correctness_tables() -> None:
    correct = team_cube.correctness(cube(), LABELS)
    np.testing.assert_array_equal(
        correct, [[True, True, False], [True, False, True], [False, False, True], [True, True, False]]
    )
    np.testing.assert_array_equal(team_cube.correct_counts(correct), [2, 2, 1, 2])
    assert team_cube.correctness_table(correct) == {0: 0, 1: 1, 2: 3, 3: 0}
    assert team_cube.cumulative_table(correct) == {0: 0, 1: 1, 2: 4, 3: 4}


def test_low_confidence_and_logloss() -> None:
    # Top mean probabilities: 0.5, 0.6333, 0.4667, 0.5667.
    np.testing.assert_array_equal(team_cube.low_confidence(cube(), 0.48), [False, False, True, False])
    np.testing.assert_array_equal(team_cube.low_confidence(cube(), 0.6), [True, False, True, True])
    expected = -(math.log(0.7) + math.log(0.8) + math.log(0.2) + math.log(0.6)) / 4
    assert multiclass_logloss(A, LABELS) == pytest.approx(expected)
    assert multiclass_logloss(np.array([[1.0, 0.0]]), np.array([1])) == pytest.approx(-math.log(1e-15))
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        team_cube.low_confidence(cube(), 0.0)


def test_team_summary_is_consistent() -> None:
    summary = team_cube.team_summary(cube(), LABELS, NAMES, threshold=0.48)
    assert summary["members"]["a"]["error"] == pytest.approx(0.25)  # a misses row 2
    assert summary["members"]["c"]["error"] == pytest.approx(0.5)
    assert summary["team"] == {"error": 0.0, "errors": 0, "logloss": pytest.approx(summary["team"]["logloss"])}
    assert summary["vote"]["errors"] == 1  # row 2
    assert summary["low_confidence"] == {"rows": 1, "error": 0.0, "confident_error": 0.0}
    assert summary["no_member_right"] == [] and sum(summary["correctness_table"].values()) == 4


def test_rank_members() -> None:
    scores = {"a": 0.2, "b": 0.1, "c": 0.2, "d": 0.3}
    assert team_cube.rank_members(scores, 3) == ["b", "a", "c"]
    assert team_cube.rank_members(scores, 1, lower_is_better=False) == ["d"]
    with pytest.raises(ValueError, match="cannot keep 5 of 4 members"):
        team_cube.rank_members(scores, 5)
    with pytest.raises(ValueError, match="cannot keep 0 of 4"):
        team_cube.rank_members(scores, 0)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([], "no members"),
        ([A, B[:3]], r"member b: shape \(3, 3\) differs from member a's \(4, 3\)"),
        ([A, np.hstack([B, np.zeros((4, 1))])], "member b: shape"),
        ([A, B[0]], r"member b: probabilities must be \(rows, classes\)"),
        ([A, np.where(B == 0.6, np.nan, B)], "member b: probabilities contain NaN"),
        ([A, B * 1.1], "member b: row 0 sums to 1.100000"),
    ],
)
def test_cube_errors_name_the_member(members: list[np.ndarray], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        team_cube.probability_cube(members, NAMES[: len(members)])


def test_label_errors() -> None:
    with pytest.raises(ValueError, match="label 3 is not one of the 3 classes"):
        team_cube.correctness(cube(), np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="3 labels for a cube of 4 rows"):
        team_cube.correctness(cube(), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="1-D integer"):
        team_cube.correctness(cube(), np.array([0.0, 1.0, 2.0, 2.0]))
    with pytest.raises(ValueError, match="2 names for 3 members"):
        team_cube.probability_cube([A, B, C], ["a", "b"])


def test_rows_without_probabilities_become_uniform() -> None:
    filled, count = team_cube.fill_empty_rows(np.array([[0.0, 0.0, 0.0], [0.2, 0.3, 0.5]]))
    assert count == 1
    np.testing.assert_allclose(filled, [[1 / 3, 1 / 3, 1 / 3], [0.2, 0.3, 0.5]])
    team_cube.probability_cube([filled], ["drf"])  # now a valid member


def test_prediction_table_names_classes_by_their_labels() -> None:
    # Two members over the classes 3, 5 and 7 (not 0..2): columns and predictions carry the labels.
    first = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])
    second = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.1, 0.1, 0.8]])
    cube = team_cube.probability_cube([first, second], ["a", "b"])
    labels = np.array([3, 7, 9])  # 9 is not a class: an unknown label
    table = team_cube.prediction_table(
        np.array([10, 11, 12]), labels, cube, classes=[3, 5, 7], names=["a", "b"], threshold=0.5
    )
    assert list(table.columns) == [
        "id", "label", "predict", "vote", "p3", "p5", "p7", "low_confidence", "members_right", "predict_a", "predict_b"
    ]  # fmt: skip
    # Summed probabilities: [1.3, .5, .2], [.6, .7, .7] (a tie: the first), [.3, .6, 1.1].
    assert table["predict"].tolist() == [3, 5, 7]
    # Votes: both 3; one 7 and one 3, the higher sum wins; one 5 and one 7, likewise.
    assert table["vote"].tolist() == [3, 7, 7]
    assert table["predict_a"].tolist() == [3, 7, 5] and table["predict_b"].tolist() == [3, 3, 7]
    assert table["members_right"].tolist() == [2, 1, -1]
    np.testing.assert_allclose(table["p7"], [0.1, 0.35, 0.55])
    assert table["low_confidence"].tolist() == [False, True, False]


def test_align_to_orders_rows_by_reference_ids_and_names_missing_ones() -> None:
    ids = np.array([30, 10, 20])
    assert team_cube.align_to(np.array([10, 20, 30]), ids).tolist() == [1, 2, 0]
    with pytest.raises(TeamError, match=r"1 of 2 row ids are missing \(e.g. id 40\)"):
        team_cube.align_to(np.array([10, 40]), ids)
