"""Another process holding the warehouse open is named, for dbt's failures: DuckDB's words
("Could not set lock on file ...") and a look at the file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from python_ml.warehouse.db import held_open_by
from python_ml.warehouse.dbt import _lock_holder


def test_dbt_output_naming_a_lock_gives_the_process() -> None:
    output = (
        "Runtime Error in model stg_ml__feature_importance\n"
        '  IO Error: Could not set lock on file "/data/warehouse.duckdb": Conflicting lock is '
        "held in /usr/bin/python3.11 (PID 704). See also https://duckdb.org/docs/concurrency\n"
    )
    assert _lock_holder(output) == "process 704 (/usr/bin/python3.11)"
    assert _lock_holder("Could not set lock on file x") == "another process"
    assert _lock_holder("Compilation Error in model x: lock in a column name") is None


def test_a_warehouse_another_process_writes_is_named_and_a_free_one_is_not(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    assert held_open_by(warehouse) is None
    assert held_open_by(tmp_path / "none.duckdb") is None
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, time
            con = duckdb.connect({str(warehouse)!r})
            print("open", flush=True)
            time.sleep(60)
            """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        assert held_open_by(warehouse) == f"process {holder.pid}"
    finally:
        holder.kill()
        holder.wait()
    assert held_open_by(warehouse) is None


def test_the_run_lock_names_the_program_that_holds_it() -> None:
    """Plain dbt holds the lock through its plugin, and read as a python_ml `build`."""
    from python_ml.warehouse.db import _command_line

    main = "/repo/python_ml/__main__.py"
    assert _command_line([main, "run", "--offline"]) == "python -m python_ml run --offline"
    assert _command_line(["/venv/bin/dbt", "build", "-s", "x"]) == "dbt build -s x"
    assert _command_line(["-c"]) == "-c"
    assert _command_line([]) == "python"


def test_the_warehouse_connections_draw_no_progress_bar(tmp_path: Path) -> None:
    """DuckDB drew its progress bar on stdout for a query over 2 s, inside the service's and a
    run's log lines: python_ml's connections (and their cursors) have it off."""
    from python_ml.warehouse import db

    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    setting = "select current_setting('enable_progress_bar')"
    for read_only in (True, False):
        with db.connect(path, read_only=read_only) as con:
            assert con.execute(setting).fetchone() == (False,)
            assert con.cursor().execute(setting).fetchone() == (False,)
