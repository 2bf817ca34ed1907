"""Failures through the command line (in-process, so a crash can be injected): each exits 1
with a message a user can act on, and leaves the warehouse, the predictions and the champion
model as they were."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from test_ml import BASE_CONFIG

from python_ml import cli
from python_ml.raw import extract, generate
from python_ml.tracks import score, train


@pytest.fixture
def env(built_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("MUSIC_MLFLOW_DIR", str(tmp_path / "mlflow"))
    monkeypatch.setenv("MUSIC_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("MUSIC_RAW_DIR", str(tmp_path / "raw"))
    config = dict(BASE_CONFIG)
    config["experiments"] = [
        {"model": "majority", "feature_set": "full"},
        {"model": "logistic_regression", "feature_set": "audio"},
    ]
    (tmp_path / "small.yml").write_text(yaml.safe_dump(config))
    return tmp_path


def snapshot(tmp_path: Path) -> tuple:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        predictions = con.execute("select * from ml.track_predictions order by all").fetchall()
        champion = con.execute(
            "select run_id, registered_version from ml.model_runs where is_champion"
        ).fetchall()
    return predictions, champion


def test_a_crash_during_training_exits_1_and_keeps_the_champion(
    env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert cli.main(["train", "--config", str(env / "small.yml")]) == 0
    assert cli.main(["score"]) == 0
    before = snapshot(env)

    def crash(*args, **kwargs):
        raise RuntimeError("killed (injected)")

    monkeypatch.setattr(train, "fit_model", crash)
    assert cli.main(["train", "--config", str(env / "small.yml")]) == 1
    assert "the champion model was not changed" in caplog.text
    assert snapshot(env) == before
    assert cli.main(["score"]) == 0, "the old champion still scores"
    assert snapshot(env)[1] == before[1]


def test_a_crash_during_scoring_exits_1_and_keeps_the_predictions(
    env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert cli.main(["train", "--config", str(env / "small.yml")]) == 0
    assert cli.main(["score", "--batch-size", "100"]) == 0
    before = snapshot(env)
    assert before[0], "predictions were written"
    calls = {"n": 0}
    real = score.prediction_batch

    def crash_on_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(score, "prediction_batch", crash_on_second_batch)
    assert cli.main(["score", "--batch-size", "100"]) == 1
    assert "disk full (injected)" in caplog.text
    assert snapshot(env) == before


class NotFoundApi:
    def dataset_download_files(self, ref, path, unzip, quiet):
        raise RuntimeError("404 Client Error: Not Found for url")


def test_a_kaggle_error_exits_1_and_leaves_the_raw_folder(
    env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "not-a-real-key-42")
    monkeypatch.setattr(extract, "_default_kaggle_api", NotFoundApi)
    generate.write_songs_2023(env / "raw" / "spotify_2023" / "spotify-2023.csv", seed=1)
    before = sorted(p.name for p in (env / "raw").rglob("*"))
    assert cli.main(["extract"]) == 1
    assert "was not found on Kaggle" in caplog.text
    assert "not-a-real-key-42" not in caplog.text
    assert sorted(p.name for p in (env / "raw").rglob("*")) == before
