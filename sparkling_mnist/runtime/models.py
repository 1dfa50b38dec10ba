"""H2O model I/O, the one place for it: save a model to a folder, load it back, list the
models in the cluster, and ask whether one is there.

A thin layer over the `h2o` API (imported on use: pure code never needs it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sparkling_mnist.rundir import committed


def save_model(model: Any, folder: Path) -> Path:
    """Save an H2O model as a binary file named by its id under `folder` (replaced).

    Written under a temporary name and renamed when whole: a model file that exists is
    a finished model, which a resumed run reuses (the folder must be one the driver
    can rename in, as the run directory is).

    Raises:
        DiskFullError: the disk filled up while H2O wrote the file, naming it.
    """
    import h2o

    target = folder / str(model.model_id)
    with committed(target) as tmp:
        h2o.save_model(model, path=str(folder), filename=tmp.name, force=True)
    return target


def load_model(path: Path | str) -> Any:
    """Load an H2O model saved by `save_model` (a local path or a store URI)."""
    import h2o

    return h2o.load_model(str(path))


def cluster_model_ids() -> list[str]:
    """Every model in the H2O cluster, through the REST API (`GET /3/Models`)."""
    import h2o

    response = h2o.api("GET /3/Models")
    return sorted(str(model["model_id"]["name"]) for model in response["models"])


def model_in_cluster(model_id: str) -> Any | None:
    """The model of that id in the connected H2O cluster, or None."""
    import h2o

    # Listing first: asking H2O for a missing key makes it log an ERROR with a stack trace.
    return h2o.get_model(model_id) if model_id in cluster_model_ids() else None


def h2o_version() -> str:
    """The H2O version of the connected cluster."""
    import h2o

    return str(h2o.cluster().version)
