"""The dbt halves' inputs name the libraries that run their SQL (orchestration/versions.py):
a new DuckDB or dbt-duckdb could compute a model differently, yet left every table built with
the old one up to date."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from python_ml.orchestration import versions
from python_ml.orchestration.assets.dbt import NODE_ONLY_CHANGES
from python_ml.settings import Settings


@pytest.mark.parametrize(
    ("step", "inputs"),
    [("dbt_ml_inputs", versions.ml_inputs_inputs), ("dbt_prediction_marts", versions.marts_inputs)],
)
def test_a_new_duckdb_rebuilds_each_dbt_half_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, inputs
) -> None:
    settings = Settings(tmp_path, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path)
    versions.record(settings, step, inputs(settings), "run a")
    assert versions.changed_inputs(settings, step, inputs(settings)) == set()
    installed = importlib.metadata.version

    def newer_duckdb(name: str) -> str:
        return "99.0.0" if name == "duckdb" else installed(name)

    monkeypatch.setattr(importlib.metadata, "version", newer_duckdb)
    changed = versions.changed_inputs(settings, step, inputs(settings))
    assert changed == {"dbt libraries"}
    # Not a change of the project's nodes alone: the half is rebuilt whole, not state:modified+.
    assert not changed <= NODE_ONLY_CHANGES[step]


def test_the_dbt_libraries_are_the_installed_ones() -> None:
    found = versions.dbt_libraries()
    assert set(found) == set(versions.DBT_LIBRARIES)
    assert found["duckdb"] == importlib.metadata.version("duckdb")
