"""A run is recorded in a warehouse whose `ml` tables were made before a column was declared
(models/staging/ml/_ml__sources.yml): the column is added, as dbt's on-run-start adds it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from python_ml.settings import PROJECT_ROOT, Settings
from python_ml.tracking.runs import record_runs
from python_ml.warehouse import catalog


def test_a_column_declared_since_the_table_was_made_is_added_when_a_run_is_recorded(
    tmp_path: Path,
) -> None:
    """`train` alone on a warehouse built before ml.model_runs.split_seed was declared failed to
    record its runs (no such column) after fitting them."""
    settings = Settings(
        PROJECT_ROOT, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path
    )
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema ml")
        for table, left_out in (
            (catalog.MODEL_RUNS, "split_seed"),
            (catalog.FEATURE_IMPORTANCE, ""),
        ):
            types = catalog.ml_column_types(table)
            columns = ", ".join(f"{c} {t}" for c, t in types.items() if c != left_out)
            con.execute(f"create table {table} ({columns})")
    row = {
        "run_id": "r1",
        "task": "tracks",
        "model_type": "majority",
        "feature_set": "full",
        "split_kind": "random",
        "status": "FINISHED",
        "started_at": datetime(2026, 12, 7, 10, 0),
        "split_seed": "7",
    }
    record_runs(settings, [row])
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        recorded = con.execute(f"select run_id, split_seed from {catalog.MODEL_RUNS}").fetchall()
        declared = con.execute(
            "select data_type from information_schema.columns "
            "where table_schema = 'ml' and table_name = 'model_runs' and column_name = 'split_seed'"
        ).fetchall()
    assert recorded == [("r1", "7")]
    assert declared == [("VARCHAR",)]
