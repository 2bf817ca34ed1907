"""A mart from an older build lacks a column the charts read: a one-line error that says
which column and what to run, not DuckDB's exception."""

from __future__ import annotations

import duckdb
import pytest

from python_ml.reports import charts


def test_a_mart_from_an_older_build_says_to_build_again() -> None:
    with duckdb.connect() as con:
        con.execute("create table counts (source_table varchar)")
        with pytest.raises(charts.ChartError) as caught:
            charts._read(con, "select source_table, data_origin from counts")
    message = str(caught.value)
    assert '"data_origin"' in message and "older version of the project" in message
    assert "Run `python -m python_ml build`" in message and "\n" not in message
