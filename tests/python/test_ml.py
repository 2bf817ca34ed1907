"""Training, the champion alias, scoring and the predict command on the small dbt-built data."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import PROJECT_ROOT, dbt

from python_ml.settings import Settings
from python_ml.tracks import config as config_module
from python_ml.tracks import predict, score, train
from python_ml.tracks.feature_path import NO_ARTIST_IDS, UNKNOWN_ARTIST, FeaturePath

BASE_CONFIG = yaml.safe_load((config_module.CONFIG_DIR / "tracks.yml").read_text())


def small_config(**model_overrides) -> config_module.TracksConfig:
    raw = copy.deepcopy(BASE_CONFIG)
    raw["models"]["neural_network"].update(batch_size=128, max_epochs=25, patience=4)
    raw["models"]["hist_gradient_boosting"].update(max_iter=50)
    raw["experiments"] = [
        {"model": "majority", "feature_set": "full"},
        {"model": "logistic_regression", "feature_set": "full"},
    ]
    for name, params in model_overrides.items():
        raw["models"][name].update(params)
    return config_module.parse_tracks_config(raw)


def _settings_in(folder: Path) -> Settings:
    return Settings(
        project_root=PROJECT_ROOT,
        raw_dir=folder / "raw",
        warehouse=folder / "warehouse.duckdb",
        mlflow_dir=folder / "mlflow",
        reports_dir=folder / "reports",
    )


@pytest.fixture
def settings(built_warehouse: Path, tmp_path: Path) -> Settings:
    shutil.copy(built_warehouse, tmp_path / "warehouse.duckdb")
    return _settings_in(tmp_path)


def champion_version(settings: Settings) -> str:
    """The registered version of this warehouse's champion, as MLflow's alias for its data
    names it."""
    import mlflow

    from python_ml.tracking.registry import TRACKS_EXPERIMENT, setup_mlflow, warehouse_champion

    champion = warehouse_champion(settings)
    setup_mlflow(settings, TRACKS_EXPERIMENT)
    alias = f"champion_{champion['fingerprint'][:12]}"
    version = mlflow.MlflowClient().get_model_version_by_alias("track_popularity", alias).version
    assert int(version) == champion["version"]
    return version


def rows(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


# ---------------------------------------------------------------------------------- training


def test_network_learns_the_planted_signal_and_runs_are_recorded(settings: Settings) -> None:
    """The generator plants popularity = f(release year, artist reach, ...) + noise; the
    network must beat the majority baseline by far on validation and on new artists."""
    cfg = small_config()
    cfg.experiments.append(
        config_module.Experiment(cfg.models["neural_network"], "full", cfg.feature_sets["full"])
    )
    results = {r.experiment.model.name: r for r in train.train_tracks(settings, cfg)}
    net, base = results["neural_network"], results["majority"]
    for fold in ("validation", "new_artist"):
        assert net.metrics[fold]["macro_f1"] > base.metrics[fold]["macro_f1"] + 0.2, fold
    assert net.metrics["validation"]["accuracy"] > base.metrics["validation"]["accuracy"] + 0.05
    assert "holdout" not in net.metrics, "holdout figures are the champion's, at scoring"
    assert net.info["epochs"] >= 2
    recorded = rows(
        settings,
        "select run_id, status, model_name, data_origin, validation_ece, validation_brier, "
        "holdout_accuracy, is_champion, selection_rule, validation_confident_calls, "
        "validation_confident_errors, validation_confident_expected_errors from ml.model_runs",
    )
    assert {r[0] for r in recorded} == {r.run_id for r in results.values()}
    assert all(r[1] == "FINISHED" for r in recorded)
    assert {r[2] for r in recorded} == {"majority", "logistic_regression", "neural_network"}
    assert all(r[4] is not None and 0 <= r[4] < 0.2 and r[5] is not None for r in recorded)
    assert all(r[6] is None for r in recorded)
    # Confident calls counted for every run: the errors among them, and calibration's count.
    assert all(r[9] is not None and 0 <= r[10] <= r[9] and 0 <= r[11] <= r[9] for r in recorded)
    for r in recorded:
        val = results[r[2]].metrics["validation"]
        assert (r[9], r[10]) == (val["confident_calls"], val["confident_errors"])
    champions = [r for r in recorded if r[7]]
    assert len(champions) == 1 and champions[0][8], "the champion says which rule chose it"


def test_same_data_and_seed_give_the_same_metrics(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fitted one after the other or side by side (one experiment per core), every
    experiment's figures are the same: validation, both checks, the importance (gradient
    boosting included, whose fit uses OpenMP threads: one per fit side by side, two alone)."""
    cfg = small_config()
    cfg.experiments.append(
        config_module.Experiment(
            cfg.models["hist_gradient_boosting"], "full", cfg.feature_sets["full"]
        )
    )
    monkeypatch.setenv("MUSIC_TRAIN_WORKERS", "1")
    first = train.train_tracks(settings, cfg)
    monkeypatch.setenv("MUSIC_TRAIN_WORKERS", "2")
    second = train.train_tracks(settings, cfg, force=True)
    assert len(first) == len(cfg.experiments) >= 2
    for one, other in zip(first, second, strict=True):
        assert one.experiment.label == other.experiment.label  # the config's order
        assert one.run_id != other.run_id  # fitted again, not reused
        assert one.metrics == other.metrics, one.experiment.label
    # In MLflow the look-alike earlier runs say which run took their place.
    import mlflow

    from python_ml.tracking import registry

    client = mlflow.MlflowClient()
    for one, other in zip(first, second, strict=True):
        assert client.get_run(one.run_id).data.tags[registry.SUPERSEDED_TAG] == other.run_id
        assert registry.SUPERSEDED_TAG not in client.get_run(other.run_id).data.tags


