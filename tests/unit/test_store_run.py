"""Which model files a run directory holds (what `models save-all` saves). No JVM."""

from __future__ import annotations

from pathlib import Path

from sparkling_mnist.rundir import RunDir
from sparkling_mnist.store.run import run_model_files


def test_run_model_files_are_the_h2o_models_not_the_trainer_records(tmp_path: Path) -> None:
    run = RunDir.at(tmp_path / "run")
    assert run_model_files(run) == []  # no models/ yet
    run.models.mkdir(parents=True)
    for name in ("AE200_ab12", "dl_pixels_cd34", "AE200_ab12.trainer.json", "dl_pixels_cd34.trainer.json"):
        (run.models / name).write_text("x")
    (run.models / "nested").mkdir()
    assert run_model_files(run) == ["AE200_ab12", "dl_pixels_cd34"]
