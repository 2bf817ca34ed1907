"""The train table's fingerprint (python_ml/tracks/data.py): what binds a champion to the data it
was trained on. It names the tracks and their classes, not the order they are stored in; a
champion recorded with the fingerprint of before 2026-12-05 still belongs to its data."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from python_ml.settings import load_settings
from python_ml.tracking.champion_files import ChampionUnavailable, warehouse_champion
from python_ml.tracks.data import legacy_train_fingerprint, train_fingerprint

ROWS = [("a1", "ice_cold"), ("b2", "lukewarm"), ("c3", "blazing_hot"), ("d4", "lukewarm")]


def train_table(rows: list[tuple[str, str]], path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path)
    con.execute("create schema marts")
    con.execute("create table marts.fct_train_tracks (track_id varchar, popularity_class varchar)")
    if rows:
        con.executemany("insert into marts.fct_train_tracks values (?, ?)", rows)
    return con


def fingerprint(rows: list[tuple[str, str]]) -> str:
    with train_table(rows) as con:
        return train_fingerprint(con)


def test_the_same_tracks_in_another_order_have_the_same_fingerprint() -> None:
    assert fingerprint(ROWS) == fingerprint(ROWS[::-1])
    assert len(fingerprint(ROWS)) == 32


@pytest.mark.parametrize(
    "changed",
    [
        [("a1", "lukewarm"), *ROWS[1:]],  # one class changed
        [("a1", "lukewarm"), ("b2", "ice_cold"), *ROWS[2:]],  # two tracks' classes swapped
        ROWS[:-1],  # a track less
        [*ROWS, ("e5", "lukewarm")],  # a track more
        [*ROWS, ROWS[0], ROWS[0]],  # a track twice more (an order-free XOR alone misses it)
    ],
)
def test_other_tracks_or_classes_change_the_fingerprint(changed: list) -> None:
    assert fingerprint(changed) != fingerprint(ROWS)


def test_an_empty_train_table_has_no_fingerprint() -> None:
    assert fingerprint([]) == ""


def _warehouse(tmp_path: Path, recorded: str) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with train_table(ROWS, str(path)) as con:
        con.execute("create schema ml")
        con.execute(
            "create table ml.model_runs (run_id varchar, registered_version integer, "
            "data_fingerprint varchar, model_name varchar, model_type varchar, "
            "feature_set varchar, task varchar, is_champion boolean, finished_at timestamp)"
        )
        con.execute(
            "insert into ml.model_runs values ('r1', 3, ?, null, 'logistic_regression', "
            "'full', 'tracks', true, now())",
            [recorded],
        )
    return path


@pytest.mark.parametrize("definition", [train_fingerprint, legacy_train_fingerprint])
def test_a_champion_recorded_with_either_fingerprint_belongs_to_its_data(
    tmp_path: Path, definition: object
) -> None:
    with train_table(ROWS) as con:
        recorded = definition(con)
    settings = replace(load_settings(), warehouse=_warehouse(tmp_path, recorded))
    champion = warehouse_champion(settings)
    assert champion["run_id"] == "r1" and champion["fingerprint"] == recorded


def test_a_champion_of_other_data_is_refused_naming_both_fingerprints(tmp_path: Path) -> None:
    other = fingerprint(ROWS[:-1])
    settings = replace(load_settings(), warehouse=_warehouse(tmp_path, other))
    with pytest.raises(ChampionUnavailable) as refused:
        warehouse_champion(settings)
    message = str(refused.value)
    assert other[:12] in message and fingerprint(ROWS)[:12] in message
    assert "python -m python_ml train" in message


@pytest.mark.parametrize("definition", [train_fingerprint, legacy_train_fingerprint])
def test_training_compares_with_a_champion_recorded_with_either_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, definition: object
) -> None:
    """The champion rule keeps the current champion unless a new run beats it: one recorded
    with the fingerprint of before 2026-12-05 is still the current champion of its data."""
    from python_ml.tracking import registry
    from python_ml.tracks.champion import current_champion

    with train_table(ROWS) as con:
        recorded = definition(con)
    path = _warehouse(tmp_path, recorded)
    with duckdb.connect(str(path)) as con:
        con.execute("alter table ml.model_runs add column validation_macro_f1 double")
        con.execute("update ml.model_runs set validation_macro_f1 = 0.61")
    monkeypatch.setattr(registry, "champion_loadable", lambda settings: True)
    settings = replace(load_settings(), warehouse=path)
    with duckdb.connect(str(path), read_only=True) as con:
        current = train_fingerprint(con)
    assert current_champion(settings, "macro_f1", current) == ("logistic_regression/full", 0.61)


def test_training_finds_no_champion_of_other_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from python_ml.tracking import registry
    from python_ml.tracks.champion import current_champion

    path = _warehouse(tmp_path, fingerprint(ROWS[:-1]))  # trained on other tracks
    with duckdb.connect(str(path)) as con:
        con.execute("alter table ml.model_runs add column validation_macro_f1 double")
    monkeypatch.setattr(registry, "champion_loadable", lambda settings: True)
    settings = replace(load_settings(), warehouse=path)
    with duckdb.connect(str(path), read_only=True) as con:
        current = train_fingerprint(con)
    assert current_champion(settings, "macro_f1", current) is None
