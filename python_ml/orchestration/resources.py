"""The resources the assets use: the project's settings, the warehouse and dbt.

The dbt project is prepared lazily: its manifest is parsed again (``dbt parse``) only when the
definitions are loaded and a project file is newer than the manifest in dbt's target folder,
never at import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from python_ml.settings import Settings, load_settings


class ProjectSettings(dg.ConfigurableResource):
    """The project's paths (python_ml.settings), read from the environment when a step runs;
    dbt (a subprocess) is given the same ones. ``force``: recompute every step, even one whose
    inputs are those of its last run (orchestration/versions.py). ``dbt_vars``: dbt's
    ``--vars`` for every dbt command of the run and for the loader (`run --vars`), a YAML
    mapping of the project's vars: ``{predict_share: 0.2}``; empty: dbt_project.yml's."""

    force: bool = False
    dbt_vars: str = ""

    def get(self) -> Settings:
        return load_settings()

    def vars(self) -> dict[str, Any]:
        """``dbt_vars`` as a mapping (checked: a var dbt_project.yml does not declare is an
        error naming it, as for the command line's ``--vars``)."""
        from python_ml.warehouse.catalog import parse_dbt_vars

        return parse_dbt_vars(self.dbt_vars) if self.dbt_vars.strip() else {}

    def vars_args(self) -> list[str]:
        """``--vars`` and its JSON for a dbt command, or nothing."""
        given = self.vars()
        return ["--vars", json.dumps(given, default=str)] if given else []


@contextmanager
def dbt_cli_environment(settings: Settings) -> Iterator[None]:
    """The environment dagster-dbt's ``DbtCliResource.cli`` gives the dbt it starts (it copies
    ``os.environ`` then, and takes no environment of its own): the project's paths, and the
    raw-file autoload off (the raw-table assets load the files). Set only around that call, so
    the process's environment is as it was afterwards (an in-process run, e.g. the tests' or a
    notebook's, would otherwise keep the autoload off for its later dbt commands)."""
    values = {k: v for k, v in settings.dbt_env().items() if k.startswith(("MUSIC_", "DBT_PROF"))}
    values["MUSIC_AUTOLOAD_RAW"] = "false"
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Warehouse(dg.ConfigurableResource):
    """Figures read from the warehouse for asset metadata (read-only, after a step wrote)."""

    def row_counts(self, settings: Settings, tables: Sequence[str]) -> dict[str, int]:
        from python_ml.warehouse import db

        counts = {}
        with db.connect(settings.warehouse) as con:
            for table in tables:
                try:
                    counts[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
                except Exception:  # a table the step did not create: no figure, not a guess
                    continue
        return counts


def dbt_project() -> DbtProject:
    settings = load_settings()
    return DbtProject(
        project_dir=settings.project_root,
        profiles_dir=settings.profiles_dir,
        target_path=settings.target_dir,
    )


def prepared_manifest(project: DbtProject, settings: Settings) -> dict[str, Any]:
    """dbt's manifest for the asset graph, parsed first when stale
    (:func:`python_ml.orchestration.manifest.ensure_manifest`), and read whole while another
    dbt command rewrites it (:func:`python_ml.orchestration.manifest.read_manifest`)."""
    from python_ml.orchestration.manifest import ensure_manifest, read_manifest

    ensure_manifest(settings, Path(project.project_dir), Path(project.manifest_path))
    return read_manifest(Path(project.manifest_path))


class DbtCli(DbtCliResource):
    """dagster-dbt's dbt resource without two costs the project does not use, paid in this
    process before each dbt command (together about 3.5 s of a first run's main job):

    - ``dbt --version`` in a subprocess, to learn which dbt it starts: the launcher runs this
      virtualenv's dbt-core (warehouse/dbt.py), whose version is read from its package metadata
      instead (a dbt found on the PATH instead is still asked);
    - a dbt adapter set up in this process (the profile, and every macro parsed), which
      dagster-dbt needs only for ``fetch_row_counts``/``fetch_column_metadata``: the assets
      read their row counts from the warehouse after dbt exits (assets/dbt.py).

    Both override private members of ``DbtCliResource`` (dagster-dbt 0.29): should they be
    renamed, the overrides go unused and dagster-dbt does both again, with the same results
    (tests/unit/test_dbt_resource.py says so)."""

    @cached_property
    def _cli_version(self) -> Any:
        import sys
        from importlib.metadata import version as installed

        from packaging import version

        if not Path(sys.executable).with_name("dbt").exists():  # another dbt, from the PATH
            return super()._cli_version
        return version.parse(installed("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_resource(project: DbtProject) -> DbtCliResource:
    from python_ml.warehouse.dbt import dbt_stopping_with_parent

    launcher = dbt_stopping_with_parent(Path(project.project_dir) / project.target_path / "dagster")
    return DbtCli(
        project_dir=project, profiles_dir=str(project.profiles_dir), dbt_executable=launcher
    )
