"""Shared fixtures: small generated raw data, a dbt-built warehouse on it, the main job run on
it, and copies of the project for tests that run commands in a project of their own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from python_ml.raw import generate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SMALL_ROWS = 4_000

# Not copied with the project: what it makes or installs (top level only).
NOT_COPIED = {".git", ".venv", "data", "reports", "target", "logs", "dbt_packages", "mlruns"}
NOT_COPIED_ANYWHERE = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ruff_cache")


def copy_project(root: Path) -> Path:
    """A copy of the project's files at ``root`` (not its data, virtualenv or dbt target):
    commands run from it with ``PYTHONPATH=root`` read and write only the copy."""
    root.mkdir(parents=True, exist_ok=True)
    for entry in PROJECT_ROOT.iterdir():
        if entry.name in NOT_COPIED or entry.name.endswith(".egg-info"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, root / entry.name, ignore=NOT_COPIED_ANYWHERE)
        else:
            shutil.copy2(entry, root / entry.name)
    return root


def dbt(
    raw_dir: Path, warehouse: Path, *args: str, autoload: bool = False
) -> subprocess.CompletedProcess:
    """Run dbt on the project with the given raw folder and warehouse file. The tests load the
    raw tables themselves (:func:`load`, some with only the tracks files); ``autoload`` lets
    dbt load them, as a user's plain `dbt build` does (python_ml/warehouse/dbt_plugin.py)."""
    env = dict(os.environ)
    env.update(
        MUSIC_RAW_DIR=str(raw_dir),
        MUSIC_WAREHOUSE=str(warehouse),
        MUSIC_AUTOLOAD_RAW="true" if autoload else "false",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
    )
    command = [
        str(Path(sys.executable).with_name("dbt")),
        *args,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT / "profiles"),
        "--target-path",
        str(warehouse.parent / "target"),
        "--log-path",
        str(warehouse.parent / "logs"),
    ]
    return subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)


def load(raw_dir: Path, warehouse: Path, tracks_only: bool = False) -> None:
    """The loader's step before dbt: the raw files into schema raw."""
    from python_ml.raw.schemas import ARTISTS, RAW_FILES, TRACKS
    from python_ml.settings import Settings
    from python_ml.warehouse.load import load_raw

    settings = Settings(PROJECT_ROOT, raw_dir, warehouse, warehouse.parent / "m", warehouse.parent)
    load_raw(settings, [TRACKS, ARTISTS] if tracks_only else RAW_FILES)


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture(scope="session")
def small_raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw_dir = tmp_path_factory.mktemp("raw")
    generate.generate(raw_dir, rows=SMALL_ROWS, seed=7)
    return raw_dir


@pytest.fixture(scope="session")
def built_warehouse(small_raw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dbt build` of the ML inputs on the small generated data."""
    warehouse = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    load(small_raw_dir, warehouse)
    result = dbt(small_raw_dir, warehouse, "build", "--exclude", "tag:ml_outputs")
    assert result.returncode == 0, result.stdout[-5000:]
    return warehouse


def main_job_env(folder: Path) -> dict[str, str]:
    """Every path of a main job run under ``folder``."""
    return {
        "MUSIC_RAW_DIR": str(folder / "raw"),
        "MUSIC_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "MUSIC_MLFLOW_DIR": str(folder / "mlflow"),
        "MUSIC_REPORTS_DIR": str(folder / "reports"),
        "DAGSTER_HOME": str(folder / "dagster"),
    }


@pytest.fixture(scope="session")
def main_job_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m python_ml run` on small generated data, as a user runs it: a warehouse
    with prediction marts, a champion in MLflow, the report. Its stderr is in stderr.log."""
    folder = tmp_path_factory.mktemp("main_job")
    env = {**os.environ, **main_job_env(folder)}
    result = subprocess.run(
        [sys.executable, "-m", "python_ml", "run", "--offline", "--rows", str(SMALL_ROWS)],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-5000:] + result.stdout[-3000:]
    (folder / "stderr.log").write_text(result.stderr)
    # As the run left it, before any test runs the job again in it (test_stale.py and
    # test_spark.py copy this one).
    shutil.copytree(folder, folder.parent / f"{folder.name}_as_run")
    return folder
