"""The main job's dbt resource (orchestration/resources.py): dagster-dbt's, without starting
`dbt --version` or setting up a dbt adapter in the pipeline's process before each dbt command."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version as installed
from pathlib import Path

import dagster_dbt.core.resource
import pytest
from dagster_dbt import DbtCliResource
from packaging import version

from python_ml.orchestration.resources import DbtCli

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_dbt_version_is_the_installed_dbt_core_without_starting_dbt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_subprocess(*args: object, **kwargs: object) -> bytes:
        raise AssertionError(f"started {args}")

    # dagster-dbt's own `dbt --version` (its module imported check_output by name).
    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_subprocess)
    monkeypatch.setattr(subprocess, "check_output", no_subprocess)
    resource = DbtCli(
        project_dir=str(PROJECT_ROOT),
        profiles_dir=str(PROJECT_ROOT / "profiles"),
        dbt_executable=str(Path(sys.executable).with_name("dbt")),
    )
    assert resource._cli_version == version.parse(installed("dbt-core"))
    assert resource._cli_version.major < 2  # dbt Core (not Fusion): dagster-dbt's own branch
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_the_overridden_members_are_still_dagster_dbts() -> None:
    """Renamed in a later dagster-dbt, the overrides would go unused (and cost again)."""
    assert isinstance(
        DbtCliResource.__dict__["_cli_version"], type(DbtCli.__dict__["_cli_version"])
    )
    assert callable(DbtCliResource.__dict__["_initialize_dbt_core_adapter"])


def test_a_manifest_of_other_project_files_is_parsed_again_though_newer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A target folder copied from another clone (or shared with one): its manifest was newer
    than every project file, so it was used as it was, though parsed from other files (`run`
    then found nothing to rebuild, and scoring refused the split as built by other SQL)."""
    import json
    import os
    from types import SimpleNamespace

    from python_ml.orchestration import resources
    from python_ml.warehouse import dbt

    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "m.sql").write_text("select 1 as a\n")
    (project / "dbt_project.yml").write_text("name: p\n")
    target = project / "target"
    target.mkdir()
    manifest = target / "manifest.json"
    parses: list[tuple] = []

    def parse(settings: object, *args: str, **kwargs: object) -> str:
        parses.append(args)
        manifest.write_text(json.dumps({"parsed": len(parses)}))
        return ""

    monkeypatch.setattr(dbt, "run_dbt", parse)
    dbt_project = SimpleNamespace(project_dir=project, manifest_path=manifest)
    manifest.write_text(json.dumps({"parsed": 0}))  # another clone's, newer than the files
    later = (project / "models" / "m.sql").stat().st_mtime + 60
    os.utime(manifest, (later, later))
    assert resources.prepared_manifest(dbt_project, None) == {"parsed": 1}
    assert resources.prepared_manifest(dbt_project, None) == {"parsed": 1}  # these files now
    (project / "models" / "m.sql").write_text("select 2 as a\n")
    os.utime(project / "models" / "m.sql", (later - 30, later - 30))  # still older
    assert resources.prepared_manifest(dbt_project, None) == {"parsed": 2}
    assert len(parses) == 2


def test_run_parses_the_manifest_beside_dagsters_import_and_says_its_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`run` starts dbt's parse (its own process) on another thread before it imports Dagster,
    and waits for it before the definitions read the manifest; a failed parse stops the run
    with its own error, before any step."""
    import argparse
    import threading

    from python_ml import cli
    from python_ml.errors import UserError
    from python_ml.orchestration import runner
    from python_ml.settings import load_settings

    events: list[str] = []
    parsed = threading.Event()

    def ensure(settings: object) -> None:
        on_main = threading.current_thread() is threading.main_thread()
        events.append("parse on the main thread" if on_main else "parse beside")
        parsed.set()

    def materialize(settings: object, run_config: object = None) -> None:
        events.append("materialize after the parse" if parsed.is_set() else "materialize")

    monkeypatch.setattr(cli, "ensure_manifest_of", ensure)
    monkeypatch.setattr(runner, "materialize", materialize)
    args = argparse.Namespace(offline=True, force=False, rows=None, seed=None, vars=None)
    cli.cmd_run(load_settings(), args)
    assert events == ["parse beside", "materialize after the parse"]

    def fails(settings: object) -> None:
        raise UserError("dbt parse failed: models/x.sql has a syntax error")

    events.clear()
    monkeypatch.setattr(cli, "ensure_manifest_of", fails)
    with pytest.raises(UserError, match="models/x.sql has a syntax error"):
        cli.cmd_run(load_settings(), args)
    assert events == []


def test_a_manifest_being_rewritten_is_read_once_whole(tmp_path: Path) -> None:
    """`make docs-serve` (dbt docs generate) or a plain `dbt build` rewrites target/manifest.json
    in place: Dagster's code location read half of it and failed with a JSONDecodeError."""
    import threading

    from python_ml.orchestration.manifest import ManifestError, read_manifest

    manifest = tmp_path / "manifest.json"
    whole = json.dumps({"nodes": {"model.p.m": {"name": "m"}}, "metadata": {}})
    manifest.write_text(whole[: len(whole) // 2])  # the writer is half way
    writer = threading.Timer(0.4, manifest.write_text, [whole])
    writer.start()
    try:
        assert read_manifest(manifest) == json.loads(whole)
    finally:
        writer.join()

    manifest.write_text(whole[:-3])  # a writer that never finishes
    with pytest.raises(ManifestError) as error:
        read_manifest(manifest, wait_seconds=0.5)
    assert str(manifest) in str(error.value)
    assert "dbt parse" in str(error.value)
    assert "JSONDecodeError" not in str(error.value) and "Expecting" not in str(error.value)
