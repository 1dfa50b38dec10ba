"""The team's evaluation beyond error rates: the binary view (one class against the
rest, and the autoencoder's reconstruction error as an anomaly score), the gallery of
samples no member gets right, and the plots the report embeds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sparkling_mnist.config.team import TeamSettings
from sparkling_mnist.data.frames import RunFrames
from sparkling_mnist.data.ingest import split_images
from sparkling_mnist.evaluate import binary
from sparkling_mnist.evaluate.charts import confusion_matrix_chart, plot_roc_pr
from sparkling_mnist.rundir import RunDir, committed, read_json
from sparkling_mnist.runtime.models import load_model
from sparkling_mnist.team import cube as cube_math
from sparkling_mnist.team.cube import SplitCube, TeamPrediction, align_to
from sparkling_mnist.team.plots import plot_correctness_table, plot_gallery

log = logging.getLogger(__name__)

SCRUFFIEST_SHOWN = 30


def images_by_id(run: RunDir, split: str, ids: np.ndarray) -> np.ndarray:
    """The (N, 28, 28) uint8 images of `ids` from the split's Parquet, read on the driver."""
    stored, _, pixels = split_images(run, split)
    return np.asarray(pixels[align_to(ids, stored)].reshape(-1, 28, 28))


def evaluate_team(
    settings: TeamSettings,
    frames: RunFrames,
    run: RunDir,
    test: SplitCube,
    summary: Mapping[str, Any],
    *,
    prediction: TeamPrediction,
) -> dict[str, Any]:
    """One-vs-rest AUC/AUCPR of the team on test, the anomaly view, and the team's plots.

    Args:
        test: the kept members' probabilities on the test split.
        summary: the team's test summary (its confusion matrix is drawn).
        prediction: the team's probabilities and classes on test, by its rule.

    Returns:
        The `evaluation` part of the team's metrics.
    """
    cube, ids, labels = test.cube, test.ids, test.labels
    probabilities, predicted = prediction.probabilities, prediction.classes
    per_class = binary.one_vs_rest(probabilities, labels)
    curves = {
        f"class {c}": (probabilities[:, c], labels == c) for c in range(probabilities.shape[1]) if (labels == c).any()
    }
    plot_roc_pr(curves, run.plot("roc_pr_classes.png"), title="team, test: one class against the rest")

    correct = cube_math.correctness(cube, labels)
    plot_correctness_table(cube_math.correctness_table(correct), run.plot("team_correctness.png"))
    nobody = np.flatnonzero(cube_math.correct_counts(correct) == 0)
    shown = nobody[: settings.gallery_max]
    title = f"test samples no member gets right (label -> team), {len(shown)} of {len(nobody)}"
    _test_gallery(run, shown, (ids, labels, predicted), "team_gallery.png", title)
    confusion_matrix_chart(np.asarray(summary["confusion"]), "team, test", run.plot("team_confusion.png"))
    evaluation: dict[str, Any] = {"one_vs_rest": {str(c): v for c, v in per_class.items()}}
    anomaly = _anomaly_view(frames, run, ids, labels, predicted)
    if anomaly is not None:
        evaluation["anomaly"] = anomaly
    return evaluation


def _anomaly_view(
    frames: RunFrames, run: RunDir, ids: np.ndarray, labels: np.ndarray, predicted: np.ndarray
) -> dict[str, Any] | None:
    """Reconstruction error of the first pixel autoencoder as a score for the digits the
    team gets wrong: does the autoencoder find the scruffy ones?"""
    autoencoders = read_json(run.metrics).get("features", {}).get("autoencoders", {})
    name = next((n for n, a in autoencoders.items() if a["input"] == "pixels"), None)
    wrong = predicted != labels
    if name is None or wrong.all() or not wrong.any():
        log.info("anomaly view skipped: no pixel autoencoder, or the team is all right or all wrong")
        return None
    model = load_model(run.models / autoencoders[name]["model_id"])
    pixels = frames.pixels("test")
    errors = model.anomaly(pixels).as_data_frame(use_multi_thread=False).iloc[:, 0].to_numpy(np.float64)
    frame_ids = pixels["id"].as_data_frame(use_multi_thread=False)["id"].to_numpy(np.int64)
    errors = errors[align_to(ids, frame_ids)]
    summary = binary.anomaly_detection_summary(errors, wrong)
    plot_roc_pr(
        {f"{name} reconstruction error": (errors, wrong)},
        run.plot("roc_pr_anomaly.png"),
        title="anomaly score vs the team's mistakes (test)",
    )
    top = np.argsort(-errors, kind="stable")[:SCRUFFIEST_SHOWN]
    title = f"highest {name} reconstruction error (label -> team)"
    _test_gallery(run, top, (ids, labels, predicted), "scruffiest.png", title)
    with committed(run.team_dir / "anomaly_test.parquet") as tmp:
        pd.DataFrame({"id": ids, "reconstruction_error": errors}).to_parquet(tmp, index=False)
    return {"autoencoder": name, "positives": "test rows the team gets wrong", **summary}


def _test_gallery(
    run: RunDir,
    rows: np.ndarray,
    test: tuple[np.ndarray, np.ndarray, np.ndarray],
    name: str,
    title: str,
) -> None:
    """The test images of `rows` (`test`: ids, labels, the team's classes), as `plots/<name>`."""
    ids, labels, predicted = test
    plot_gallery(images_by_id(run, "test", ids[rows]), labels[rows], predicted[rows], run.plot(name), title=title)
