"""Behaviour tests of the trained champion (Made-With-ML's invariance, directional and
minimum-functionality tests, for tables), on the main job's champion and built-in data, through
the scoring path every user of the model goes through (tracks/scorer.py).

The built-in data's popularity rises with release year (python_ml/raw/generate.py): a model
that learned it must not lower a track's hit probability as its year rises, the rest fixed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import main_job_env, query

from python_ml.settings import PROJECT_ROOT, Settings
from python_ml.tracks.scorer import Scorer


@pytest.fixture(scope="module")
def scorer(main_job_dir: Path) -> Scorer:
    env = main_job_env(main_job_dir)
    return Scorer(
        Settings(
            project_root=PROJECT_ROOT,
            raw_dir=Path(env["MUSIC_RAW_DIR"]),
            warehouse=Path(env["MUSIC_WAREHOUSE"]),
            mlflow_dir=Path(env["MUSIC_MLFLOW_DIR"]),
            reports_dir=Path(env["MUSIC_REPORTS_DIR"]),
        )
    )


@pytest.fixture(scope="module")
def predict_tracks(main_job_dir: Path) -> pd.DataFrame:
    """The predict split's raw rows (as tracks.csv has them) with their true class."""
    raw = pd.read_csv(
        main_job_dir / "raw" / "spotify_600k" / "tracks.csv", dtype=str, keep_default_na=False
    )
    truth = dict(
        query(
            main_job_dir / "warehouse.duckdb",
            "select track_id, true_class from marts.fct_track_predictions",
        )
    )
    tracks = raw[raw["id"].isin(truth)].drop(columns="popularity").reset_index(drop=True)
    tracks["true_class"] = tracks["id"].map(truth)
    return tracks


def _score(scorer: Scorer, frame: pd.DataFrame) -> pd.DataFrame:
    records = frame.drop(columns=["true_class"], errors="ignore").to_dict("records")
    _, scored = scorer.score_records(records)
    assert (scored["status"] == "scored").all(), scored["rejection_reason"].value_counts()
    return scored


def _probabilities(scorer: Scorer, scored: pd.DataFrame) -> np.ndarray:
    names = [f"prob_{c}" for c in scorer.champion.model.class_names]
    return scored[names].to_numpy(dtype=np.float64)


def test_a_tracks_id_and_name_change_nothing(scorer: Scorer, predict_tracks: pd.DataFrame) -> None:
    tracks = predict_tracks.head(200)
    before = _score(scorer, tracks)
    renamed = tracks.assign(
        id=[f"renamed{i:015d}" for i in range(len(tracks))],
        name=[f"Another title {i}" for i in range(len(tracks))],
    )
    after = _score(scorer, renamed)
    assert np.array_equal(_probabilities(scorer, before), _probabilities(scorer, after))
    assert before["predicted_class"].tolist() == after["predicted_class"].tolist()
    assert before["reasons"].tolist() == after["reasons"].tolist()


def test_the_hit_probability_does_not_fall_as_the_release_year_rises(
    scorer: Scorer, predict_tracks: pd.DataFrame
) -> None:
    years = list(range(1930, 2021, 10))
    base = predict_tracks.head(40)
    swept = pd.concat(
        [base.assign(release_date=str(year), id=base["id"].str[:12] + str(year)) for year in years],
        ignore_index=True,
    )
    hit = _probabilities(scorer, _score(scorer, swept))[:, -1].reshape(len(years), len(base))
    falls = np.diff(hit, axis=0)
    assert falls.min() >= -1e-9, f"the hit probability fell by {-falls.min():.4f} as a year rose"
    assert (hit[-1] - hit[0]).mean() > 0.01, "a later year must make a hit more likely"


def test_clear_cut_tracks_get_their_class(scorer: Scorer, predict_tracks: pd.DataFrame) -> None:
    # Old releases are cold in the built-in data (mean popularity below 10 before 1960).
    old = predict_tracks[predict_tracks["release_date"].str[:4].astype(int) < 1960]
    assert len(old) >= 20
    called = _score(scorer, old)["predicted_class"]
    assert (called == scorer.champion.model.class_names[0]).mean() >= 0.9
    # The true hits are ranked above the true cold tracks.
    hits = predict_tracks[predict_tracks["true_class"] == "blazing_hot"]
    cold = predict_tracks[predict_tracks["true_class"] == "ice_cold"].head(500)
    assert len(hits) >= 3
    hit_p = _probabilities(scorer, _score(scorer, hits))[:, -1]
    cold_p = _probabilities(scorer, _score(scorer, cold))[:, -1]
    assert np.median(hit_p) > np.quantile(cold_p, 0.9)


