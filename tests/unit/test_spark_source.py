"""The raw-file data source Spark loads with (python_ml/warehouse/spark_source.py), without
Spark: what its parts yield, and that its columns are the loader's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from python_ml.raw import generate
from python_ml.raw.schemas import SONGS_2023
from python_ml.warehouse.load import LOAD_LOG_COLUMNS, create_log_tables, file_sha256

SOURCES = Path(__file__).resolve().parents[2] / "models/staging/loader/_loader__sources.yml"


@pytest.mark.parametrize("table", ["load_log", "load_rejects"])
def test_the_loader_source_declares_the_loaders_columns(table: str) -> None:
    """Spark's log tables take their columns from the source, the data source from DuckDB's
    loader tables: the two must be the same."""
    (source,) = yaml.safe_load(SOURCES.read_text())["sources"]
    declared = next(t for t in source["tables"] if t["name"] == table)["columns"]
    with duckdb.connect() as con:
        create_log_tables(con)
        made = con.execute(f"describe raw.{table}").fetchall()
    assert [(c["name"], c["data_type"]) for c in declared] == [
        (name, kind.lower()) for name, kind, *_ in made
    ]


def test_load_times_reach_spark_as_utc_instants(tmp_path: Path, monkeypatch) -> None:
    """Spark reads a datetime without a zone in the worker's local time: every load time the
    data source yields carries UTC, and the time read back from Spark maps to the same one."""
    source = pytest.importorskip("python_ml.warehouse.spark_source")
    generate.generate(tmp_path, rows=200, seed=3)
    monkeypatch.setenv("MUSIC_RAW_DIR", str(tmp_path))
    loaded_at = datetime(2026, 12, 3, 22, 58, 1, 123456)
    options = {"dataset": SONGS_2023.dataset, "table": SONGS_2023.table}
    options["loaded_at"] = loaded_at.isoformat()
    (log_row,) = list(source.loaded(options, "log"))
    columns = dict(zip([*LOAD_LOG_COLUMNS, "error"], log_row, strict=True))
    assert columns["error"] is None
    assert columns["file_sha256"] == file_sha256(tmp_path / "spotify_2023" / "spotify-2023.csv")
    stamped = columns["loaded_at"]
    assert stamped.tzinfo is UTC and stamped.replace(tzinfo=None) == loaded_at
    micros = int(stamped.timestamp() * 1_000_000)  # Spark's unix_micros of what it stored
    assert source._from_micros(micros) == loaded_at
    batches = list(source.loaded(options, "rows"))
    assert str(batches[0].schema.field("_loaded_at").type) == "timestamp[us, tz=UTC]"
    assert sum(b.num_rows for b in batches) == columns["rows_kept"]
