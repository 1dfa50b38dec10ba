"""Validate batches, assign ids and splits, count everything. Pure numpy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from sparkling_mnist.data.records import RejectedRow, SourceBatch
from sparkling_mnist.data.split import assign_splits
from sparkling_mnist.data.validate import validate_batch
from sparkling_mnist.schema import PIXELS


@dataclass(frozen=True)
class IngestCounts:
    """Row counts of one ingestion; `read == accepted + rejected` always holds."""

    read: int
    accepted: int
    rejected: int
    per_split: dict[str, int]
    per_file: dict[str, dict[str, int]]
    reject_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def reject_fraction(self) -> float:
        """Rejected rows over rows read (0 when nothing was read)."""
        return self.rejected / self.read if self.read else 0.0


@dataclass(frozen=True)
class AssembledImages:
    """Accepted rows in the schema's types, the rejects, and the counts."""

    ids: np.ndarray  # (N,) int64
    labels: np.ndarray  # (N,) int32
    pixels: np.ndarray  # (N, 784) uint8
    splits: np.ndarray  # (N,) object: "train" | "valid" | "test"
    rejects: list[RejectedRow]
    counts: IngestCounts


def _reason_kind(reason: str) -> str:
    """Group reasons for the summary: 'pixel 12 value 300 ...' -> 'pixel value'."""
    words = reason.split()
    if words[0] == "pixel":
        return "pixel missing or not a number" if "missing" in reason else "pixel out of range"
    if words[0] == "label":
        return "label missing or not a number" if "missing" in reason else "label out of range"
    if words[0] == "row" and "columns" in reason:
        return "wrong row width"
    return " ".join(words[:2])


def assemble(
    batches: Iterable[SourceBatch],
    valid_fraction: float,
    test_fraction: float,
    seed: int,
    source_has_test: bool,
    *,
    one_split: str | None = None,
) -> AssembledImages:
    """Validate every batch, give rows ids and splits, and count read/accepted/rejected.

    `one_split` puts every accepted row in that one split instead (images to score are
    one set, never split into train/valid/test).

    Ids: given ids (Parquet) are kept; otherwise a row's id is an offset (the rows of
    the files before it) plus its row number in its file minus one, so fixing a bad
    row never renumbers the others. A repeated given id is rejected (the first kept).
    """
    ids_parts, labels_parts, pixels_parts, given_parts, test_parts = [], [], [], [], []
    rejects: list[RejectedRow] = []
    per_file: dict[str, dict[str, int]] = {}
    next_id = 0
    seen: dict[int, tuple[str, int]] = {}
    for batch in batches:
        accepted, batch_rejects = validate_batch(batch)
        if batch.ids is not None:
            ids = batch.ids[accepted.row_index]
        else:
            ids = next_id + (batch.row_numbers[accepted.row_index] - 1)
            last_row = max([int(batch.row_numbers.max(initial=0))] + [r.row for r in batch.rejects])
            next_id += last_row
        keep = np.ones(len(ids), dtype=bool)
        if batch.ids is not None:
            for j, row_id in enumerate(ids.tolist()):
                row = int(batch.row_numbers[accepted.row_index[j]])
                if row_id in seen:
                    keep[j] = False
                    first_file, first_row = seen[row_id]
                    batch_rejects.append(
                        RejectedRow(
                            source_file=batch.source_file,
                            row=row,
                            reason=f"duplicate id {row_id} (first seen in {first_file} row {first_row})",
                            label=float(accepted.labels[j]),
                            pixels=accepted.pixels[j].tobytes(),
                        )
                    )
                else:
                    seen[row_id] = (batch.source_file, row)
        given = (
            batch.splits[accepted.row_index][keep]
            if batch.splits is not None
            else np.full(int(keep.sum()), None, dtype=object)
        )
        ids_parts.append(ids[keep].astype(np.int64))
        labels_parts.append(accepted.labels[keep])
        pixels_parts.append(accepted.pixels[keep])
        given_parts.append(given)
        test_parts.append(np.full(int(keep.sum()), batch.part == "test"))
        rejects.extend(batch_rejects)
        stats = per_file.setdefault(batch.source_file, {"read": 0, "accepted": 0, "rejected": 0})
        stats["read"] += batch.rows_read
        stats["accepted"] += int(keep.sum())
        stats["rejected"] += len(batch_rejects)

    ids = np.concatenate(ids_parts) if ids_parts else np.empty(0, np.int64)
    splits = assign_splits(
        ids=ids,
        in_test_part=np.concatenate(test_parts) if test_parts else np.empty(0, bool),
        given=np.concatenate(given_parts) if given_parts else np.empty(0, object),
        valid_fraction=valid_fraction,
        test_fraction=test_fraction,
        seed=seed,
        source_has_test=source_has_test,
    )
    if one_split is not None:
        splits = np.full(len(ids), one_split, dtype=object)
    names = (one_split,) if one_split is not None else ("train", "valid", "test")
    read = sum(stats["read"] for stats in per_file.values())
    counts = IngestCounts(
        read=read,
        accepted=len(ids),
        rejected=len(rejects),
        per_split={name: int((splits == name).sum()) for name in names},
        per_file=per_file,
        reject_reasons=dict(Counter(_reason_kind(r.reason) for r in rejects)),
    )
    return AssembledImages(
        ids=ids,
        labels=np.concatenate(labels_parts) if labels_parts else np.empty(0, np.int32),
        pixels=np.concatenate(pixels_parts) if pixels_parts else np.empty((0, PIXELS), np.uint8),
        splits=splits,
        rejects=rejects,
        counts=counts,
    )
