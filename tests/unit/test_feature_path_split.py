"""Where a batch of records splits the scoring models (python_ml/tracks/feature_path.py): the
models up to int_tracks_validated run from one JSON text only when they read nothing else, and
the models after it run over their rows only when they read nothing of the batch but them."""

from __future__ import annotations

import pytest

from python_ml.tracks.feature_path import CURRENT_DATE, FeaturePath

RAW = '"warehouse"."raw"."spotify_600k__tracks"'
STAGED = '"warehouse"."staging"."stg_spotify_600k__tracks"'
VALIDATED = '"warehouse"."intermediate"."int_tracks_validated"'
ARTISTS = '"warehouse"."intermediate"."int_artists_validated"'


def _path(validated_sql: str, enriched_sql: str) -> FeaturePath:
    """A FeaturePath over these compiled models alone (no warehouse)."""

    def node(name: str, schema: str, per_batch: bool, sql: str | None = None) -> dict:
        entry = {
            "name": name,
            "resource_type": "model" if sql is not None else "source",
            "database": "warehouse",
            "schema": schema,
            "identifier": name,
            "per_batch": per_batch,
        }
        return entry if sql is None else {**entry, "sql": sql}

    nodes = [
        node("spotify_600k__tracks", "raw", True),
        node("int_artists_validated", "intermediate", False, "select 1"),
        node("stg_spotify_600k__tracks", "staging", True, f"select * from {RAW}"),
        node("int_tracks_validated", "intermediate", True, validated_sql),
        node("int_tracks_enriched", "intermediate", True, enriched_sql),
    ]
    path = object.__new__(FeaturePath)
    path.compiled = {"database": "warehouse", "nodes": nodes}
    path.per_batch = [n for n in nodes if "sql" in n and n["per_batch"]]
    return path


def test_the_projects_shape_splits_after_the_validated_model() -> None:
    path = _path(
        f"select * from {STAGED} where year(current_date) > 1900",
        f"select * from {VALIDATED} left join {ARTISTS} using (artist_id)",
    )
    head, tail = path._split_at_validated()
    assert [n["name"] for n in head] == ["stg_spotify_600k__tracks", "int_tracks_validated"]
    assert [n["name"] for n in tail] == ["int_tracks_enriched"]


@pytest.mark.parametrize(
    ("validated_sql", "enriched_sql"),
    [
        # the validated models read a table: no statement from the JSON text alone
        (f"select * from {STAGED} join {ARTISTS} using (artist_id)", f"select * from {VALIDATED}"),
        # after the split the raw tracks table is the shared, empty one
        (f"select * from {STAGED}", f"select * from {VALIDATED} where id in (from {RAW})"),
        # a model before int_tracks_validated is not among the rows handed on
        (f"select * from {STAGED}", f"select * from {VALIDATED} join {STAGED} using (id)"),
    ],
)
def test_models_that_read_across_the_split_run_as_one_statement(
    validated_sql: str, enriched_sql: str
) -> None:
    assert _path(validated_sql, enriched_sql)._split_at_validated() is None


def test_the_current_date_is_written_in_as_a_call_or_a_keyword() -> None:
    sql = "year(current_date) + 1, CURRENT_DATE(), current_date ( ), current_date_x"
    assert CURRENT_DATE.sub("date '2026-12-07'", sql) == (
        "year(date '2026-12-07') + 1, date '2026-12-07', date '2026-12-07', current_date_x"
    )
