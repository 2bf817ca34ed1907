"""`score --engine spark` scored Spark's predict table with the DuckDB warehouse's champion
without asking whether Spark's split was the one the champion was trained on (the DuckDB path
refuses a champion of other data). Spark's train split is fingerprinted by DuckDB's one
definition, over Spark's parquet files, each column in the warehouse's type."""

from __future__ import annotations

from pathlib import Path

import duckdb

from python_ml.settings import Settings
from python_ml.tracks.data import train_fingerprint
from python_ml.warehouse.spark import spark_train_fingerprint

ROWS = (
    "('t1', 'lukewarm', 'a1', 0.5, 3, 'generated'), ('t2', 'ice_cold', 'a2', 0.25, 7, 'generated')"
)


def _settings(tmp_path: Path) -> Settings:
    return Settings(tmp_path, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path)


def _spark_parquet(tmp_path: Path, rows: str) -> str:
    """The table as Spark writes it: other integer width, another origin text."""
    path = tmp_path / "part-0000.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"copy (select a::varchar as track_id, b::varchar as popularity_class, "
            f"c::varchar as primary_artist_id, d::double as danceability, e::bigint as key, "
            f"'user files' as data_origin from (values {rows}) as v(a, b, c, d, e, f)) "
            f"to '{path}' (format parquet)"
        )
    return f"file:{path}"


def test_spark_holding_the_champions_split_has_its_fingerprint(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_train_tracks (track_id varchar, popularity_class varchar, "
            "primary_artist_id varchar, danceability double, key integer, data_origin varchar)"
        )
        con.execute(f"insert into marts.fct_train_tracks values {ROWS}")
        trained = train_fingerprint(con)
    assert trained
    assert spark_train_fingerprint(settings, [_spark_parquet(tmp_path, ROWS)]) == trained
    other = ROWS.replace("0.25, 7", "0.25, 8")  # one feature value differs
    (tmp_path / "other").mkdir()
    assert spark_train_fingerprint(settings, [_spark_parquet(tmp_path / "other", other)]) != (
        trained
    )
