"""Training, the champion alias, scoring and the predict command on the small dbt-built data."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import PROJECT_ROOT

from python_ml import config as config_module
from python_ml import predict, score, train
from python_ml.settings import Settings

BASE_CONFIG = yaml.safe_load((config_module.CONFIG_DIR / "tracks.yml").read_text())


def small_config(**model_overrides) -> config_module.TracksConfig:
    raw = copy.deepcopy(BASE_CONFIG)
    raw["models"]["neural_network"].update(batch_size=128, max_epochs=25, patience=4)
    raw["models"]["gradient_boosting"].update(max_iter=50)
    raw["experiments"] = [
        {"model": "majority", "feature_set": "full"},
        {"model": "logistic_regression", "feature_set": "full"},
    ]
    for name, params in model_overrides.items():
        raw["models"][name].update(params)
    return config_module.parse_tracks_config(raw)


@pytest.fixture
def settings(built_warehouse: Path, tmp_path: Path) -> Settings:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    return Settings(
        project_root=PROJECT_ROOT,
        raw_dir=tmp_path / "raw",
        warehouse=warehouse,
        mlflow_dir=tmp_path / "mlflow",
        reports_dir=tmp_path / "reports",
    )


def champion_version(settings: Settings) -> str:
    import mlflow

    from python_ml.tracking import TRACKS_EXPERIMENT, setup_mlflow

    setup_mlflow(settings, TRACKS_EXPERIMENT)
    return mlflow.MlflowClient().get_model_version_by_alias("track_popularity", "champion").version


def rows(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


# ---------------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(seeds=1), "seeds is not a known key"),
        (lambda c: c.pop("experiments"), "experiments is missing"),
        (
            lambda c: c["models"]["gradient_boosting"].update(max_iter="many"),
            "models.gradient_boosting.max_iter must be a positive integer, got 'many'",
        ),
        (
            lambda c: c["models"]["neural_network"].update(dropout=[0.3]),
            "models.neural_network.dropout must have one rate per hidden layer",
        ),
        (lambda c: c["feature_sets"]["full"].append("artist_popularity"), "leaks the target"),
        (
            lambda c: c["feature_sets"]["audio"].append("loudnes"),
            "feature_sets.audio names 'loudnes', which is not a column",
        ),
        (
            lambda c: c["experiments"].append({"model": "svm", "feature_set": "audio"}),
            "experiments\\[\\d+\\].model names an unknown model 'svm'",
        ),
        (lambda c: c.update(validation_fraction=0.9), "validation_fraction must be a number"),
        (lambda c: c["models"]["majority"].update(type="forest"), "models.majority.type must be"),
    ],
)
def test_config_errors_name_the_bad_key(change, message) -> None:
    raw = copy.deepcopy(BASE_CONFIG)
    change(raw)
    with pytest.raises(config_module.ConfigError, match=message):
        config_module.parse_tracks_config(raw)


def test_shipped_config_is_valid() -> None:
    cfg = config_module.load_tracks_config()
    assert {e.model.type for e in cfg.experiments} == {
        "majority",
        "logistic_regression",
        "hist_gradient_boosting",
        "keras",
    }
    assert all("artist_popularity" not in e.features for e in cfg.experiments)


# ---------------------------------------------------------------------------------- training


def test_network_learns_the_planted_signal_and_runs_are_recorded(settings: Settings) -> None:
    """The generator plants popularity = f(release year, artist reach, ...) + noise; the
    network must beat the majority baseline by far on validation and holdout."""
    cfg = small_config()
    cfg.experiments.append(
        config_module.Experiment(cfg.models["neural_network"], "full", cfg.feature_sets["full"])
    )
    results = {r.experiment.model.name: r for r in train.train_tracks(settings, cfg)}
    net, base = results["neural_network"], results["majority"]
    for fold in ("validation", "holdout"):
        assert net.metrics[fold]["macro_f1"] > base.metrics[fold]["macro_f1"] + 0.2, fold
        assert net.metrics[fold]["accuracy"] > base.metrics[fold]["accuracy"] + 0.05, fold
    assert net.info["epochs"] >= 2
    recorded = rows(
        settings,
        "select run_id, status, validation_macro_f1, is_champion "
        "from ml.model_runs order by validation_macro_f1",
    )
    assert {r[0] for r in recorded} == {r.run_id for r in results.values()}
    assert all(r[1] == "FINISHED" for r in recorded)
    assert sum(r[3] for r in recorded) == 1
    assert recorded[-1][3], "the best validation macro-F1 is the champion"


def test_same_data_and_seed_give_the_same_metrics(settings: Settings) -> None:
    cfg = small_config()
    first = train.train_tracks(settings, cfg, only=["logistic_regression"])
    second = train.train_tracks(settings, cfg, only=["logistic_regression"])
    assert first[0].metrics["validation"] == second[0].metrics["validation"]


def test_a_failed_training_run_leaves_the_champion_where_it_was(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    train.train_tracks(settings, small_config())
    before = champion_version(settings)

    def explode(*args, **kwargs):
        raise RuntimeError("out of memory (injected)")

    monkeypatch.setattr(train, "fit_model", explode)
    with pytest.raises(train.TrainingError, match="champion model was not changed"):
        train.train_tracks(settings, small_config())
    assert champion_version(settings) == before
    failed = rows(
        settings, "select status, error_message from ml.model_runs where status = 'FAILED'"
    )
    assert len(failed) == 2 and "injected" in failed[0][1]

    import mlflow

    statuses = {r.info.status for r in mlflow.search_runs(output_format="list")}
    assert "FAILED" in statuses


# ---------------------------------------------------------------------------------- scoring


def test_scoring_writes_one_row_per_track_with_valid_probabilities(settings: Settings) -> None:
    """A crash mid-write is tested through the CLI in test_failures.py."""
    train.train_tracks(settings, small_config())
    result = score.score_tracks(settings, batch_size=100)
    n_predict = rows(settings, "select count(*) from marts.fct_predict_tracks")[0][0]
    assert result["rows"] == n_predict
    check = rows(
        settings,
        """
        select count(*), count(distinct track_id),
               max(abs(prob_ice_cold + prob_lukewarm + prob_blazing_hot - 1))
        from ml.track_predictions""",
    )[0]
    assert check[0] == check[1] == n_predict and check[2] < 1e-6


# ---------------------------------------------------------------------------------- predict


@pytest.fixture
def trained(settings: Settings) -> Settings:
    train.train_tracks(settings, small_config())
    return settings


def _write_tracks(path: Path, source: Path, n: int = 20, edit=None) -> Path:
    import pandas as pd

    frame = pd.read_csv(source, dtype=str, nrows=n)
    if edit:
        frame = edit(frame)
    frame.to_csv(path, index=False)
    return path


def test_predict_writes_classes_and_probabilities(
    trained: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    import pandas as pd

    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    new = _write_tracks(tmp_path / "new.csv", source, edit=lambda f: f.drop(columns="popularity"))
    out = tmp_path / "out.csv"
    assert predict.predict_csv(trained, new, out) == 20
    result = pd.read_csv(out)
    assert list(result.columns) == [
        "id",
        "name",
        "run_id",
        "predicted_class",
        "prob_ice_cold",
        "prob_lukewarm",
        "prob_blazing_hot",
        "scored_at",
    ]
    assert len(set(result["run_id"])) == 1
    assert set(result["predicted_class"]) <= {"ice_cold", "lukewarm", "blazing_hot"}
    probs = result[["prob_ice_cold", "prob_lukewarm", "prob_blazing_hot"]].sum(axis=1)
    assert (probs - 1).abs().max() < 1e-5


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda f: f.drop(columns=["danceability", "tempo"]),
            r"missing columns \['danceability', 'tempo'\]",
        ),
        (
            lambda f: f.assign(energy=["loud"] + list(f["energy"][1:])),
            r"energy is not a number on line\(s\) \[2\]",
        ),
        (
            lambda f: f.assign(release_date=["unknown"] + list(f["release_date"][1:])),
            r"release_date has no YYYY year on line\(s\) \[2\]",
        ),
        (
            lambda f: f[["id", "name"]].rename(columns={"id": "song"}),
            "does not look like a tracks CSV",
        ),
    ],
)
def test_predict_errors_name_the_columns_and_lines(
    trained: Settings, small_raw_dir: Path, tmp_path: Path, edit, message
) -> None:
    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    bad = _write_tracks(tmp_path / "bad.csv", source, edit=edit)
    out = tmp_path / "out.csv"
    with pytest.raises(predict.PredictInputError, match=message):
        predict.predict_csv(trained, bad, out)
    assert not out.exists()


def test_predict_without_a_champion_says_to_train(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="python -m python_ml train"):
        predict.predict_csv(settings, tmp_path / "x.csv", tmp_path / "out.csv")


def test_a_class_without_training_rows_is_named_before_any_run(settings: Settings) -> None:
    """As with the real partial tracks file (1922-1935), which has no blazing-hot track."""
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("delete from marts.fct_train_tracks where popularity_class = 'blazing_hot'")
    with pytest.raises(train.TrainingError, match=r"no tracks of class \['blazing_hot'\]"):
        train.train_tracks(settings, small_config())
    assert rows(settings, "select count(*) from ml.model_runs") == [(0,)]
