"""Outputs take their real name only when whole (`committed`), and a full disk is an
error naming the path. The disk-full cases use a real 1 MiB tmpfs (needs root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkling_mnist.errors import DiskFullError
from sparkling_mnist.rundir import committed, is_disk_full, write_json_atomic


def test_a_file_takes_its_name_only_when_whole(tmp_path: Path) -> None:
    target = tmp_path / "predictions.parquet"
    target.write_text("old")
    with pytest.raises(RuntimeError), committed(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".") and tmp.suffix == ".parquet"
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.parquet"]  # no temporary left
    with committed(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_a_folder_is_replaced_whole_and_a_crash_s_remains_are_cleared(tmp_path: Path) -> None:
    target = tmp_path / "augmented"
    (target).mkdir()
    (target / "part-0").write_text("old")
    remains = tmp_path / ".augmented.incomplete-0123456789ab"  # what a SIGKILL leaves
    remains.mkdir()
    (remains / "part-0").write_text("partial")
    with committed(target) as tmp:
        tmp.mkdir()
        (tmp / "part-1").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["part-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["augmented"]


def test_a_writer_that_wrote_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="produced nothing"), committed(tmp_path / "x.json"):
        pass
    assert not (tmp_path / "x.json").exists()


def test_java_s_disk_full_message_is_recognised_through_the_cause_chain() -> None:
    try:
        try:
            raise RuntimeError("java.io.IOException: No space left on device\n\tat java.io...")
        except RuntimeError as inner:
            raise ValueError("Py4JJavaError: An error occurred while calling o123.parquet") from inner
    except ValueError as exc:
        assert is_disk_full(exc)
    assert not is_disk_full(ValueError("something else"))


def test_a_full_disk_is_an_error_naming_the_path_and_leaves_nothing(tiny_disk: Path) -> None:
    target = tiny_disk / "metrics.json"
    write_json_atomic(target, {"stage": "before"})
    with pytest.raises(DiskFullError, match=rf"{target}: no space left on device .* bytes free"):
        write_json_atomic(target, {"rows": ["x" * 1000] * 2000})
    assert target.read_text().strip().startswith("{") and "before" in target.read_text()
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["metrics.json"]
