"""The report's out-of-distribution section, from metrics.json's `ood` part: each
detector's AUC and AUCPR on the mixed set (test digits vs Fashion-MNIST items) with
their chance levels, the flag thresholds, and the ROC/PR plot. Pure: dicts in, HTML out.

The table and image helpers are `report.py`'s own, passed in by it (importing them
here would make the two modules import each other).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sparkling_mnist.rundir import RunDir

Table = Callable[[Sequence[str], Iterable[Sequence[Any]]], str]
Image = Callable[[Path, str], str]

OOD_PLOT = "ood_roc_pr.png"
"""The detectors' ROC and PR curves under the run's plots/ (drawn by the ood stage)."""


def ood_section(run: RunDir, metrics: Mapping[str, Any], *, table: Table, image: Image) -> str:
    """The section's HTML ("" when the run has no ood stage)."""
    ood = metrics.get("ood")
    if not ood:
        return ""
    forest, reconstruction = ood["isolation_forest"], ood["reconstruction"]
    quantile = ood["flag_quantile"]
    parts = [
        "<h2>Out of distribution</h2>",
        f"<p>An isolation forest on the {forest['features']} deep features of the {forest['train_rows']} training "
        f"rows, and the reconstruction error of every pixel autoencoder. A row is flagged when its score is above "
        f"the {quantile:g} quantile of the training rows' scores; <code>score</code> writes the forest's score and "
        f"flag and those of <b>{html.escape(reconstruction['autoencoder'])}</b>.</p>",
    ]
    evaluation = ood["evaluation"]
    if evaluation["status"] != "done":
        parts.append(f'<p class="note">Evaluation skipped: {html.escape(evaluation["reason"])}</p>')
        parts.append(
            table(
                ["detector", "threshold", "training rows flagged"],
                [[name, value, ood["training_flagged"][name]] for name, value in ood["thresholds"].items()],
            )
        )
        return "".join(parts)
    parts.append(
        f"<p>Judged on {evaluation['digits']} test digits and {evaluation['others']} images that are not digits "
        f"({html.escape(evaluation['others_source'])}); positives: the images that are not digits. Chance: AUC 0.5, "
        "AUCPR the positive rate.</p>"
    )
    rows = [
        [
            name,
            d["auc"],
            d["aucpr"],
            d["positive_rate"],
            d["threshold"],
            ood["training_flagged"][name],
            d["flagged_digits"],
            d["flagged_others"],
        ]
        for name, d in evaluation["detectors"].items()
    ]
    headers = [
        "detector",
        "AUC",
        "AUCPR",
        "chance AUCPR",
        "threshold",
        "training rows flagged",
        "test digits flagged",
        "others flagged",
    ]
    parts.append(table(headers, rows))
    parts.append(image(run.plot(OOD_PLOT), "ROC and PR of the out-of-distribution detectors"))
    return "".join(parts)
