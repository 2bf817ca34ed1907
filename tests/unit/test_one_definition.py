"""Facts the report, the model card, the app and MLflow say in words are read from their one
definition (a dbt var, the seed), not written again beside it."""

import pytest

from python_ml.warehouse import catalog


def test_the_predict_share_in_words_follows_the_dbt_var(monkeypatch: pytest.MonkeyPatch) -> None:
    assert catalog.predict_share_in_words() == "10%"  # dbt_project.yml: predict_share 0.10
    monkeypatch.setattr(catalog, "dbt_var", {"predict_share": 0.125}.__getitem__)
    assert catalog.predict_share_in_words() == "12.5%"


def test_the_predict_share_of_a_built_split_is_its_rows() -> None:
    """The var said 10% beside a split built with `--vars '{predict_share: 0.2}'`."""
    import duckdb

    assert catalog.predict_share_in_words((528_005, 58_667)) == "10%"
    assert catalog.predict_share_in_words((80, 20)) == "20%"
    con = duckdb.connect()
    assert catalog.built_predict_share(con) == "10%"  # no split yet: the var
    con.execute("create schema marts")
    con.execute(f"create table {catalog.TRAIN_TRACKS} as select range from range(80)")
    con.execute(f"create table {catalog.PREDICT_TRACKS} as select range from range(20)")
    assert catalog.built_predict_share(con) == "20%"


def test_the_registered_models_description_names_the_seeds_classes() -> None:
    """It said "ice-cold 0-30, lukewarm 31-69, blazing-hot 70-100" in its own words: a moved
    threshold in the seed left it behind."""
    import duckdb

    from python_ml.reports.classes import read_classes
    from python_ml.tracks.champion import registered_model_description

    seed = catalog.PROJECT_ROOT / "seeds" / "popularity_classes.csv"
    con = duckdb.connect()
    con.execute("create schema reference")
    con.execute(
        f"create table {catalog.POPULARITY_CLASSES} as select * from read_csv(?)", [str(seed)]
    )
    text = registered_model_description(read_classes(con))
    assert "one of ice-cold (0-30), lukewarm (31-69), blazing-hot (70-100), from its" in text
    con.execute(
        f"update {catalog.POPULARITY_CLASSES} set max_popularity = 25 where class_index = 0"
    )
    assert "one of ice-cold (0-25), " in registered_model_description(read_classes(con))
