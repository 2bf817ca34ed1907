"""An MLflow folder moved (or copied) elsewhere: its runs' and models' files are read there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from python_ml.settings import PROJECT_ROOT, Settings


def test_a_moved_mlflow_folder_shows_its_runs_files_from_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow's UI reads a run's artifacts (charts, model card, logged model) from the URI
    recorded with the run: after the data folder was moved, the runs still named the old
    folder, so the UI showed no files (and after a copy, the original's)."""
    import mlflow

    from python_ml.tracking.registry import setup_mlflow

    def settings(folder: Path) -> Settings:
        return Settings(PROJECT_ROOT, folder / "raw", folder / "w.duckdb", folder / "m", folder)

    monkeypatch.setattr(mlflow.tracking._tracking_service.utils, "_tracking_uri", None)
    old, new = tmp_path / "old", tmp_path / "new"
    experiment = setup_mlflow(settings(old), "tracks-test")
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_text("the champion's card", "model_card/model_card.md")
    model = mlflow.initialize_logged_model(name="model", experiment_id=experiment)
    (old / "m" / "artifacts" / "models" / model.model_id / "artifacts").mkdir(parents=True)
    registry = mlflow.MlflowClient()
    registry.create_registered_model("track_popularity_test")
    version = registry.create_model_version(
        "track_popularity_test", f"models:/{model.model_id}", model_id=model.model_id
    )
    shutil.move(old, new)

    setup_mlflow(settings(new), "tracks-test")
    client = mlflow.MlflowClient()
    here = (new / "m" / "artifacts").as_uri()
    assert client.get_run(run.info.run_id).info.artifact_uri.startswith(here + "/")
    assert [a.path for a in client.list_artifacts(run.info.run_id, "model_card")] == [
        "model_card/model_card.md"
    ]
    assert mlflow.get_logged_model(model.model_id).artifact_location.startswith(here + "/")
    # The registry page's files of a version (MLflow's storage_location).
    stored = client.get_model_version_download_uri("track_popularity_test", version.version)
    assert stored.startswith(here + "/"), stored
