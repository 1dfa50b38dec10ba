"""Give a model in the H2O cluster a new key, in place (no copy of its weights or trees).

H2O's REST import always restores a model under the key it was saved with, replacing
any model of that key. To load two runs' models that share an id side by side, the
store moves one of them to a namespaced key. H2O has no REST call for that, so this
goes through the H2O node inside the Spark driver's JVM (Sparkling Water's internal
backend): read the model from the distributed key-value store, set its key, put it
under the new key, remove the old entry (the entry only: the model's trees, weights
and metrics stay where they are, referenced by the moved model).
"""

from __future__ import annotations

from typing import Any

from sparkling_mnist.errors import StoreError


def _jvm() -> Any:
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None or context._jvm is None:
        raise StoreError("moving a model to a namespaced key needs the Sparkling Water session of this job")
    return context._jvm


def rekey_model(old_id: str, new_id: str) -> str:
    """Move the model at `old_id` to `new_id` (which must be free). Returns `new_id`.

    Raises:
        StoreError: no model at `old_id`, or `new_id` is taken.
    """
    from py4j.java_gateway import set_field

    jvm = _jvm()
    dkv = jvm.water.DKV
    old_key = jvm.water.Key.make(old_id)
    new_key = jvm.water.Key.make(new_id)
    model = dkv.getGet(old_key)
    if model is None:
        raise StoreError(f"no model {old_id!r} in the H2O cluster to move")
    if dkv.getGet(new_key) is not None:
        raise StoreError(f"cannot move model {old_id!r} to {new_id!r}: that key is taken")
    set_field(model, "_key", new_key)
    dkv.put(new_key, model)
    dkv.remove(old_key)
    return new_id
