"""The loader refuses what would lose rows or replace the warehouse's rows with none, and then
leaves the warehouse as it was."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from python_ml.raw.schemas import TRACKS
from python_ml.settings import PROJECT_ROOT, Settings
from python_ml.warehouse import load
from python_ml.warehouse.load import LoadError, load_into


def _settings(tmp_path: Path, rows: int) -> Settings:
    folder = tmp_path / "raw" / TRACKS.dataset
    folder.mkdir(parents=True)
    lines = [",".join(TRACKS.columns)]
    lines += [",".join(f"{c}{i}" for c in TRACKS.columns) for i in range(rows)]
    (folder / TRACKS.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Settings(
        project_root=PROJECT_ROOT,
        raw_dir=tmp_path / "raw",
        warehouse=tmp_path / "warehouse.duckdb",
        mlflow_dir=tmp_path / "mlflow",
        reports_dir=tmp_path / "reports",
    )


def _rows(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"select count(*) from {TRACKS.raw_table}").fetchone()[0]


def test_a_file_cut_to_its_header_leaves_the_loaded_rows(tmp_path: Path) -> None:
    settings = _settings(tmp_path, rows=3)
    con = duckdb.connect()
    load_into(con, settings, [TRACKS], log_results=False)
    assert _rows(con) == 3
    path = settings.raw_dir / TRACKS.dataset / TRACKS.name
    path.write_text(",".join(TRACKS.columns) + "\n", encoding="utf-8")
    with pytest.raises(LoadError, match="has a header but no rows: nothing in the warehouse"):
        load_into(con, settings, [TRACKS], log_results=False)
    assert _rows(con) == 3
    # Scoring a file (predict) says so itself: no error from the loader there.
    (loaded,) = load_into(con, settings, [TRACKS], enforce_threshold=False, log_results=False)
    assert loaded.rows_read == 0


def test_rows_the_reader_neither_keeps_nor_rejects_stop_the_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB once read a large file with many non-UTF-8 lines only to line 542,481 and said
    nothing of the rest: the loader counts the file's rows itself and refuses."""
    settings = _settings(tmp_path, rows=3)
    con = duckdb.connect()
    found = load.record_lines
    monkeypatch.setattr(load, "record_lines", lambda *a: [*found(*a), (5, 5), (6, 6)])
    with pytest.raises(LoadError, match=r"read 3 of its 5 rows .* nothing was loaded"):
        load_into(con, settings, [TRACKS], log_results=False)
    assert not con.execute(
        "select * from duckdb_tables() where table_name = ?", [f"{TRACKS.dataset}__tracks"]
    ).fetchall()


def test_a_file_with_far_fewer_rows_than_its_last_load_is_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Cut in half, a tracks.csv loaded without a word and a champion was trained on half."""
    settings = _settings(tmp_path, rows=10)
    con = duckdb.connect()
    load_into(con, settings, [TRACKS], log_results=False)
    path = settings.raw_dir / TRACKS.dataset / TRACKS.name
    path.write_text("\n".join(path.read_text().splitlines()[:6]) + "\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="python_ml"):
        (loaded,) = load_into(con, settings, [TRACKS])
    assert loaded.rows_read == 5 and _rows(con) == 5
    assert f"{path} has 5 rows, 50% fewer than the 10 of the last load (" in caplog.text
    assert "a file cut short?" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="python_ml"):
        load_into(con, settings, [TRACKS])  # the same again: nothing to say
    assert "fewer than" not in caplog.text
