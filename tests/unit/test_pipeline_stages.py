"""Stage wiring without a JVM: fingerprints and the command line."""

from __future__ import annotations

from sparkling_mnist.cli import COMMANDS, build_parser
from sparkling_mnist.config import validate_config
from sparkling_mnist.pipeline.fingerprints import stage_fingerprints
from sparkling_mnist.pipeline.stages import STAGES, enabled_stages, stage


def test_augment_fingerprint_follows_its_settings_the_seed_and_the_ingest() -> None:
    base = stage_fingerprints(validate_config({}))
    more_copies = stage_fingerprints(validate_config({"augment": {"copies": 2}}))
    assert more_copies["augment"] != base["augment"]
    assert (more_copies["ingest"], more_copies["baseline"]) == (base["ingest"], base["baseline"])
    other_seed = stage_fingerprints(validate_config({"run": {"seed": 43}}))
    assert other_seed["augment"] != base["augment"]
    other_split = stage_fingerprints(validate_config({"split": {"valid_fraction": 0.3}}))
    assert other_split["augment"] != base["augment"]
    other_baseline = stage_fingerprints(validate_config({"baseline": {"params": {"epochs": 1}}}))
    assert other_baseline["augment"] == base["augment"]
    other_params = stage_fingerprints(validate_config({"augment": {"params": {"warp": {"alpha": 20}}}}))
    assert other_params["augment"] != base["augment"]


def test_augment_fingerprint_ignores_how_the_rows_are_computed() -> None:
    base = stage_fingerprints(validate_config({}))["augment"]
    tuned = {"enabled": True, "rows_per_batch": 100, "partitions": 7}
    assert stage_fingerprints(validate_config({"augment": tuned}))["augment"] == base


def test_augment_is_a_stage_and_a_subcommand() -> None:
    assert STAGES[:3] == ("ingest", "augment", "baseline")
    assert COMMANDS["augment"][0] == ["augment"]
    args = build_parser().parse_args(["augment", "--config", "conf/local.yaml", "--set", "augment.copies=2"])
    assert (args.command, args.set) == ("augment", ["augment.copies=2"])


def test_fingerprints_do_not_depend_on_where_the_run_lives() -> None:
    """A finished run moved or copied to another disk is the same run: every stage skips."""
    here = stage_fingerprints(validate_config({"run": {"dir": "/data/runs/local"}}))
    moved = stage_fingerprints(validate_config({"run": {"dir": "/mnt/shared/archive/local"}}))
    assert moved == here
    assert (
        stage_fingerprints(validate_config({"run": {"dir": "/data/runs/local", "seed": 1}}))["ingest"] != here["ingest"]
    )


def test_the_stage_table_says_what_each_stage_needs_and_what_run_makes() -> None:
    plain = validate_config({"augment": {"enabled": False}, "baseline": {"rows": {"augmented": False}}})
    augmented = validate_config({"augment": {"enabled": True}, "baseline": {"rows": {"augmented": True}}})
    assert stage("baseline").requirements(plain) == ("ingest",)
    assert stage("baseline").requirements(augmented) == ("ingest", "augment")
    assert stage("team").requirements(augmented) == ("features", "augment")
    assert "augment" not in enabled_stages(plain) and "augment" in enabled_stages(augmented)
    stored = validate_config({**plain.model_dump(), "store": {"uri": "/tmp/store"}, "features": {"enabled": False}})
    assert enabled_stages(stored) == ["ingest", "baseline", "store", "report"]
    assert enabled_stages(augmented) == [name for name in STAGES if name not in ("store", "track")]
    assert COMMANDS["train-team"] == (["team"], stage("team").command_help())
    assert "(needs features)" in COMMANDS["train-team"][1] and "store" not in COMMANDS
