"""The 2023 songs study's config schema (python_ml/configs/songs_2023.yml): every bad value is
named by its file and key before any fold is fitted."""

from __future__ import annotations

import copy

import pytest
import yaml

from python_ml.songs import study
from python_ml.tracks.config import CONFIG_DIR, ConfigError

BASE = yaml.safe_load((CONFIG_DIR / "songs_2023.yml").read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(fold=5), "songs_2023.yml: fold is not a known key"),
        (lambda c: c.pop("folds"), "folds is missing"),
        (lambda c: c.update(folds=1), "folds must be an integer >= 2, got 1"),
        (lambda c: c.update(repeats=True), "repeats must be an integer >= 1, got True"),
        (lambda c: c["feature_sets"]["audio"].append("bpmm"), "feature_sets.audio names unknown"),
        (lambda c: c["feature_sets"]["audio"].append("bpm"), "feature_sets.audio repeats"),
        (lambda c: c["models"].update(svm={}), "models.svm is not one of"),
        (
            lambda c: c["models"]["random_forest"].update(depth=3),
            "models.random_forest.depth is not a parameter of random_forest",
        ),
        (
            lambda c: c["models"]["random_forest"].update(n_estimators="many"),
            "models.random_forest.n_estimators must be a positive integer, got 'many'",
        ),
        (
            lambda c: c["models"]["random_forest"].update(max_features=2.5),
            "models.random_forest.max_features must be a share",
        ),
        (
            lambda c: c["models"]["random_forest"].update(n_estimators=None),
            "models.random_forest.n_estimators has no value",
        ),
        (lambda c: c.update(models={}), "models must be a non-empty mapping"),
        # The repeats' fold seeds (seed, seed + 1, ...) within scikit-learn's range.
        (
            lambda c: c.update(seed=2**32 - 1, repeats=5),
            "seed must be at most 4,294,967,291 with 5 repeats",
        ),
        (lambda c: c.update(seed=2**40), "seed must be an integer from 0 to 4,294,967,295"),
    ],
)
def test_songs_config_errors_name_the_bad_key(change, message) -> None:
    raw = copy.deepcopy(BASE)
    change(raw)
    with pytest.raises(ConfigError, match=message):
        study.parse_songs_config(raw)


def test_a_model_without_parameters_takes_the_estimators_defaults() -> None:
    raw = copy.deepcopy(BASE)
    raw["models"] = {"random_forest": None}
    assert study.parse_songs_config(raw).models == {"random_forest": {}}


def test_shipped_songs_config_keeps_what_it_says() -> None:
    config = study.load_songs_config()
    assert (config.seed, config.folds, config.repeats) == (42, 5, 5)
    assert list(config.feature_sets) == ["audio", "forecastable", "descriptive_reach"]
    # The parameters as written, no defaults added: the estimator's own stand for the rest.
    assert config.models == {
        "random_forest": {"n_estimators": 60, "min_samples_leaf": 8, "max_features": 0.5}
    }


def test_the_key_and_mode_become_numbers_and_an_empty_mode_stays_unknown(tmp_path):
    """An empty mode was read as minor (mode_major 0) without a word, where an empty key is
    unknown and imputed: both are unknown now."""
    import math

    import duckdb

    from python_ml.settings import PROJECT_ROOT, Settings
    from python_ml.warehouse import catalog

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        schema, table = catalog.SONGS_2023.split(".")
        con.execute(f"create schema {schema}")
        con.execute(
            f"create table {schema}.{table} as select * from (values "
            "('a', 'C#', 'Major'), ('b', 'B', 'Minor'), ('c', null, null)) "
            "as t(song_key, key, mode)"
        )
    settings = Settings(
        project_root=PROJECT_ROOT,
        raw_dir=tmp_path / "raw",
        warehouse=warehouse,
        mlflow_dir=tmp_path / "mlflow",
        reports_dir=tmp_path / "reports",
    )
    frame = study.load_songs(settings)
    assert frame["key_index"].tolist()[:2] == [1.0, 11.0] and math.isnan(frame["key_index"][2])
    assert frame["mode_major"].tolist()[:2] == [1.0, 0.0] and math.isnan(frame["mode_major"][2])


def test_the_results_file_says_what_its_figures_are(tmp_path) -> None:
    """The results file gave an RMSE without its units and "± spread" without saying what
    spread, and did not say how a song is called top 10%."""
    from python_ml.songs import StudySummary, write_results_file

    path = write_results_file(tmp_path, StudySummary([], "| table |", "user files"))
    text = path.read_text()
    assert "Data origin: **user files**." in text and "| table |" in text
    assert "ln(streams + 1)" in text and "natural log" in text
    assert "Mean ± standard deviation over the fold seeds" in text
    assert "probability is 0.5 or more" in text
    assert "`share called`: the share of songs called" in text
