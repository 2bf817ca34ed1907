"""Class names, labels and thresholds come from the seed only: rename a class in a copy of the
project's seed and every mart, prediction and chart follows."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import PROJECT_ROOT
from test_ml import small_config

from python_ml.reports import charts
from python_ml.settings import Settings
from python_ml.songs import study as songs_study
from python_ml.tracks import score, train
from python_ml.warehouse.load import load_raw

PROJECT_PARTS = ["dbt_project.yml", "models", "macros", "seeds", "tests/generic", "tests/singular"]


def _copy_project(target: Path) -> Path:
    target.mkdir(parents=True)
    for part in PROJECT_PARTS:
        source = PROJECT_ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part)
        else:
            shutil.copy(source, target / part)
    shutil.copytree(PROJECT_ROOT / "profiles", target / "profiles")
    return target


def _dbt(project: Path, settings: Settings, *args: str) -> None:
    env = dict(os.environ)
    env.update(
        MUSIC_RAW_DIR=str(settings.raw_dir),
        MUSIC_WAREHOUSE=str(settings.warehouse),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            *args,
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project / "profiles"),
        ],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-5000:]


@pytest.mark.slow
def test_a_class_renamed_in_the_seed_is_renamed_everywhere(
    small_raw_dir: Path, tmp_path: Path
) -> None:
    project = _copy_project(tmp_path / "project")
    seed = project / "seeds" / "popularity_classes.csv"
    seed.write_text(
        seed.read_text().replace("blazing_hot,blazing-hot", "chart_topper,chart-topper")
    )
    settings = Settings(
        project_root=project,
        raw_dir=small_raw_dir,
        warehouse=tmp_path / "warehouse.duckdb",
        mlflow_dir=tmp_path / "mlflow",
        reports_dir=tmp_path / "reports",
    )
    load_raw(settings)
    _dbt(project, settings, "build", "--exclude", "tag:ml_outputs")
    results = train.train_tracks(settings, small_config())
    assert results[0].metrics["validation"]["per_class"].keys() == {
        "ice_cold",
        "lukewarm",
        "chart_topper",
    }
    score.score_tracks(settings, batch_size=1000)
    study = songs_study.load_songs_config()
    small_study = songs_study.StudyConfig(
        study.seed,
        2,
        1,
        {"audio": study.feature_sets["audio"]},
        {"random_forest": {"n_estimators": 5, "min_samples_leaf": 2, "max_features": 0.5}},
    )
    songs_study.run_study(settings, small_study)
    # The study's runs name their data and library versions, as the tracks' runs do.
    import mlflow

    from python_ml.tracking.registry import SONGS_EXPERIMENT

    runs = mlflow.search_runs(experiment_names=[SONGS_EXPERIMENT], output_format="list")
    assert len(runs) == 2  # a regression and a classification
    for run in runs:
        assert len(run.data.tags["data_fingerprint"]) == 32
        assert run.data.tags["version.scikit-learn"] == importlib.metadata.version("scikit-learn")
    # Each run ends when its work did, not when the study closes them all (MLflow's Duration
    # column gave the first run the whole study's time): the first ends before the next starts.
    first, second = sorted(runs, key=lambda r: r.info.start_time)
    assert first.info.status == second.info.status == "FINISHED"
    assert first.info.end_time <= second.info.start_time < second.info.end_time
    # Run again, the study's runs of the same name say which run took their place.
    from python_ml.tracking.registry import SUPERSEDED_TAG

    songs_study.run_study(settings, small_study)
    rerun = mlflow.search_runs(experiment_names=[SONGS_EXPERIMENT], output_format="list")
    later = {
        r.info.run_name: r
        for r in rerun
        if r.info.run_id not in {first.info.run_id, second.info.run_id}
    }
    assert len(later) == 2
    for earlier in (first, second):
        tags = mlflow.get_run(earlier.info.run_id).data.tags
        assert tags[SUPERSEDED_TAG] == later[earlier.info.run_name].info.run_id
    assert not any(SUPERSEDED_TAG in r.data.tags for r in later.values())
    _dbt(project, settings, "build", "--select", "tag:ml_outputs", "staging.ml")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        distribution = con.execute(
            "select class_name from marts.rpt_class_distribution order by class_index"
        ).fetchall()
        keys = con.execute(
            "select distinct unnest(map_keys(class_probabilities)) from marts.fct_track_predictions"
        ).fetchall()
        hits = con.execute(
            "select sum(actual_hit_rate * scored_tracks) from marts.rpt_hit_rate_by_release_year"
        ).fetchone()[0]
        true_hits = con.execute(
            "select count(*) from marts.fct_track_predictions where true_class = 'chart_topper'"
        ).fetchone()[0]
        long_classes = con.execute(
            "select distinct class_name from marts.fct_track_class_probabilities"
        ).fetchall()
    assert [r[0] for r in distribution] == ["ice_cold", "lukewarm", "chart_topper"]
    assert {r[0] for r in keys} == {"ice_cold", "lukewarm", "chart_topper"}
    assert {r[0] for r in long_classes} == {"ice_cold", "lukewarm", "chart_topper"}
    assert true_hits > 0 and round(hits) == true_hits, "hit rates follow the seed's top class"
    charts.draw_all(settings)
    page = (settings.reports_dir / "index.html").read_text()
    assert "chart-topper (70-100)" in page and "blazing" not in page
    card = (settings.reports_dir / "model_card.md").read_text()
    assert "chart-topper (70-100)" in card and "blazing" not in card
