"""What the 2023 songs study compares with its last run (orchestration/versions.songs_inputs):
a new scikit-learn refitted the tracks models and left the study's figures, fitted with the
old one, as current; an MLflow folder removed lost the study's runs for good (training logged
its own again)."""

from pathlib import Path

import duckdb
import pytest

from python_ml.orchestration import versions
from python_ml.settings import Settings


def _settings(tmp_path: Path) -> Settings:
    return Settings(tmp_path, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path)


def test_a_new_library_version_makes_the_study_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from python_ml.tracking import runs

    settings = _settings(tmp_path)
    versions.record(settings, "songs", versions.songs_inputs(settings, None), "run a")
    assert (
        versions.changed_inputs(settings, "songs", versions.songs_inputs(settings, None)) == set()
    )
    installed = runs.library_versions()
    monkeypatch.setattr(runs, "library_versions", lambda: {**installed, "scikit-learn": "99.0"})
    now = versions.songs_inputs(settings, None)
    assert versions.changed_inputs(settings, "songs", now) == {"libraries"}


def test_the_study_runs_again_when_its_mlflow_runs_are_gone(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema ml")
        con.execute("create table ml.song_predictions (run_id varchar)")
        con.execute("insert into ml.song_predictions values ('r1'), ('r2'), ('r2')")
    for run_id in ("r1", "r2"):
        (settings.mlflow_dir / "artifacts" / run_id / "artifacts").mkdir(parents=True)
    kept = versions.songs_inputs(settings, None)
    assert "study runs in MLflow" not in kept  # as recorded before the check existed
    versions.record(settings, "songs", kept, "run a")
    (settings.mlflow_dir / "artifacts" / "r2" / "artifacts").rmdir()
    (settings.mlflow_dir / "artifacts" / "r2").rmdir()
    now = versions.songs_inputs(settings, None)
    assert versions.changed_inputs(settings, "songs", now) == {"study runs in MLflow"}
