"""Augmentation over Arrow record batches: the per-partition work of the augment job.

Pure pyarrow + numpy, no Spark: the augment job hands :func:`augment_batches` the
train split's batches through ``mapInArrow``, and tests call it directly.

Every input batch of ``(id, label, pixels)`` rows gives one output batch per
``(effect, copy)`` of the :class:`AugmentPlan`, in the plan's order, with the columns
of :data:`AUGMENTED_ARROW_SCHEMA`: ``id``, ``label`` (copied), ``pixels`` (the effect's
output), and the provenance ``source_id``, ``effect``, ``copy``. A row's pixels depend
only on ``(run seed, source id, copy, effect)`` and the source image (see
:func:`sparkling_mnist.augment.row_keys`), so batch size, partitioning and
task retries never change them.

The ids of augmented rows and the plan itself: :mod:`.ids`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa

from sparkling_mnist.augment.ids import AugmentPlan, augmented_ids
from sparkling_mnist.augment.registry import apply_effect
from sparkling_mnist.schema import SIDE, pixels_from_arrow, pixels_to_arrow

log = logging.getLogger(__name__)

AUGMENTED_ARROW_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("label", pa.int32(), nullable=False),
        pa.field("pixels", pa.binary(), nullable=False),
        pa.field("source_id", pa.int64(), nullable=False),
        pa.field("effect", pa.string(), nullable=False),
        pa.field("copy", pa.int32(), nullable=False),
    ]
)
"""Augmented rows: the image columns (without `split`: they are all training rows) plus provenance."""


def _integer_column(batch: pa.RecordBatch, name: str, dtype: type[np.int32] | type[np.int64]) -> pa.Array:
    if name not in batch.schema.names:
        raise ValueError(f"augment input needs columns id, label, pixels; got {batch.schema.names}")
    column = batch.column(name)
    if column.null_count:
        raise ValueError(f"column {name!r} has {column.null_count} null values")
    if not pa.types.is_integer(column.type):
        raise ValueError(f"column {name!r} must be integer, got {column.type}")
    return column.cast(pa.from_numpy_dtype(dtype))


def augment_batch(batch: pa.RecordBatch, plan: AugmentPlan) -> Iterator[pa.RecordBatch]:
    """Augment one batch of ``(id, label, pixels)`` rows: one output batch per (effect, copy).

    An empty batch gives nothing.

    Raises:
        ValueError: a missing column, a null, a pixels value that is not 784 bytes, or a
            source id the id layout cannot hold.
    """
    if batch.num_rows == 0:
        return
    source_ids = _integer_column(batch, "id", np.int64)
    labels = _integer_column(batch, "label", np.int32)
    if "pixels" not in batch.schema.names:
        raise ValueError(f"augment input needs columns id, label, pixels; got {batch.schema.names}")
    images = pixels_from_arrow(batch.column("pixels")).reshape(-1, SIDE, SIDE)
    ids = source_ids.to_numpy()
    n = batch.num_rows
    for effect in plan.effects:
        effect_column = pa.repeat(pa.scalar(effect, pa.string()), n)
        settings = plan.params.get(effect)
        for copy in range(plan.copies):
            pixels = apply_effect(effect, images, ids, copy, plan.run_seed, params=settings)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(augmented_ids(ids, effect, copy), pa.int64()),
                    labels,
                    pixels_to_arrow(pixels),
                    source_ids,
                    effect_column,
                    pa.array(np.full(n, copy, dtype=np.int32)),
                ],
                schema=AUGMENTED_ARROW_SCHEMA,
            )


def augment_batches(batches: Iterable[pa.RecordBatch], plan: AugmentPlan) -> Iterator[pa.RecordBatch]:
    """Augment a stream of batches (one Spark partition), batch by batch; memory stays one batch."""
    for batch in batches:
        yield from augment_batch(batch, plan)