def _predict_cli(main_job_dir: Path, csv: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "python_ml", "predict", "--input", str(csv)],
        cwd=PROJECT_ROOT,
        env={**os.environ, **main_job_env(main_job_dir)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _drift_warnings(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if "WARNING" in line and "drift:" in line]


def test_predict_warns_of_drift_on_the_shifted_feature_only(
    main_job_dir: Path, predict_tracks: pd.DataFrame, tmp_path: Path
) -> None:
    tracks = predict_tracks.head(300).drop(columns="true_class")
    same = tmp_path / "same.csv"
    tracks.to_csv(same, index=False)
    quiet = _predict_cli(main_job_dir, same)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert _drift_warnings(quiet) == [] and "no drift: every feature" in quiet.stderr

    # Tempo 40 BPM faster, within its valid range: a feature the champion hardly uses, so the
    # classes called do not move; only tempo has drifted.
    shifted = tracks.assign(tempo=(tracks["tempo"].astype(float) + 40).clip(upper=299).round(3))
    moved = tmp_path / "moved.csv"
    shifted.to_csv(moved, index=False)
    loud = _predict_cli(main_job_dir, moved)
    assert loud.returncode == 0, loud.stderr[-2000:]
    warnings = _drift_warnings(loud)
    assert len(warnings) == 1, warnings
    assert "drift: tempo has moved away from the training split (PSI" in warnings[0]

    # A discrete feature: a third of the 4/4 tracks become 3/4 (each common value is its own
    # bin, so a shift between two values is seen even when one of them fills every decile).
    to_three = (tracks["time_signature"].astype(int) == 4) & (np.arange(len(tracks)) % 3 == 0)
    waltz = tracks.assign(time_signature=tracks["time_signature"].where(~to_three, 3))
    metre = tmp_path / "metre.csv"
    waltz.to_csv(metre, index=False)
    result = _predict_cli(main_job_dir, metre)
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = _drift_warnings(result)
    assert len(warnings) == 1 and "drift: time_signature has moved" in warnings[0], warnings

    few = tmp_path / "few.csv"
    shifted.head(5).to_csv(few, index=False)
    small = _predict_cli(main_job_dir, few)
    assert small.returncode == 0 and "too few to compare with the training split" in small.stderr


def test_the_explanation_importance_and_drift_marts_and_the_model_card(
    main_job_dir: Path, scorer: Scorer
) -> None:
    warehouse = main_job_dir / "warehouse.duckdb"
    features = scorer.champion.model.features
    ((scored,),) = query(warehouse, "select count(*) from marts.fct_track_predictions")
    ((explained, tracks),) = query(
        warehouse,
        "select count(*), count(distinct track_id) from marts.fct_track_prediction_explanations",
    )
    assert (explained, tracks) == (scored * len(features), scored)
    ((worst,),) = query(
        warehouse,
        "select max(abs(b + s - e)) from (select track_id, max(explanation_baseline) as b, "
        "sum(contribution) as s, max(explained_score) as e "
        "from marts.fct_track_prediction_explanations group by track_id)",
    )
    assert worst < 1e-6
    # The reasons column names the runner-up, then the rank-1 feature, with its contribution.
    mismatched = query(
        warehouse,
        "select p.track_id from marts.fct_track_predictions as p "
        "inner join marts.fct_track_prediction_explanations as e "
        "on p.track_id = e.track_id and e.contribution_rank = 1 "
        "where not regexp_matches(p.reasons, '^over [a-z_]+: ' || replace(e.feature, '_', ' ') "
        "|| ' ') or split_part(p.reasons, ':', 1) = 'over ' || p.predicted_class",
    )
    assert mismatched == []
    # The runner-up is a column of its own: the class the reasons name, never the one called.
    runner_up = query(
        warehouse,
        "select count(*), count(*) filter (where runner_up_class = predicted_class), "
        "count(*) filter (where reasons not like 'over ' || runner_up_class || ': %'), "
        "count(distinct runner_up_class) from marts.fct_track_predictions",
    )
    assert runner_up[0][:3] == (scored, 0, 0) and runner_up[0][3] >= 2
    # Every feature the champion learnt from is a column of the mart (4 of 15 were not: an
    # analyst could not put the reasons beside the values).
    columns = {
        name
        for (name,) in query(
            warehouse,
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'fct_track_predictions'",
        )
    }
    assert set(features) <= columns, set(features) - columns
    # Over the runner-up, the lead the explanation explains is positive wherever the class
    # called is also the most probable (the decision rule's weights aside).
    behind = query(
        warehouse,
        "select count(distinct e.track_id) from marts.fct_track_prediction_explanations as e "
        "inner join marts.fct_track_predictions as p on p.track_id = e.track_id "
        "where e.explained_score < -1e-9 and p.predicted_class = (select c.class_name "
        "from marts.fct_track_class_probabilities as c where c.track_id = p.track_id "
        "order by c.probability desc limit 1)",
    )
    assert behind == [(0,)]

    runs = query(
        warehouse,
        "select model_label, count(*) from marts.rpt_feature_importance group by 1 order by 1",
    )
    assert len(runs) == 5 and all(n > 0 for _, n in runs)
    ((top,),) = query(
        warehouse,
        "select feature from marts.rpt_feature_importance where is_champion "
        "and importance_rank = 1",
    )
    assert top == "release_year"  # the built-in data's popularity follows the release year

    drift = dict(
        query(
            warehouse, "select feature, drift_status from marts.rpt_feature_drift where is_current"
        )
    )
    assert "predicted_class" in drift and "release_year" in drift
    assert set(drift.values()) == {"stable"}  # the predict split is a random 10%
    # The main job said so when it built the marts (a drifted feature would be a warning).
    log = (main_job_dir / "stderr.log").read_text(encoding="utf-8")
    assert "no drift: every feature of the scored predict split (400 tracks)" in log

    card = (main_job_dir / "reports" / "model_card.md").read_text()
    assert scorer.champion.run_id in card and "## Not for" in card and "Generated data" in card
    assert "95% bootstrap interval" in card and "### Per decade" in card

    import mlflow

    # The registry named too: one another test set in this process (mlflow.set_registry_uri)
    # is used otherwise.
    store = f"sqlite:///{main_job_dir / 'mlflow' / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    version = client.get_model_version("track_popularity", str(scorer.champion.version))
    assert version.description == card
    assert version.tags["data_origin"] == "generated" and version.tags["data_fingerprint"]
    assert version.tags["registered_from_warehouse"].endswith(".duckdb")
    # Run pages: figures to 4 significant digits (the full values are in the artifacts and
    # ml.model_runs), and every run, the 2023 songs study's too, names the table it learned on.
    runs = [
        run
        for name in ("track_popularity", "songs_2023_streams")
        for run in client.search_runs([client.get_experiment_by_name(name).experiment_id])
    ]
    assert {r.data.tags["task"] for r in runs} >= {"tracks", "songs_log_streams"}
    champion_run = client.get_run(scorer.champion.run_id)  # its page says what data it learnt
    assert "trained on generated data" in champion_run.data.tags["mlflow.note.content"]
    # The runs table can show which run is the champion: that run alone has the tag.
    marked = [r.info.run_id for r in runs if r.data.tags.get("champion") == "yes"]
    assert marked == [scorer.champion.run_id]
    for run in runs:
        assert run.inputs.dataset_inputs, run.data.tags["mlflow.runName"]
        # Counts exact (427,683 rows showed as 427,700), other figures to 4 digits.
        assert all(v.is_integer() or float(f"{v:.4g}") == v for v in run.data.metrics.values())
        (dataset,) = {i.dataset.name for i in run.inputs.dataset_inputs}
        assert dataset.endswith(" rows)"), dataset  # MLflow's own profile says 0 rows


def test_the_champion_read_from_its_files_is_the_one_mlflow_loads(
    main_job_dir: Path, scorer: Scorer, predict_tracks: pd.DataFrame
) -> None:
    """predict, the app and the service read the champion's folder without MLflow: the same
    model as MLflow's pyfunc loader gives, to the last bit."""
    from python_ml.tracking.registry import load_champion

    ((path,),) = query(
        main_job_dir / "warehouse.duckdb",
        "select model_path from ml.model_runs where is_champion",
    )
    assert path and (main_job_dir / "mlflow" / path / "MLmodel").is_file()
    run_id, version, through_mlflow = load_champion(scorer.settings)
    fast = scorer.champion.model
    assert (run_id, version) == (scorer.champion.run_id, scorer.champion.version)
    assert (fast.kind, fast.features, fast.class_names) == (
        through_mlflow.kind,
        through_mlflow.features,
        through_mlflow.class_names,
    )
    assert (fast.temperature, fast.decision_weights) == (
        through_mlflow.temperature,
        through_mlflow.decision_weights,
    )
    derived = scorer.path.derive_records(
        predict_tracks.drop(columns="true_class").to_dict("records"), fast.features
    )
    assert np.array_equal(
        fast.predict_proba(derived.features), through_mlflow.predict_proba(derived.features)
    )
