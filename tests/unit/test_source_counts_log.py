"""The build's per-source line names every rejection reason, so its counts add up."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from python_ml.settings import PROJECT_ROOT, Settings
from python_ml.warehouse.dbt import log_source_counts

REASONS = {
    "unparseable row": 5,
    "feature out of range": 1,
    "duplicate id": 1,
    "missing popularity": 1,
    "unparseable artist ids": 1,
    "unparseable release date": 1,
    "unparseable number": 1,
}


def test_every_reason_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """It kept the first four: '11 rejected (unparseable row 5, feature out of range 1, duplicate
    id 1, missing popularity 1; ...)', 8 of the 11."""
    warehouse = tmp_path / "warehouse.duckdb"
    rejected = sum(REASONS.values())
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.rpt_source_row_counts (source_table varchar, outcome varchar, "
            "row_count bigint, rows_read bigint, rows_kept bigint, rows_rejected bigint)"
        )
        rows = [("(kept)", 989)] + list(REASONS.items())
        for source in ("spotify_600k.tracks", "spotify_600k.artists", "spotify_2023.songs"):
            con.executemany(
                "insert into marts.rpt_source_row_counts values (?, ?, ?, ?, ?, ?)",
                [(source, outcome, n, 1000, 989, rejected) for outcome, n in rows],
            )
    settings = Settings(PROJECT_ROOT, tmp_path / "raw", warehouse, tmp_path / "m", tmp_path)
    with caplog.at_level("INFO", logger="python_ml"):
        counts = log_source_counts(settings)
    assert counts["spotify_600k.tracks"] == (1000, 989, 11)
    line = next(r.getMessage() for r in caplog.records if "spotify_600k.tracks" in r.getMessage())
    named = line.split("rejected (", 1)[1].split(";")[0].split(", ")
    assert sum(int(entry.rsplit(" ", 1)[1]) for entry in named) == rejected
    assert {entry.rsplit(" ", 1)[0] for entry in named} == set(REASONS)