def test_a_failed_training_run_leaves_the_champion_where_it_was(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    train.train_tracks(settings, small_config())
    before = champion_version(settings)

    def explode(*args, **kwargs):
        raise RuntimeError("out of memory (injected)")

    monkeypatch.setattr(train, "fit_model", explode)
    with pytest.raises(train.TrainingError, match="champion model was not changed"):
        train.train_tracks(settings, small_config(), force=True)
    assert champion_version(settings) == before
    failed = rows(
        settings, "select status, error_message from ml.model_runs where status = 'FAILED'"
    )
    assert len(failed) == 2 and "injected" in failed[0][1]
    # Each FAILED run keeps its traceback in MLflow (the log line says where it was raised).
    import mlflow

    from python_ml.tracking.registry import TRACKS_EXPERIMENT, setup_mlflow

    experiment_id = setup_mlflow(settings, TRACKS_EXPERIMENT)
    runs = mlflow.MlflowClient().search_runs([experiment_id], "attributes.status = 'FAILED'")
    assert len(runs) == 2
    for run in runs:
        text = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/error_traceback.txt")
        assert "RuntimeError: out of memory (injected)" in text and "explode" in text


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
               max(abs(list_sum(class_probabilities) - 1)), min(len(class_probabilities)),
               max(len(class_probabilities))
        from ml.track_predictions""",
    )[0]
    assert check[0] == check[1] == n_predict and check[2] < 1e-6
    assert check[3] == check[4] == 3
    holdout = rows(
        settings,
        "select holdout_accuracy, holdout_macro_f1, holdout_ece, holdout_log_loss, "
        "holdout_confident_calls, holdout_confident_errors, holdout_confident_expected_errors "
        "from ml.model_runs where is_champion",
    )
    assert len(holdout) == 1 and all(v is not None for v in holdout[0])
    assert holdout[0][0] == pytest.approx(result["holdout"]["accuracy"])
    # Scored again: the same figures are not logged a second time on the champion's run.
    import mlflow

    from python_ml.tracking.registry import TRACKS_EXPERIMENT, setup_mlflow

    assert score.score_tracks(settings, batch_size=100)["holdout"] == result["holdout"]
    setup_mlflow(settings, TRACKS_EXPERIMENT)
    client = mlflow.MlflowClient()
    assert len(client.get_metric_history(result["run_id"], "holdout_macro_f1")) == 1
    # Its params are the whole procedure (the decision rule's settings too), and its tags
    # name the training code's version (MLflow's commit tag misses an edit not committed).
    run = client.get_run(result["run_id"])
    assert {"selection_metric", "max_accuracy_loss", "seed", "split_seed"} <= set(run.data.params)
    assert run.data.tags["code_version"] == train.code_version()


def test_the_decision_rule_is_saved_with_the_model_and_applied_when_scoring(
    settings: Settings,
) -> None:
    """The rule tuned on validation travels with the model: the pyfunc, `score` and the
    loaded champion all call the same classes; the probabilities stay unweighted."""
    import mlflow
    import numpy as np

    from python_ml.tracking.registry import champion_model_dir, load_champion

    train.train_tracks(settings, small_config())
    score.score_tracks(settings, batch_size=500)
    run_id, _, model = load_champion(settings)
    assert model.decision_weights is not None and len(model.decision_weights) == 3
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        frame = con.execute(
            "select * from marts.fct_predict_tracks order by track_id limit 300"
        ).df()
        stored = con.execute(
            "select predicted_class, class_probabilities from ml.track_predictions "
            "where track_id in (select track_id from marts.fct_predict_tracks "
            "order by track_id limit 300) order by track_id"
        ).df()
    _, path = champion_model_dir(settings)
    pyfunc = mlflow.pyfunc.load_model(str(path)).predict(frame[model.features].astype(float))
    assert list(pyfunc["predicted_class"]) == list(stored["predicted_class"])
    probs = np.array(stored["class_probabilities"].tolist())
    assert np.allclose(pyfunc[[f"prob_{c}" for c in model.class_names]].to_numpy(), probs)
    weighted = (probs * np.array(model.decision_weights)).argmax(axis=1)
    assert list(np.array(model.class_names)[weighted]) == list(stored["predicted_class"])


# ---------------------------------------------------------------------------------- predict


@pytest.fixture(scope="module")
def trained_once(built_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse and MLflow folder with small_config trained: fitted once per module."""
    folder = tmp_path_factory.mktemp("trained")
    shutil.copy(built_warehouse, folder / "warehouse.duckdb")
    train.train_tracks(_settings_in(folder), small_config())
    return folder


@pytest.fixture
def trained(trained_once: Path, tmp_path: Path) -> Settings:
    """A copy of :func:`trained_once` in the test's folder (the test may change it freely)."""
    shutil.copy(trained_once / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    shutil.copytree(trained_once / "mlflow", tmp_path / "mlflow")
    return _settings_in(tmp_path)


def _write_tracks(path: Path, source: Path, n: int = 20, edit=None) -> Path:
    import pandas as pd

    frame = pd.read_csv(source, dtype=str, nrows=n)
    if edit:
        frame = edit(frame)
    frame.to_csv(path, index=False)
    return path


def test_predict_names_the_columns_it_does_not_score_and_keeps_them(
    trained: Settings, small_raw_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import pandas as pd

    def extra(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.rename(columns={"id_artists": "id_artist"}).assign(my_notes="n")

    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    new = _write_tracks(tmp_path / "new.csv", source, n=5, edit=extra)
    with caplog.at_level("WARNING", logger="python_ml"):
        predict.predict_csv(trained, new, tmp_path / "out.csv")
    warning = (
        f"{new}: 'id_artist' (did you mean 'id_artists'?), 'my_notes' are not tracks.csv "
        "columns: kept in the output, not used in scoring"
    )
    assert caplog.text.count(warning) == 1, caplog.text
    # Without id_artists the artist features are imputed: said, not silent.
    assert caplog.text.count(f"{new}: no id_artists column: the artist features") == 1
    assert "no id_artists: " not in caplog.text  # said of the file, not again of each line
    result = pd.read_csv(tmp_path / "out.csv")
    assert list(result["my_notes"]) == ["n"] * 5 and result["id_artist"].notna().all()
    assert (result["status"] == "scored").all()


def test_predict_names_the_rows_scored_without_a_known_artist(
    trained: Settings, small_raw_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An empty id_artists cell, or an artist the warehouse does not hold: the row is scored
    with the artist features imputed, and the log (the app shows it) names the rows."""
    import pandas as pd

    def spoil(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[1, "id_artists"] = None
        frame.loc[2, "id_artists"] = "[]"
        frame.loc[3, "id_artists"] = "['0000000000000000000000']"
        return frame

    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    new = _write_tracks(tmp_path / "new.csv", source, n=5, edit=spoil)
    with caplog.at_level("WARNING", logger="python_ml"):
        predict.predict_csv(trained, new, tmp_path / "out.csv")
    # Lines as in the output's `line` column: the header is line 1.
    assert caplog.text.count(f"{new}: line 3 (and 1 more): no id_artists: {NO_ARTIST_IDS}") == 1
    assert caplog.text.count(f"{new}: line 5: {UNKNOWN_ARTIST}") == 1
    result = pd.read_csv(tmp_path / "out.csv")
    assert (result["status"] == "scored").all()
    # What the warnings are made of, not output.
    assert not {"artist_known", "release_year"} & set(result.columns)


def test_predict_writes_classes_and_probabilities(
    trained: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    import pandas as pd

    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    new = _write_tracks(tmp_path / "new.csv", source, edit=lambda f: f.drop(columns="popularity"))
    out = tmp_path / "out.csv"
    scored = predict.predict_csv(trained, new, out)
    result = pd.read_csv(out)
    inputs = list(pd.read_csv(new, nrows=0).columns)
    assert list(result.columns) == [
        "line",
        *inputs,  # the input's own columns, as they were
        "status",
        "rejection_reason",
        "rejection_detail",
        "run_id",
        "model_version",
        "data_origin",
        "predicted_class",
        "prob_ice_cold",
        "prob_lukewarm",
        "prob_blazing_hot",
        "reasons",  # the features that moved the called class's score most
        "runner_up_class",  # what they compare the called class with
        "explanation_baseline",  # where its lead starts, before the track's features
        "explained_score",  # the lead: baseline plus every contribution
        "scored_at",
    ]
    with duckdb.connect(str(trained.warehouse), read_only=True) as con:
        (origin,) = con.execute(
            "select data_origin from ml.model_runs where is_champion"
        ).fetchone()
    assert set(result["data_origin"]) == {origin}  # the champion's training data, as recorded
    assert (result["model_version"] == int(champion_version(trained))).all()
    assert len(result) == 20 and list(result["line"]) == list(range(2, 22))
    assert scored == (result["status"] == "scored").sum() > 0
    assert len(set(result["run_id"])) == 1
    ok = result[result["status"] == "scored"]
    assert set(ok["predicted_class"]) <= {"ice_cold", "lukewarm", "blazing_hot"}
    probs = ok[["prob_ice_cold", "prob_lukewarm", "prob_blazing_hot"]].sum(axis=1)
    assert (probs - 1).abs().max() < 1e-5


def test_a_row_the_pipeline_rejects_is_not_scored_and_says_why(
    trained: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    import pandas as pd

    def spoil(frame):
        frame = frame.drop(columns="popularity")
        frame.loc[0, "danceability"] = "50"
        frame.loc[1, "duration_ms"] = "-1000"
        frame.loc[2, "key"] = "99"
        frame.loc[3, "release_date"] = "20"
        frame.loc[4, "energy"] = "loud"
        return frame

    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    new = _write_tracks(tmp_path / "new.csv", source, n=10, edit=spoil)
    out = tmp_path / "out.csv"
    predict.predict_csv(trained, new, out)
    result = pd.read_csv(out).set_index("line")
    assert list(result.loc[[2, 3, 4, 5, 6], "status"]) == ["rejected"] * 5
    assert list(result.loc[[2, 3, 4, 5, 6], "rejection_reason"]) == [
        "feature out of range",
        "feature out of range",
        "feature out of range",
        "unparseable release date",
        "unparseable number",
    ]
    # Each value out of range with what is allowed (the macro's ranges, in words).
    assert list(result.loc[[2, 3, 4], "rejection_detail"]) == [
        "danceability 50.0 (allowed: 0 to 1)",
        "duration_ms -1000 (allowed: 1000 to 6000000)",
        "key 99 (allowed: -1 to 11)",
    ]
    assert result.loc[[2, 3, 4, 5, 6], "predicted_class"].isna().all()
    assert result.loc[[2, 3, 4, 5, 6], "prob_ice_cold"].isna().all()


def test_predict_and_the_pipeline_derive_the_same_features_and_rejections(
    trained: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    """One feature path: a tracks file with bad rows planted, built by dbt as the pipeline's
    source and derived by `predict`, gives the same features and the same rejections."""
    import numpy as np
    import pandas as pd
    from conftest import dbt, load

    raw = tmp_path / "raw" / "spotify_600k"
    raw.mkdir(parents=True)
    (raw / "artists.csv").symlink_to(small_raw_dir / "spotify_600k" / "artists.csv")
    frame = pd.read_csv(
        small_raw_dir / "spotify_600k" / "tracks.csv", dtype=str, keep_default_na=False, nrows=600
    )
    frame.loc[3, "danceability"] = "50"
    frame.loc[5, "duration_ms"] = "-1000"
    frame.loc[7, "key"] = "99"
    frame.loc[9, "release_date"] = "20"
    frame.loc[11, "energy"] = "loud"
    frame.loc[13, "id"] = frame.loc[12, "id"]
    frame.loc[15, "tempo"] = ""
    frame.loc[17, "artists"] = "['Cut off"
    frame.loc[19, "name"] = "O'Brien's \"Song\" \\ 1 ½ 🎵"  # quotes, a backslash, not ASCII
    source = raw / "tracks.csv"
    frame.to_csv(source, index=False)
    warehouse = tmp_path / "pipeline.duckdb"
    load(tmp_path / "raw", warehouse, tracks_only=True)
    built = dbt(
        tmp_path / "raw",
        warehouse,
        "build",
        "--select",
        "+fct_train_tracks",
        "+fct_predict_tracks",
        "--resource-type",
        "model",
        "--resource-type",
        "seed",
    )
    assert built.returncode == 0, built.stdout[-3000:]

    features = sorted(config_module.load_tracks_config().feature_sets["full"])
    derived = predict.derive_features(
        Settings(**{**trained.__dict__, "raw_dir": tmp_path / "raw"}), source, features
    )
    casts = ", ".join(f"cast({f} as double) as {f}" for f in features)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        pipeline = con.execute(
            f"select track_id, {casts} from marts.fct_train_tracks union all "
            f"select track_id, {casts} from marts.fct_predict_tracks order by track_id"
        ).df()
        reasons = con.execute(
            "select source_row_number + 1 as line, rejection_reason "
            "from intermediate.int_tracks_validated order by source_row_number"
        ).df()
    assert len(derived.features) == len(pipeline)
    mine = derived.features.set_index("track_id").loc[pipeline["track_id"], features]
    assert np.allclose(
        mine.to_numpy(dtype=float), pipeline[features].to_numpy(dtype=float), equal_nan=True
    )
    assert list(derived.rows["line"]) == list(reasons["line"])
    assert list(derived.rows["rejection_reason"].fillna("")) == list(
        reasons["rejection_reason"].fillna("")
    )
    assert set(reasons["rejection_reason"].dropna()) == {
        "feature out of range",
        "unparseable release date",
        "unparseable number",
        "duplicate id",
        "missing feature",
        "unparseable artist names",
    }
    # The same rows as records (the service, the app) run the models in two statements, the
    # first given the rows as one JSON text: the same rows, details and features as the CSV.
    path = FeaturePath(Settings(**{**trained.__dict__, "raw_dir": tmp_path / "raw"}))
    assert path.records_planned_once
    records = path.derive_records(frame.to_dict("records"), features)
    assert records.rows.loc[19, "name"] == frame.loc[19, "name"]
    assert list(records.rows["line"]) == list(derived.rows["line"] - 1)  # the CSV's header
    expected = derived.rows.drop(columns="line")  # a repeated id names the record, not the line
    expected["rejection_detail"] = expected["rejection_detail"].str.replace(
        r"line (\d+)\)", lambda m: f"tracks[{int(m[1]) - 2}])", regex=True
    )
    assert expected["rejection_detail"].str.endswith("(the same id as tracks[12])").sum() == 1
    pd.testing.assert_frame_equal(records.rows.drop(columns="line"), expected, check_dtype=False)
    pd.testing.assert_frame_equal(records.features, derived.features)
    # A project whose models cannot be split there runs records as one statement over a
    # worker's raw table: the same answer.
    path._split = None
    assert not path.records_planned_once
    whole = path.derive_records(frame.to_dict("records"), features)
    pd.testing.assert_frame_equal(whole.rows, records.rows)
    pd.testing.assert_frame_equal(whole.features, records.features)


def test_a_file_without_ids_keeps_every_line_through_a_bad_quote_and_a_bad_byte(
    trained: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    """Without the optional columns the file is read by the loader as it is (no rewrite first):
    an unclosed quote on line 4 and a latin-1 byte on line 9 reject those two lines alone, and
    the made-up ids are those of the same rows in a clean file."""
    import pandas as pd

    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    clean = _write_tracks(
        tmp_path / "clean.csv", source, edit=lambda f: f.drop(columns=["id", "popularity"])
    )
    lines = clean.read_bytes().split(b"\n")
    lines[3] = b'"' + lines[3]  # file line 4: a quote that is never closed
    lines[8] = lines[8].replace(b",", "Caf\xe9,".encode("latin-1"), 1)  # file line 9
    spoiled = tmp_path / "spoiled.csv"
    spoiled.write_bytes(b"\n".join(lines))
    predict.predict_csv(trained, clean, tmp_path / "clean.out.csv")
    predict.predict_csv(trained, spoiled, tmp_path / "spoiled.out.csv")
    good = pd.read_csv(tmp_path / "clean.out.csv").set_index("line")
    bad = pd.read_csv(tmp_path / "spoiled.out.csv").set_index("line")
    assert list(bad.index) == list(range(2, 22))  # every line, in order: none swallowed
    rejected = bad[bad["status"] == "rejected"]
    assert list(rejected.index) == [4, 9]
    assert set(rejected["rejection_reason"]) == {"unparseable row"}
    assert "not closed" in rejected.loc[4, "rejection_detail"]
    # the row has no columns to show, so its detail quotes the start of the line
    first = lines[3].decode()[:40]
    assert f"Line: {first}" in rejected.loc[4, "rejection_detail"]
    assert "encod" in rejected.loc[9, "rejection_detail"]
    others = [line for line in bad.index if line not in (4, 9)]
    assert list(bad.loc[others, "id"]) == list(good.loc[others, "id"])
    assert bad.loc[others, "id"].str.startswith("new").all()
    assert list(bad.loc[others, "predicted_class"]) == list(good.loc[others, "predicted_class"])


def test_predict_ignores_popularity_and_says_why_a_release_date_is_refused(
    trained: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    """A new track's popularity is not checked (it has none yet: `abc` or 61.5 does not stop
    it being scored); a blank or out-of-range release date is refused saying which."""
    from datetime import date

    import pandas as pd

    def spoil(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame["popularity"] = frame["popularity"].astype(object)
        frame.iloc[0, frame.columns.get_loc("popularity")] = "abc"
        frame.iloc[1, frame.columns.get_loc("popularity")] = "61.5"
        frame.iloc[2, frame.columns.get_loc("release_date")] = "  "
        frame.iloc[3, frame.columns.get_loc("release_date")] = "1850-02-03"
        return frame

    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    new = _write_tracks(tmp_path / "new.csv", source, n=5, edit=spoil)
    predict.predict_csv(trained, new, tmp_path / "out.csv")
    result = pd.read_csv(tmp_path / "out.csv", keep_default_na=False).set_index("line")
    assert list(result["status"]) == ["scored", "scored", "rejected", "rejected", "scored"]
    assert list(result.loc[[4, 5], "rejection_reason"]) == [
        "unparseable release date",
        "release date out of range",
    ]
    assert result.loc[4, "rejection_detail"] == "no release date"
    assert result.loc[5, "rejection_detail"] == (
        f"1850-02-03 (allowed: 1900 to {date.today().year + 1})"
    )


def test_an_empty_id_cell_gets_the_id_a_missing_column_gives(
    trained: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    """A file with an id column whose cells are empty (or blank) is scored as one without
    the column, as the service scores a track whose id is empty: the same made-up ids, and a
    repeated row names the line it repeats; a repeated given id names the line kept for it."""
    import pandas as pd

    source = small_raw_dir / "spotify_600k" / "tracks.csv"

    def blank_ids(frame: pd.DataFrame) -> pd.DataFrame:
        frame = pd.concat([frame, frame.iloc[[1]], frame.iloc[[4]]]).drop(columns="popularity")
        frame["id"] = frame["id"].astype(object)
        frame.iloc[[0, 1, 2, 5], frame.columns.get_loc("id")] = ["", "  ", "", ""]
        return frame

    blank = _write_tracks(tmp_path / "blank.csv", source, n=5, edit=blank_ids)
    absent = _write_tracks(
        tmp_path / "absent.csv",
        source,
        n=5,
        edit=lambda f: pd.concat([f, f.iloc[[1]]]).drop(columns=["id", "popularity"]),
    )
    predict.predict_csv(trained, blank, tmp_path / "blank_out.csv")
    predict.predict_csv(trained, absent, tmp_path / "absent_out.csv")
    with_cells = pd.read_csv(tmp_path / "blank_out.csv", dtype={"id": str}).set_index("line")
    without = pd.read_csv(tmp_path / "absent_out.csv").set_index("line")
    assert list(with_cells["status"]) == ["scored"] * 5 + ["rejected"] * 2
    assert list(without["status"]) == ["scored"] * 5 + ["rejected"]
    # A repeated row without an id says which line it repeats, not an id never given.
    repeated = "the same values as line 3 (no id given: the id is made from the values)"
    assert without.loc[7, "rejection_reason"] == with_cells.loc[7, "rejection_reason"]
    assert without.loc[7, "rejection_reason"] == "duplicate id"
    assert without.loc[7, "rejection_detail"] == with_cells.loc[7, "rejection_detail"] == repeated
    kept_id = with_cells.loc[6, "id"]  # row 5 kept its own id; line 8 repeats it
    assert with_cells.loc[8, "rejection_detail"] == f"{kept_id} (the same id as line 6)"
    for line in (2, 3, 4):  # the rows whose id cell is empty: as if there were no id column
        assert with_cells.loc[line, "id"] == without.loc[line, "id"]
        assert with_cells.loc[line, "id"].startswith("new")
        assert with_cells.loc[line, "predicted_class"] == without.loc[line, "predicted_class"]


def test_predict_uses_the_warehouses_artists_not_a_changed_artists_csv(
    trained: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    """The champion's artist features come from the artists the warehouse loaded: an
    artists.csv changed in the raw folder since (every follower count 0) changes no score."""
    import pandas as pd

    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    new = _write_tracks(tmp_path / "new.csv", source)
    predict.predict_csv(trained, new, tmp_path / "before.csv")
    raw = tmp_path / "raw" / "spotify_600k"
    raw.mkdir(parents=True)
    (raw / "tracks.csv").symlink_to(source)
    artists = pd.read_csv(
        small_raw_dir / "spotify_600k" / "artists.csv", dtype=str, keep_default_na=False
    )
    artists["followers"] = "0"
    artists.to_csv(raw / "artists.csv", index=False)
    changed = Settings(**{**trained.__dict__, "raw_dir": tmp_path / "raw"})
    predict.predict_csv(changed, new, tmp_path / "after.csv")
    before = pd.read_csv(tmp_path / "before.csv").drop(columns="scored_at")
    after = pd.read_csv(tmp_path / "after.csv").drop(columns="scored_at")
    assert (before["status"] == "scored").sum() > 10
    pd.testing.assert_frame_equal(before, after)
    # Not because the artists do not count: the same change in the warehouse's artists (those
    # the champion's features were built from) moves the scores.
    with duckdb.connect(str(trained.warehouse)) as con:
        con.execute("update intermediate.int_artists_validated set followers = 0")
    predict.predict_csv(trained, new, tmp_path / "zero.csv")
    zero = pd.read_csv(tmp_path / "zero.csv").drop(columns="scored_at")
    probabilities = [c for c in before.columns if c.startswith("prob_")]
    moved = (zero[probabilities] - before[probabilities]).abs().max(axis=1)
    assert (moved > 1e-6).sum() == (before["status"] == "scored").sum()


def test_a_utf16_file_or_header_is_named_as_such(
    trained: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    text = _write_tracks(tmp_path / "a.csv", source, n=3).read_text(encoding="utf-8")
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text(text, encoding="utf-16")
    with pytest.raises(predict.PredictInputError, match=r"utf16.csv is UTF-16 text"):
        predict.predict_csv(trained, utf16, tmp_path / "out.csv")
    latin_header = tmp_path / "latin.csv"
    latin_header.write_bytes(text.replace("name", "n\u00e4me", 1).encode("latin-1"))
    with pytest.raises(predict.PredictInputError, match=r"the header \(line 1\) is not UTF-8"):
        predict.predict_csv(trained, latin_header, tmp_path / "out.csv")
    # A byte-order mark alone: empty (it was "column 1 of the header has no name").
    mark_only = tmp_path / "mark.csv"
    mark_only.write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(predict.PredictInputError, match=r"mark.csv is empty: it needs a header"):
        predict.predict_csv(trained, mark_only, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_windows_1252_file_is_named_and_a_file_scoring_nothing_fails(
    trained: Settings, small_raw_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Excel's 'CSV (Comma delimited)' saves Windows-1252: each line with an accented letter
    was rejected as "not UTF-8 text" and the run ended well, scoring only the others (none, when
    every name has one). The file is now named as such with what to do, and a run that scores
    no row fails, its output written."""
    import pandas as pd

    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    text = _write_tracks(tmp_path / "a.csv", source, n=40).read_text(encoding="utf-8")
    header, *lines = text.splitlines()
    lines = [line for line in lines if line.isascii()][:4]  # no other letter beyond ASCII
    accented = [
        line.replace(",", ",Caf\u00e9 ", 1) if i in (0, 2) else line for i, line in enumerate(lines)
    ]
    some = tmp_path / "some.csv"
    some.write_bytes("\n".join([header, *accented, ""]).encode("cp1252"))
    _, result = predict.score_file(trained, some)
    assert list(result.loc[result["status"] == "rejected", "line"]) == [2, 4]
    assert list(result.loc[result["status"] == "scored", "line"]) == [3, 5]
    (said,) = [w for w in result.attrs["warnings"] if "Windows-1252" in w]
    before, _, after = said.partition(" (the first, line 2: ...")
    assert before == (
        f"{some} is not UTF-8 text but probably Windows-1252 or Latin-1 (as Excel's 'CSV (Comma "
        "delimited)' saves): its 2 lines with letters beyond ASCII"
    )
    shown, _, after = after.partition("...) ")
    assert f",Caf\u00e9 {lines[0].split(',', 2)[1][:10]}" in shown  # read as Windows-1252
    assert after == (
        "cannot be read and are rejected. Save it as 'CSV UTF-8 (Comma delimited)', or convert "
        "it (`iconv -f cp1252 -t utf-8 old.csv > new.csv`), and score it again."
    )
    # A UTF-8 file with one damaged line: that line is rejected alone, the file not named.
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        "\n".join([header, accented[0], lines[1], accented[2], lines[3], ""])
        .encode("utf-8")
        .replace("Caf\u00e9".encode(), b"Caf\xe9", 1)
    )
    _, result = predict.score_file(trained, mixed)
    assert list(result.loc[result["status"] == "rejected", "line"]) == [2]
    assert not [w for w in result.attrs["warnings"] if "Windows-1252" in w]
    # Every row rejected: the command fails (exit 1 from the command line), every line kept.
    every = tmp_path / "every.csv"
    every.write_bytes("\n".join([header, accented[0], accented[2], ""]).encode("cp1252"))
    out = tmp_path / "every.out.csv"
    caplog.clear()
    with pytest.raises(predict.PredictInputError, match=r"^No row of .*every.csv was scored"):
        predict.predict_step(trained, every, out)
    assert list(pd.read_csv(out)["status"]) == ["rejected", "rejected"]
    # No line about the drift of the 0 tracks scored before the error.
    assert not [r for r in caplog.records if "drift" in r.getMessage()]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda f: f.drop(columns=["danceability", "tempo"]),
            r"missing columns \['danceability', 'tempo'\]",
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


def test_predict_without_a_champion_says_to_train(
    settings: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    sample = _write_tracks(tmp_path / "x.csv", source, n=5)
    with pytest.raises(LookupError, match="python -m python_ml train"):
        predict.predict_csv(settings, sample, tmp_path / "out.csv")


def test_a_class_without_training_rows_is_named_before_any_run(settings: Settings) -> None:
    """As with the real partial tracks file (1922-1935), which has no blazing-hot track."""
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("delete from marts.fct_train_tracks where popularity_class = 'blazing_hot'")
    # Every class's count and range, to choose thresholds from (only the short one was named).
    counts = (
        r"fewer than 10 tracks of class blazing_hot: of its [\d,]+ tracks, "
        r"ice_cold \(0-30\) [\d,]+, lukewarm \(31-69\) [\d,]+, blazing_hot \(70-100\) 0\. "
    )
    with pytest.raises(train.TrainingError, match=counts):
        train.train_tracks(settings, small_config())
    assert rows(settings, "select count(*) from ml.model_runs") == [(0,)]


def test_a_moved_data_folder_still_scores_and_predicts(
    settings: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    """Artifacts are found relative to $MUSIC_MLFLOW_DIR: move the whole data folder and the
    champion still loads, scores and predicts; new runs write under the new folder."""
    train.train_tracks(settings, small_config())
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(settings.mlflow_dir, moved / "mlflow")
    shutil.move(settings.warehouse, moved / "warehouse.duckdb")
    new = Settings(
        project_root=settings.project_root,
        raw_dir=small_raw_dir,
        warehouse=moved / "warehouse.duckdb",
        mlflow_dir=moved / "mlflow",
        reports_dir=settings.reports_dir,
    )
    import pandas as pd

    from python_ml.tracking.registry import warehouse_champion

    # The champion trained before the move scores every track of the predict split (the test
    # said only that it scored some) and the new tracks (all five valid).
    champion = warehouse_champion(new)["run_id"]
    n_predict = rows(new, "select count(*) from marts.fct_predict_tracks")[0][0]
    assert score.score_tracks(new, batch_size=1000)["rows"] == n_predict
    assert rows(
        new, "select count(distinct track_id), list(distinct run_id) from ml.track_predictions"
    ) == [(n_predict, [champion])]
    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    sample = _write_tracks(tmp_path / "new.csv", source, n=5)
    assert predict.predict_csv(new, sample, tmp_path / "out.csv") == 5
    written = pd.read_csv(tmp_path / "out.csv")
    assert list(written["status"]) == ["scored"] * 5 and set(written["run_id"]) == {champion}
    train.train_tracks(new, small_config(), only=["majority"], force=True)
    assert not settings.mlflow_dir.exists(), "nothing is written under the old folder"


def test_another_mlflow_folder_than_the_warehouses_is_named(
    trained: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    """MUSIC_MLFLOW_DIR pointing at a folder that does not hold this warehouse's runs: the
    message says so and names the setting, not a damaged file to retrain over."""
    (tmp_path / "other").mkdir()
    elsewhere = Settings(**{**trained.__dict__, "mlflow_dir": tmp_path / "other"})
    sample = _write_tracks(tmp_path / "x.csv", small_raw_dir / "spotify_600k" / "tracks.csv", n=3)
    with pytest.raises(LookupError, match=r"Set MUSIC_MLFLOW_DIR to the MLflow folder made"):
        predict.predict_csv(elsewhere, sample, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_champion_whose_files_are_gone_says_what_to_do_and_is_replaced(
    settings: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    from python_ml.tracking.registry import ChampionUnavailable, champion_model_dir

    train.train_tracks(settings, small_config())
    before = champion_version(settings)
    version, path = champion_model_dir(settings)
    shutil.rmtree(path)
    said = f"The champion (version {version.version}, run {version.run_id}) has no model files"
    with pytest.raises(ChampionUnavailable, match=re.escape(said)):
        score.score_tracks(settings)
    # predict reads the files without MLflow, and says the same (it said the MLflow folder was
    # not this warehouse's, and to set MUSIC_MLFLOW_DIR, though it was).
    sample = _write_tracks(tmp_path / "x.csv", small_raw_dir / "spotify_600k" / "tracks.csv", n=3)
    with pytest.raises(ChampionUnavailable, match=re.escape(said)):
        predict.predict_csv(settings, sample, tmp_path / "out.csv")
    train.train_tracks(settings, small_config())
    assert champion_version(settings) != before
    assert score.score_tracks(settings, batch_size=1000)["rows"] > 0
    # MLflow's `champion` tag moved with it: on the new champion's run alone.
    import mlflow

    from python_ml.tracking.registry import warehouse_champion

    champion = warehouse_champion(settings)["run_id"]
    client = mlflow.MlflowClient()
    experiment = client.get_run(champion).info.experiment_id
    marked = [r.info.run_id for r in client.search_runs([experiment], "tags.champion = 'yes'")]
    assert marked == [champion]


def test_a_former_champion_is_marked_former_in_mlflow_and_keeps_no_rule(
    settings: Settings,
) -> None:
    """MLflow's runs table: the tags `champion` = yes and `champion_rule` on the champion's
    run alone; the champion it replaced (same data) reads `former`, without the rule that once
    chose it. A run an older `train` left with a rule and no `champion` tag is cleaned up the
    same way; another dataset's champion keeps its tags."""
    import mlflow

    from python_ml.tracking.registry import TRACKS_EXPERIMENT, setup_mlflow, warehouse_champion

    train.train_tracks(settings, small_config())
    before = warehouse_champion(settings)
    client = mlflow.MlflowClient()
    experiment = setup_mlflow(settings, TRACKS_EXPERIMENT)
    runs = client.search_runs([experiment])
    legacy = next(r.info.run_id for r in runs if r.info.run_id != before["run_id"])
    client.set_tag(legacy, "champion_rule", "best validation macro-F1 (an older train's)")
    elsewhere = client.create_run(
        experiment,
        tags={"data_fingerprint": "other data", "champion": "yes", "champion_rule": "its own"},
    ).info.run_id

    train.train_tracks(settings, small_config(), force=True)  # the same rule, new runs
    after = warehouse_champion(settings)
    assert after["run_id"] != before["run_id"] and after["label"] == before["label"]

    def tags(run_id: str) -> dict[str, str]:
        return client.get_run(run_id).data.tags

    ((rule,),) = rows(settings, "select selection_rule from ml.model_runs where is_champion")
    assert tags(after["run_id"])["champion"] == "yes"
    assert tags(after["run_id"])["champion_rule"] == rule
    for former in (before["run_id"], legacy):
        assert tags(former)["champion"] == "former"
        assert "champion_rule" not in tags(former)
    assert {k: tags(elsewhere)[k] for k in ("champion", "champion_rule")} == {
        "champion": "yes",
        "champion_rule": "its own",
    }
    ours = f"tags.data_fingerprint = '{after['fingerprint']}'"
    for marked in ("tags.champion = 'yes'", "tags.champion_rule LIKE '%'"):
        found = client.search_runs([experiment], f"{marked} and {ours}")
        assert [r.info.run_id for r in found] == [after["run_id"]], marked


# ------------------------------------------------------------------ a champion of its data


def test_two_datasets_sharing_one_mlflow_folder_keep_their_own_champions(
    settings: Settings, tmp_path: Path
) -> None:
    """Warehouse B (other data: a third of the train split's tracks left out, so another
    fingerprint) trains into warehouse A's MLflow folder: A still scores with A's champion and
    B with B's; the marts' source names the same run."""
    from python_ml.tracking.registry import warehouse_champion

    warehouse_b = tmp_path / "b" / "warehouse.duckdb"
    warehouse_b.parent.mkdir()
    shutil.copy(settings.warehouse, warehouse_b)
    with duckdb.connect(str(warehouse_b)) as con:
        con.execute("delete from marts.fct_train_tracks where hash(track_id) % 3 = 0")
    settings_b = Settings(
        PROJECT_ROOT, settings.raw_dir, warehouse_b, settings.mlflow_dir, tmp_path / "rb"
    )

    train.train_tracks(settings, small_config())
    champion_a = warehouse_champion(settings)
    train.train_tracks(settings_b, small_config())  # B's champion, registered after A's
    champion_b = warehouse_champion(settings_b)
    assert champion_a["run_id"] != champion_b["run_id"]
    assert champion_a["fingerprint"] != champion_b["fingerprint"]
    assert warehouse_champion(settings) == champion_a  # B's training did not move A's

    for own, champion in ((settings, champion_a), (settings_b, champion_b)):
        assert score.score_tracks(own)["run_id"] == champion["run_id"]
        scored = rows(own, "select distinct run_id from ml.track_predictions")
        assert scored == [(champion["run_id"],)]
        marked = rows(own, "select run_id from ml.model_runs where is_champion")
        assert marked == [(champion["run_id"],)]


def test_a_champion_trained_on_other_data_is_refused(settings: Settings) -> None:
    from python_ml.tracking.registry import ChampionUnavailable, warehouse_champion

    train.train_tracks(settings, small_config())
    run_id = warehouse_champion(settings)["run_id"]
    # The warehouse's train split changes (new data) and nothing is trained on it yet.
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(
            "delete from marts.fct_train_tracks where track_id in "
            "(select track_id from marts.fct_train_tracks order by track_id limit 5)"
        )
    with pytest.raises(ChampionUnavailable, match=f"run {run_id}\\) was trained on other data"):
        score.score_tracks(settings)
    assert rows(settings, "select count(*) from ml.track_predictions") == [(0,)]


def test_predict_never_replaces_its_input_or_a_file_unasked(
    trained: Settings, small_raw_dir: Path, tmp_path: Path
) -> None:
    """Through the real command: --output equal to --input, an existing output, an output
    folder that cannot be a folder, a folder as --input, a column given twice: one line each,
    before any scoring, nothing changed; --overwrite keeps the replaced file's mode."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "MUSIC_RAW_DIR": str(trained.raw_dir),
        "MUSIC_WAREHOUSE": str(trained.warehouse),
        "MUSIC_MLFLOW_DIR": str(trained.mlflow_dir),
    }

    def predict_cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "python_ml", "predict", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    source = small_raw_dir / "spotify_600k" / "tracks.csv"
    new = _write_tracks(tmp_path / "new.csv", source, n=5)
    before = new.read_bytes()
    same = predict_cli("--input", str(new), "--output", str(new))
    assert same.returncode == 1 and "is the input file" in same.stderr
    assert new.read_bytes() == before

    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    out.chmod(0o640)
    exists = predict_cli("--input", str(new), "--output", str(out))
    assert exists.returncode == 1 and "exists already: pass --overwrite" in exists.stderr
    assert out.read_text() == "keep me\n"
    replaced = predict_cli("--input", str(new), "--output", str(out), "--overwrite")
    assert replaced.returncode == 0, replaced.stderr[-2000:]
    assert out.read_text().startswith("line,id,name,popularity,duration_ms")
    assert out.stat().st_mode & 0o777 == 0o640

    fresh = predict_cli("--input", str(new))
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert (tmp_path / "new.predictions.csv").stat().st_mode & 0o777 == 0o644

    blocked = predict_cli("--input", str(new), "--output", str(new / "out.csv"))
    assert blocked.returncode == 1
    assert f"{new} is a file, not a folder, so nothing can be written under it" in blocked.stderr

    folder = predict_cli("--input", str(tmp_path))
    assert folder.returncode == 1 and f"{tmp_path} is a folder" in folder.stderr

    twice = tmp_path / "twice.csv"
    lines = new.read_text().splitlines()
    twice.write_text("\n".join([lines[0] + ",energy", *(line + ",0.5" for line in lines[1:])]))
    dup = predict_cli("--input", str(twice))
    assert dup.returncode == 1 and "has the column energy more than once" in dup.stderr
    assert "struct_pack" not in dup.stderr


def test_an_experiment_with_the_same_inputs_is_reused_and_a_changed_one_fits(
    settings: Settings, tmp_path: Path
) -> None:
    """Same data, config, code and seed: the finished run is taken as it is (no fit), with
    the same figures and the champion it gave; a changed hyper-parameter fits that
    experiment only. A reused run keeps its one ml.model_runs row and its fit's times, and
    says when a training reused it (reused_at), here and in another warehouse on the same
    data that gets its row from the reuse."""
    other = Settings(
        PROJECT_ROOT, settings.raw_dir, tmp_path / "o" / "w.duckdb", settings.mlflow_dir, tmp_path
    )
    other.warehouse.parent.mkdir()
    shutil.copy(settings.warehouse, other.warehouse)  # the same data, nothing trained
    first = {r.experiment.label: r for r in train.train_tracks(settings, small_config())}
    recorded = "select run_id, finished_at, duration_seconds, reused_at from ml.model_runs"
    fitted = {run_id: (end, seconds) for run_id, end, seconds, _ in rows(settings, recorded)}
    assert [r[3] for r in rows(settings, recorded)] == [None, None]
    champion = champion_version(settings)
    fits = []
    original = train.fit_model

    def counting(spec, *args, **kwargs):
        fits.append(spec.name)
        return original(spec, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train, "fit_model", counting)
        again = {r.experiment.label: r for r in train.train_tracks(settings, small_config())}
        assert fits == []
        assert {k: r.run_id for k, r in again.items()} == {k: r.run_id for k, r in first.items()}
        assert (
            again["logistic_regression/full"].metrics == first["logistic_regression/full"].metrics
        )
        assert champion_version(settings) == champion
        reused = {run_id: at for run_id, end, seconds, at in rows(settings, recorded)}
        for run_id, end, seconds, at in rows(settings, recorded):
            assert (end, seconds) == fitted[run_id], "the fit's own times"
            assert at is not None and at > end
            # MLflow says so too (it showed a reused run as any other).
            import mlflow

            tags = mlflow.MlflowClient().get_run(run_id).data.tags
            assert tags[train.REUSED_AT_TAG] == f"{at:%Y-%m-%d %H:%M:%S} UTC"
        changed = train.train_tracks(settings, small_config(logistic_regression={"C": 0.5}))
        assert "logistic_regression" in fits and "majority" not in fits
        # Another warehouse on the same data, sharing the MLflow folder: every run reused.
        fitted_so_far = len(fits)
        elsewhere = train.train_tracks(other, small_config())
        assert len(fits) == fitted_so_far and all(r.reused for r in elsewhere)
    labels = {r.experiment.label: r.run_id for r in changed}
    majority = first["majority/full"].run_id
    assert labels["majority/full"] == majority
    assert labels["logistic_regression/full"] != first["logistic_regression/full"].run_id
    runs = rows(settings, "select count(*) from ml.model_runs where task = 'tracks'")
    assert runs == [(3,)]  # nothing recorded twice
    now = {run_id: (end, at) for run_id, end, _, at in rows(settings, recorded)}
    assert now[majority][1] > reused[majority]  # reused again, by the latest training
    assert now[labels["logistic_regression/full"]][1] is None  # fitted by it
    assert (
        now[first["logistic_regression/full"].run_id][1]
        == reused[first["logistic_regression/full"].run_id]
    )  # not taken by the latest training
    from datetime import UTC

    import mlflow

    there = rows(other, recorded)
    assert {r[0] for r in there} == {r.run_id for r in first.values()}
    for run_id, end, seconds, at in there:
        ended = mlflow.MlflowClient().get_run(run_id).info.end_time
        assert abs(end.replace(tzinfo=UTC).timestamp() * 1000 - ended) < 1000  # MLflow's end
        assert seconds == pytest.approx(fitted[run_id][1], abs=1.0)
        assert at is not None and at > end


def test_a_changed_feature_value_fits_again_though_the_tracks_are_the_same(
    settings: Settings,
) -> None:
    """The fingerprint names tracks and classes; a feature value changed in the train table
    (say, a fixed parser upstream) must not reuse runs fitted on the old values."""
    first = {r.experiment.label: r.run_id for r in train.train_tracks(settings, small_config())}
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(
            "update marts.fct_train_tracks set tempo = tempo + 1 "
            "where track_id in (select track_id from marts.fct_train_tracks limit 50)"
        )
    again = {r.experiment.label: r for r in train.train_tracks(settings, small_config())}
    assert not any(r.reused for r in again.values())
    assert all(again[label].run_id != run_id for label, run_id in first.items())


def test_each_run_records_the_split_seed_its_train_split_was_cut_with(
    settings: Settings, small_raw_dir: Path
) -> None:
    """Runs on the splits of two seeds share their name and every other parameter: the seed
    the build cut the split with (not the var of a later command that did not cut it again) is
    an MLflow param of each run and a column of its ml.model_runs row."""
    import mlflow

    from python_ml.warehouse import catalog

    default = str(catalog.dbt_var("split_seed"))  # dbt_project.yml's, as the build used it
    assert default != "7"
    first = train.train_tracks(settings, small_config())

    def rebuilt(*selection: str) -> None:
        done = dbt(
            small_raw_dir, settings.warehouse, "run", "-s", *selection, "--vars", "{split_seed: 7}"
        )
        assert done.returncode == 0, done.stdout[-3000:]

    # The train table made again from the split as it was: still the default seed's rows.
    rebuilt("fct_train_tracks")
    assert rows(settings, "select split_seed from audit.train_tracks_build") == [(default,)]
    rebuilt("int_tracks_split", "fct_train_tracks")
    assert rows(settings, "select split_seed from audit.train_tracks_build") == [("7",)]
    second = train.train_tracks(settings, small_config())
    assert not any(r.reused for r in second)

    client = mlflow.MlflowClient()
    for runs, seed in ((first, default), (second, "7")):
        for result in runs:
            run = client.get_run(result.run_id)
            assert run.data.params["split_seed"] == seed, result.experiment.label
            assert f"split seed {seed}," in run.data.tags["mlflow.note.content"]
    for one, other in zip(first, second, strict=True):
        a, b = client.get_run(one.run_id).data, client.get_run(other.run_id).data
        assert a.tags["mlflow.runName"] == b.tags["mlflow.runName"]
        differ = {
            k for k in a.params.keys() | b.params.keys() if a.params.get(k) != b.params.get(k)
        }
        assert differ <= {"split_seed", "train_split_rows"}, differ
        assert "split_seed" in differ
    recorded = dict(rows(settings, "select run_id, split_seed from ml.model_runs"))
    assert recorded == {r.run_id: default for r in first} | {r.run_id: "7" for r in second}


def test_the_mlflow_experiments_say_what_they_hold(settings: Settings) -> None:
    """MLflow's experiment page describes each experiment (its note), also one made before the
    descriptions were written."""
    import mlflow

    from python_ml.tracking import registry

    registry.setup_mlflow(settings, registry.TRACKS_EXPERIMENT)  # the store, a new experiment
    mlflow.create_experiment(registry.SONGS_EXPERIMENT)  # an older one, without a description
    for name in (registry.TRACKS_EXPERIMENT, registry.SONGS_EXPERIMENT):
        registry.setup_mlflow(settings, name)
        note = mlflow.get_experiment_by_name(name).tags[registry.DESCRIPTION_TAG]
        assert note == registry.DESCRIPTIONS[name]
    tracks = registry.DESCRIPTIONS[registry.TRACKS_EXPERIMENT]
    assert "popularity_classes.csv" in tracks and registry.TRACK_MODEL_NAME in tracks


def test_a_training_of_other_experiments_weighs_the_champion_by_the_same_rule(
    trained: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """`train --only` compared the champion's figure alone with its choice (a model within the
    champion's noise and not simpler replaced it, and the next full training put it back): the
    champion is now a candidate of the rule, from its run's recorded validation calls."""
    import logging

    from python_ml.tracking.registry import warehouse_champion

    before = warehouse_champion(trained)
    assert before["label"] == "logistic_regression/full"  # the full training's choice
    version = champion_version(trained)
    with caplog.at_level(logging.INFO, logger="python_ml"):
        (majority,) = train.train_tracks(trained, small_config(), only=["majority"], force=True)
    assert majority.status == "FINISHED"
    said = caplog.text
    assert "champion stays logistic_regression/full: weighed by the same rule beside" in said
    assert "-> logistic_regression/full" in said  # the rule named it, over the majority
    assert champion_version(trained) == version
    assert warehouse_champion(trained)["run_id"] == before["run_id"]


def test_a_left_out_run_the_rule_chooses_is_promoted(
    trained: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """`train --only` weighs the runs a full training would reuse of the experiments it left
    out; when the rule chose one of them, `train` stopped (it was looked for among the
    training's own runs). Here the champion is the majority baseline (promoted by hand) and
    `train --only majority` reuses it: the left-out logistic regression wins, as in a full
    training, and is promoted."""
    import logging

    import mlflow

    from python_ml.tracking.registry import TRACKS_EXPERIMENT, setup_mlflow, warehouse_champion
    from python_ml.tracks.champion import promote

    setup_mlflow(trained, TRACKS_EXPERIMENT)
    runs = dict(
        rows(
            trained,
            "select model_type, run_id from ml.model_runs where task = 'tracks' "
            "and status = 'FINISHED'",
        )
    )
    linear = warehouse_champion(trained)
    assert linear["run_id"] == runs["logistic_regression"]
    majority = mlflow.get_run(runs["majority"])
    promote(
        trained,
        runs["majority"],
        majority.data.tags[train.MODEL_URI_TAG],
        "promoted by the test",
        linear["fingerprint"],
    )
    assert warehouse_champion(trained)["run_id"] == runs["majority"]
    with caplog.at_level(logging.INFO, logger="python_ml"):
        results = train.train_tracks(trained, small_config(), only=["majority"])
    # Taken as a full training takes a run it reuses: among the training's runs, reused.
    assert [(r.experiment.label, r.run_id, r.reused) for r in results] == [
        ("majority/full", runs["majority"], True),
        ("logistic_regression/full", runs["logistic_regression"], True),
    ]
    said = caplog.text
    assert "with earlier runs not fitted by this training: logistic_regression/full" in said
    assert "is an earlier run of logistic_regression/full, left out of this training" in said
    assert warehouse_champion(trained)["run_id"] == runs["logistic_regression"]
    assert rows(
        trained,
        "select is_champion, reused_at is not null from ml.model_runs "
        f"where run_id = '{runs['logistic_regression']}'",
    ) == [(True, True)]


def test_a_left_out_experiment_a_full_training_would_fit_again_is_not_weighed(
    trained: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Its latest run is not what a full training would compare (its config changed since):
    it is named and left out, and the champion, a run of it, is weighed from its recorded
    calls (as a champion of another config is)."""
    import logging

    from python_ml.tracking.registry import warehouse_champion

    before = warehouse_champion(trained)
    changed = small_config(logistic_regression={"C": 0.5})
    with caplog.at_level(logging.INFO, logger="python_ml"):
        (majority,) = train.train_tracks(trained, changed, only=["majority"])
    said = caplog.text
    assert (
        "logistic_regression/full, left out of this training, is not weighed: no finished run "
        "has its data, config, code and seed (a full training would fit it again)"
    ) in said
    assert "champion stays logistic_regression/full: weighed by the same rule" in said
    assert warehouse_champion(trained)["run_id"] == before["run_id"]
