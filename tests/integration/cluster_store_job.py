"""A job on a 2-node H2O cloud (Spark standalone, one H2O node per worker), run as its
own process by test_cluster_store.py, twice: `save` in one application, `load` in a
brand-new one.

    python tests/integration/cluster_store_job.py save|load CONF_JSON WORKDIR

`save` trains a small model and saves it three ways: to a relative local path (the
recipe's quirk: it lands in one executor's working directory), downloaded through the
client to WORKDIR, and to the S3 store. `load` tries all three in the new cloud.
Prints one JSON line with what happened.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sparkling_mnist.config import validate_config
from sparkling_mnist.runtime.session import SparkH2OSession
from sparkling_mnist.store import open_store

RUN_ID = "cluster-run"
MODEL_ID = "gbm_cluster"
RELATIVE = "quirk-models"


def frame() -> Any:
    import h2o

    rng = np.random.default_rng(11)
    table = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    table["y"] = np.where(table["a"] - table["c"] > 0, "yes", "no")
    data = h2o.H2OFrame(table)
    data["y"] = data["y"].asfactor()
    return data


def predictions(model: Any, data: Any) -> list[float]:
    return [float(v) for v in model.predict(data)["yes"].as_data_frame(use_multi_thread=False)["yes"]]


def save(cfg: Any, workdir: Path) -> dict[str, Any]:
    import h2o
    from h2o.estimators import H2OGradientBoostingEstimator

    data = frame()
    model = H2OGradientBoostingEstimator(model_id=MODEL_ID, ntrees=5, max_depth=3, seed=1)
    model.train(x=["a", "b", "c", "d"], y="y", training_frame=data)
    relative = h2o.save_model(model, path=RELATIVE, force=True)
    downloaded = h2o.download_model(model, path=str(workdir / "downloaded"))
    report = open_store(cfg.store).save(RUN_ID, [model])
    return {
        "nodes": h2o.cluster().cloud_size,
        "relative": relative,
        "downloaded": downloaded,
        "store_ok": report.ok,
        "predictions": predictions(model, data),
    }


def load(cfg: Any, saved: dict[str, Any]) -> dict[str, Any]:
    import h2o

    data = frame()
    result: dict[str, Any] = {"nodes": h2o.cluster().cloud_size}
    try:
        # As the user wrote it: relative to the working directory of the node that reads.
        h2o.load_model(f"{RELATIVE}/{MODEL_ID}")
        result["relative"] = "loaded"
    except Exception as exc:  # the quirk: the file is on another node, or in a gone directory
        result["relative"] = f"failed: {type(exc).__name__}: {str(exc).splitlines()[1:2]}"
    result["uploaded"] = predictions(h2o.upload_model(saved["downloaded"]), data)
    h2o.remove(MODEL_ID)
    result["store"] = predictions(open_store(cfg.store).load_run(RUN_ID)[MODEL_ID], data)
    return result


def main() -> None:
    mode, conf_json, workdir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    raw = json.loads(conf_json)
    cfg = validate_config(raw)
    with SparkH2OSession(cfg) as session:
        _ = session.h2o
        if mode == "save":
            result = save(cfg, workdir)
            (workdir / "saved.json").write_text(json.dumps(result))
        else:
            result = load(cfg, json.loads((workdir / "saved.json").read_text()))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
