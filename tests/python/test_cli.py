"""The command line: help for every step, and failures that exit non-zero with a message a
user can act on (no stack trace), leaving the warehouse as it was."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, run_lock_held_elsewhere

from python_ml.cli import build_parser

# Every command of `python -m python_ml`, from its parser.
COMMANDS = sorted(
    next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "python_ml", *args],
        cwd=PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0
    assert f"usage: python -m python_ml {command}" in result.stdout


def test_status_of_a_folder_never_run_says_every_step_runs_and_writes_nothing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "never_run"
    env = {
        "MUSIC_RAW_DIR": str(folder / "raw"),
        "MUSIC_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "MUSIC_MLFLOW_DIR": str(folder / "mlflow"),
        "MUSIC_REPORTS_DIR": str(folder / "reports"),
    }
    result = cli("status", "--json", env={**env, "DAGSTER_HOME": ""})
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["next_run"]["load the raw files"] == "no warehouse yet"
    assert set(answer["next_run"].values()) == {
        "no warehouse yet",
        "no earlier run on this warehouse",
    }
    assert answer["dagster_unsynced"]["ml/track_predictions"] == ["never materialized"]
    assert set(map(tuple, answer["dagster_unsynced"].values())) == {("never materialized",)}
    assert not folder.exists(), sorted(map(str, folder.rglob("*")))  # a look: nothing made


def test_status_of_a_warehouse_path_that_is_a_folder_says_so_before_parsing(
    tmp_path: Path,
) -> None:
    """It spent about 20 s on dbt's parse of the project, then failed on the folder."""
    folder = tmp_path / "warehouse.duckdb"
    folder.mkdir()
    env = {"MUSIC_WAREHOUSE": str(folder), "DBT_TARGET_PATH": str(tmp_path / "target")}
    result = cli("status", env=env)
    assert result.returncode == 1
    assert f"The warehouse {folder} is a folder, not a DuckDB file." in result.stderr
    assert not (tmp_path / "target").exists()  # no parse was made
    assert "Traceback" not in result.stderr


def test_a_missing_raw_file_is_named(tmp_path: Path) -> None:
    result = cli(
        "build",
        env={"MUSIC_RAW_DIR": str(tmp_path / "raw"), "MUSIC_WAREHOUSE": str(tmp_path / "w.duckdb")},
    )
    assert result.returncode == 1
    assert f"{tmp_path / 'raw' / 'spotify_600k' / 'tracks.csv'} is missing" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_a_locked_warehouse_is_reported_without_a_stack_trace(
    built_warehouse: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(warehouse)!r})
            print("locked", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        result = cli(
            "charts",
            env={"MUSIC_WAREHOUSE": str(warehouse), "MUSIC_MLFLOW_DIR": str(tmp_path / "mlflow")},
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert f"The warehouse {warehouse} is locked by another process" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.perf_counter() - started < 120


@pytest.mark.parametrize("command", ["charts", "status"])
def test_a_command_that_reads_the_warehouse_does_not_open_it_while_another_writes_it(
    command: str, built_warehouse: Path, tmp_path: Path
) -> None:
    """`charts` kept the warehouse open for seconds while it drew, and a `marts` beside it
    failed part-way on a dbt model that could not open the file; `status` opened it too."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    env = {
        "MUSIC_WAREHOUSE": str(warehouse),
        "MUSIC_MLFLOW_DIR": str(tmp_path / "mlflow"),
        "MUSIC_REPORTS_DIR": str(tmp_path / "reports"),
    }
    with run_lock_held_elsewhere(warehouse):
        result = cli(command, env=env)
    assert result.returncode == 1
    assert f"The warehouse {warehouse} is in use by another command (PID " in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists()


def test_an_empty_raw_file_stops_the_build_before_dbt(small_raw_dir: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(small_raw_dir, raw)
    (raw / "spotify_600k" / "artists.csv").write_bytes(b"")
    result = cli(
        "build", env={"MUSIC_RAW_DIR": str(raw), "MUSIC_WAREHOUSE": str(tmp_path / "w.duckdb")}
    )
    assert result.returncode == 1
    assert "artists.csv is empty" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "w.duckdb").exists()
