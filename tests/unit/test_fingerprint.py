"""The train table's fingerprint (python_ml/tracks/data.py): what binds a champion to the data it
was trained on. It names the tracks, their classes and feature values, not the order they are
stored in; a champion recorded with a fingerprint of the ids and classes only (before
2026-12-06) is refused, saying so."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from python_ml.settings import load_settings
from python_ml.tracking.champion_files import ChampionUnavailable, warehouse_champion
from python_ml.tracks.data import ids_and_classes_fingerprints, train_fingerprint

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


def test_other_feature_values_change_the_fingerprint() -> None:
    """It hashed the ids and classes only: artists.csv's followers shuffled, the champion of
    the old values went on scoring, and the champion rule compared new runs with its figure."""

    def with_followers(followers: list[float | None]) -> str:
        with duckdb.connect() as con:
            con.execute("create schema marts")
            con.execute(
                "create table marts.fct_train_tracks (track_id varchar, popularity_class varchar,"
                " artist_followers double, tempo double, name varchar)"
            )
            con.executemany(
                "insert into marts.fct_train_tracks values (?, ?, ?, 120.5, ?)",
                [(t, c, f, f"name {t}") for (t, c), f in zip(ROWS, followers, strict=True)],
            )
            return train_fingerprint(con)

    same = with_followers([10.0, 20.0, None, 40.0])
    assert with_followers([10.0, 20.0, None, 40.0]) == same
    assert with_followers([20.0, 10.0, None, 40.0]) != same  # two values swapped
    assert with_followers([10.0, 20.0, 0.0, 40.0]) != same  # unknown -> 0
    assert with_followers([10.0, 20.0, None, 40.000001]) != same


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


def test_a_champion_belongs_to_its_data(tmp_path: Path) -> None:
    settings = replace(load_settings(), warehouse=_warehouse(tmp_path, fingerprint(ROWS)))
    champion = warehouse_champion(settings)
    assert champion["run_id"] == "r1" and champion["fingerprint"] == fingerprint(ROWS)


def test_a_champion_recorded_with_the_ids_and_classes_only_is_refused(tmp_path: Path) -> None:
    with train_table(ROWS) as con:
        older = ids_and_classes_fingerprints(con)
    assert len(older) == 2 and fingerprint(ROWS) not in older
    for recorded in older:
        (tmp_path / recorded).mkdir()
        settings = replace(load_settings(), warehouse=_warehouse(tmp_path / recorded, recorded))
        with pytest.raises(ChampionUnavailable, match="track ids and classes only") as refused:
            warehouse_champion(settings)
        # After an upgrade: `run` rebuilds what the newer project changes before training.
        assert "Run `python -m python_ml run`" in str(refused.value)


def test_a_champion_of_other_data_is_refused_naming_both_fingerprints(tmp_path: Path) -> None:
    other = fingerprint(ROWS[:-1])
    settings = replace(load_settings(), warehouse=_warehouse(tmp_path, other))
    with pytest.raises(ChampionUnavailable) as refused:
        warehouse_champion(settings)
    message = str(refused.value)
    assert other[:12] in message and fingerprint(ROWS)[:12] in message
    assert "python -m python_ml train" in message


def test_training_compares_with_the_champion_of_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A training of some experiments weighs the current champion beside its runs when it was
    validated on the same fold: the champion comes with the fold its figure was measured on."""
    from types import SimpleNamespace

    import mlflow

    from python_ml.tracking import registry
    from python_ml.tracks.champion import Current, current_champion

    class Client:
        def get_run(self, run_id: str) -> SimpleNamespace:
            assert run_id == "r1"
            params = {"seed": "42", "validation_fraction": "0.1", "model": "x"}
            return SimpleNamespace(data=SimpleNamespace(params=params))

    monkeypatch.setattr(mlflow, "MlflowClient", Client)

    path = _warehouse(tmp_path, fingerprint(ROWS))
    with duckdb.connect(str(path)) as con:
        con.execute("alter table ml.model_runs add column validation_macro_f1 double")
        con.execute("update ml.model_runs set validation_macro_f1 = 0.61")
    monkeypatch.setattr(registry, "champion_loadable", lambda settings: True)
    settings = replace(load_settings(), warehouse=path)
    with duckdb.connect(str(path), read_only=True) as con:
        current = train_fingerprint(con)
    assert current_champion(settings, "macro_f1", current) == Current(
        "logistic_regression/full", 0.61, "r1", ("42", "0.1")
    )


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


@pytest.mark.parametrize("folder", ["plain", "a#b", "c d", "e?f"])
def test_deleted_model_files_in_the_runs_own_mlflow_folder_are_said_to_be_deleted(
    tmp_path: Path, folder: str
) -> None:
    """The MLflow store is read for the run (predict said the folder was another warehouse's);
    a `#` or `?` in the folder's path is part of it, not of the store's URI."""
    import sqlite3

    from python_ml.tracking.champion_files import read_model_folder

    mlflow_dir = tmp_path / folder / "mlflow"
    mlflow_dir.mkdir(parents=True)
    with sqlite3.connect(mlflow_dir / "mlflow.db") as con:
        con.execute("create table runs (run_uuid text)")
        con.execute("insert into runs values ('r1')")
    model = mlflow_dir / "artifacts" / "1" / "models" / "m-1" / "artifacts"
    with pytest.raises(ChampionUnavailable) as refused:
        read_model_folder(model, "r1", "logistic_regression", 1.0, None, version=3)
    assert str(refused.value).startswith(
        f"The champion (version 3, run r1) has no model files under {mlflow_dir}"
    )
    with pytest.raises(ChampionUnavailable, match="does not hold the runs this warehouse"):
        read_model_folder(model, "another run", "logistic_regression", 1.0, None)
