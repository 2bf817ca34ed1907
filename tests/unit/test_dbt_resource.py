"""The main job's dbt resource (orchestration/resources.py): dagster-dbt's, without starting
`dbt --version` or setting up a dbt adapter in the pipeline's process before each dbt command."""

from __future__ import annotations

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
