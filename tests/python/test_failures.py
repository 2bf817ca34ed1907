"""Failures through the command line (in-process, so a crash can be injected): each exits 1
with a message a user can act on, and leaves the warehouse, the predictions and the champion
model as they were."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

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
    assert cli.main(["train", "--config", str(env / "small.yml"), "--force"]) == 1
    assert "the champion model was not changed" in caplog.text
    assert "failed: killed (injected) (raised at python/test_failures.py:" in caplog.text
    assert " in crash)" in caplog.text
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


# ------------------------------------------------- bad inputs: one line naming what and where


@pytest.fixture
def raw_copy(small_raw_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(small_raw_dir, raw)
    monkeypatch.setenv("MUSIC_RAW_DIR", str(raw))
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(tmp_path / "wh" / "warehouse.duckdb"))
    monkeypatch.setenv("MUSIC_MLFLOW_DIR", str(tmp_path / "mlflow"))
    monkeypatch.setenv("MUSIC_REPORTS_DIR", str(tmp_path / "reports"))
    return raw


def _fails_with(caplog: pytest.LogCaptureFixture, argv: list[str], *expected: str) -> str:
    caplog.clear()
    assert cli.main(argv) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    message = errors[-1]
    for text in expected:
        assert text in message, message
    for library in ("struct_pack", "Catalog Error", "OperationalError", "DatabaseError"):
        assert library not in message, message
    assert "Traceback" not in caplog.text
    return message


def test_a_header_naming_a_column_twice_is_named(
    raw_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracks = raw_copy / "spotify_600k" / "tracks.csv"
    lines = tracks.read_text(encoding="utf-8").split("\n")
    lines[0] = lines[0].replace("energy", "tempo")
    tracks.write_text("\n".join(lines), encoding="utf-8")
    _fails_with(caplog, ["load"], f"{tracks}: the header names tempo more than once")
    assert not (raw_copy.parent / "wh" / "warehouse.duckdb").exists()


def test_a_zip_saved_as_the_csv_is_named(raw_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    import zipfile

    tracks = raw_copy / "spotify_600k" / "tracks.csv"
    archive = raw_copy / "tracks.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(tracks, "tracks.csv")
    archive.replace(tracks)
    _fails_with(caplog, ["load"], f"{tracks} is a zip archive, not a CSV file", "unzip")


def test_a_raw_folder_that_is_a_link_loop_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    loop = tmp_path / "raw"
    loop.symlink_to(tmp_path / "raw")
    monkeypatch.setenv("MUSIC_RAW_DIR", str(loop))
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    _fails_with(caplog, ["load"], f"{loop} is a symbolic link that leads nowhere", "loop")


def test_an_empty_warehouse_file_is_named(
    raw_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    warehouse = tmp_path / "empty.duckdb"
    warehouse.touch()
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(warehouse))
    _fails_with(caplog, ["load"], f"The warehouse {warehouse} is an empty file (0 bytes)")
    assert warehouse.stat().st_size == 0


def test_a_warehouse_folder_that_cannot_hold_files_is_named_not_its_lock(
    raw_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the warehouse's folder should be\n")
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(blocker / "warehouse.duckdb"))
    message = _fails_with(caplog, ["load"], f"The warehouse {blocker / 'warehouse.duckdb'}")
    assert ".lock" not in message


def _cut_short_sqlite() -> bytes:
    """The first half of an SQLite database: its header is whole, its pages are not."""
    import contextlib
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "whole.db"
        with contextlib.closing(sqlite3.connect(path)) as con:
            con.execute("create table runs (id integer primary key, name text)")
            con.executemany(
                "insert into runs (name) values (?)", [(f"run {i}" * 10,) for i in range(2000)]
            )
            con.commit()
        whole = path.read_bytes()
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is an empty file (0 bytes), not an MLflow store"),
        (b"garbage" * 20, "is not an MLflow store"),
        # It failed inside MLflow, in SQLAlchemy's words: "database disk image is malformed".
        (_cut_short_sqlite(), "is damaged: an SQLite database cut short"),
    ],
)
def test_a_broken_mlflow_store_is_named_and_kept(
    env: Path, caplog: pytest.LogCaptureFixture, content: bytes, expected: str
) -> None:
    store = env / "mlflow" / "mlflow.db"
    store.parent.mkdir()
    store.write_bytes(content)
    _fails_with(caplog, ["train", "--config", str(env / "small.yml")], f"{store} {expected}")
    assert store.read_bytes() == content


def test_a_reports_folder_that_cannot_be_made_is_named(
    env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Checked before any chart is drawn (the warehouse need not be scored yet).
    blocker = env / "reports-file"
    blocker.write_text("not a folder\n")
    monkeypatch.setenv("MUSIC_REPORTS_DIR", str(blocker / "reports"))
    _fails_with(caplog, ["charts"], f"The reports folder {blocker / 'reports'} cannot be created")


def test_build_tells_each_sources_counts_after_validation(
    raw_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.INFO)
    assert cli.main(["build"]) == 0
    assert "spotify_600k.tracks: 4,000 rows read, 4,000 kept, 0 rejected" in caplog.text
    assert (
        "spotify_2023.songs: 953 rows read, 948 kept, 5 rejected (duplicate song 4" in caplog.text
    )


def test_load_reads_only_the_files_that_changed(
    raw_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As `run` does: a second `load` of the same files read them all again (new load times),
    and the next `run` then rebuilt everything downstream while `status` said up to date."""
    import logging

    import duckdb

    from python_ml.settings import load_settings

    warehouse = load_settings().warehouse

    def loaded() -> dict:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return dict(con.execute("select table_name, loaded_at from raw.load_log").fetchall())

    assert cli.main(["load"]) == 0
    first = loaded()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="python_ml"):
        assert cli.main(["load"]) == 0
    assert "load the raw files: up to date (the raw tables hold these files)" in caplog.text
    assert loaded() == first
    songs = raw_copy / "spotify_2023" / "spotify-2023.csv"
    songs.write_bytes(songs.read_bytes() + b"\r\n")  # other bytes (a blank line), the same rows
    assert cli.main(["load"]) == 0
    again = loaded()
    assert again["songs"] > first["songs"] and again["tracks"] == first["tracks"]
    assert cli.main(["load", "--force"]) == 0
    assert loaded()["tracks"] > first["tracks"]


def test_a_raw_file_cut_to_its_header_changes_nothing(
    raw_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Loaded, a header-only artists.csv replaced the warehouse's artists with none: the
    champion then scored new tracks with the artist features imputed, without a word."""
    import duckdb

    from python_ml.settings import load_settings

    assert cli.main(["load"]) == 0
    warehouse = load_settings().warehouse
    with duckdb.connect(str(warehouse), read_only=True) as con:
        before = con.execute("select count(*) from raw.spotify_600k__artists").fetchone()[0]
    artists = raw_copy / "spotify_600k" / "artists.csv"
    artists.write_text(artists.read_text(encoding="utf-8").split("\n")[0] + "\n", encoding="utf-8")
    _fails_with(
        caplog,
        ["build"],
        f"{artists} has a header but no rows: nothing in the warehouse was changed",
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        after = con.execute("select count(*) from raw.spotify_600k__artists").fetchone()[0]
    assert after == before > 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process table from /proc")
def test_a_killed_build_leaves_no_dbt_running(small_raw_dir: Path, tmp_path: Path) -> None:
    """`kill -9` of `python -m python_ml build` while dbt runs: dbt stops too, and does not
    hold the warehouse."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import PROJECT_ROOT

    env = {
        **os.environ,
        "MUSIC_RAW_DIR": str(small_raw_dir),
        "MUSIC_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "MUSIC_MLFLOW_DIR": str(tmp_path / "mlflow"),
    }
    build = subprocess.Popen(
        [sys.executable, "-m", "python_ml", "build"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    dbt = []
    while not dbt and time.monotonic() < deadline and build.poll() is None:
        dbt = [p for p in _children(build.pid) if b"dbt" in Path(f"/proc/{p}/cmdline").read_bytes()]
        time.sleep(0.2)
    assert dbt, "dbt did not start"
    time.sleep(2)  # dbt is running now
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in dbt) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in dbt), "dbt outlived the killed build"


def test_a_champion_whose_model_files_were_damaged_is_fitted_again_by_train(
    env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The champion's estimator file overwritten with junk: scoring said to run `train`, and
    `train` reused the damaged run (same reuse key) and kept it as the champion, so scoring
    failed the same way again. A run whose model files are not those it logged (result.json's
    SHA-256 of them) is fitted again, and the new run is the champion."""
    import logging
    import re

    config = str(env / "small.yml")
    assert cli.main(["train", "--config", config]) == 0
    with duckdb.connect(str(env / "warehouse.duckdb"), read_only=True) as con:
        champion, model_name, folder = con.execute(
            "select run_id, model_name, model_path from ml.model_runs where is_champion"
        ).fetchone()
    estimator = next(p for p in (env / "mlflow" / folder).rglob("estimator*") if p.is_file())
    estimator.write_bytes(b"not a model")
    caplog.set_level(logging.INFO)
    assert cli.main(["score"]) == 1
    assert "its files are damaged. Run `python -m python_ml train` to fit" in caplog.text
    caplog.clear()
    assert cli.main(["train", "--config", config]) == 0
    assert re.search(
        rf"{model_name}/\w+: the model files of run {champion} in .* are not those it logged "
        r"\(damaged or edited since\): not reused, fitted again",
        caplog.text,
    ), caplog.text[-3000:]
    with duckdb.connect(str(env / "warehouse.duckdb"), read_only=True) as con:
        now = con.execute("select run_id from ml.model_runs where is_champion").fetchone()[0]
    assert now != champion
    assert f"reused run {champion}" not in caplog.text
    assert cli.main(["score"]) == 0, "the champion fitted again scores"
    assert estimator.read_bytes() == b"not a model"  # the damaged run's files are left as found


def _train_in_background(env: Path, experiments: list[dict], **extra_env: str) -> tuple[Any, Path]:
    """`python -m python_ml train` with a config of these experiments (written to three.yml),
    as a process whose stderr the test reads line by line."""
    import os
    import subprocess
    import sys

    from conftest import PROJECT_ROOT

    config = dict(BASE_CONFIG)
    config["experiments"] = experiments
    path = env / "three.yml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.Popen(
        [sys.executable, "-m", "python_ml", "train", "--config", str(path)],
        cwd=PROJECT_ROOT,
        env={**os.environ, **extra_env},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    ), path


def test_ctrl_c_during_training_stops_at_once_and_marks_the_runs_under_way_killed(
    env: Path,
) -> None:
    """SIGTERM (what the CLI treats as Ctrl-C) while experiments fit side by side: the command
    exits 130 saying "interrupted" without waiting for the fits under way, their MLflow runs
    are KILLED (never RUNNING, never reused), and ml.model_runs holds finished runs only."""
    import signal
    import time

    import mlflow

    first, _ = _train_in_background(
        env,
        [
            {"model": "neural_network", "feature_set": "full"},
            {"model": "hist_gradient_boosting", "feature_set": "full"},
            {"model": "majority", "feature_set": "full"},
        ],
        MUSIC_TRAIN_WORKERS="2",
    )
    assert first.stderr is not None
    for line in first.stderr:
        if "[1/3] neural_network/full" in line:  # the network starts: the longest fit
            break
    mlflow.set_tracking_uri(f"sqlite:///{env / 'mlflow' / 'mlflow.db'}")

    def network_runs() -> int:
        try:
            runs = mlflow.search_runs(search_all_experiments=True)
        except Exception:  # the store is being created
            return 0
        if runs.empty or "tags.mlflow.runName" not in runs:  # none yet, or none named yet
            return 0
        return int((runs["tags.mlflow.runName"] == "neural_network/full").sum())

    while first.poll() is None and not network_runs():  # its MLflow run is open
        time.sleep(0.1)
    first.send_signal(signal.SIGTERM)
    rest = first.stderr.read()
    assert first.wait() == 130
    assert "interrupted" in rest

    runs = mlflow.search_runs(search_all_experiments=True)
    statuses = dict(zip(runs["tags.mlflow.runName"], runs["status"], strict=True))
    assert statuses["neural_network/full"] == "KILLED"
    assert "RUNNING" not in statuses.values()
    with duckdb.connect(str(env / "warehouse.duckdb"), read_only=True) as con:
        recorded = con.execute("select status, count(*) from ml.model_runs group by 1").fetchall()
    assert all(status == "FINISHED" for status, _ in recorded)


def test_a_training_killed_part_way_resumes_with_the_finished_experiments(
    env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`kill -9` once the first experiment has finished, while the others fit (side by side);
    the next `train` reuses the finished runs, fits the rest, and records each run once. A run
    MLflow holds as finished whose ml.model_runs row the kill cut off (two fits can finish in
    the same moment) is reused too, and recorded then."""
    import logging
    import os
    import re
    import signal

    import mlflow

    first, path = _train_in_background(
        env,
        [
            {"model": "majority", "feature_set": "full"},
            {"model": "hist_gradient_boosting", "feature_set": "full"},
            {"model": "logistic_regression", "feature_set": "audio"},
        ],
        MUSIC_TRAIN_WORKERS="3",  # all three side by side
    )
    for line in first.stderr:
        # An experiment's result line is logged once its run is recorded.
        if re.search(r"\[\d/3\] \S+: validation accuracy", line):
            break
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    with duckdb.connect(str(env / "warehouse.duckdb"), read_only=True) as con:
        finished = con.execute(
            "select run_id, model_name from ml.model_runs where status = 'FINISHED'"
        ).fetchall()
    assert 1 <= len(finished) < 3, "killed after the first experiment finished, before the last"
    mlflow.set_tracking_uri(f"sqlite:///{env / 'mlflow' / 'mlflow.db'}")
    in_mlflow = mlflow.search_runs(search_all_experiments=True, filter_string="status = 'FINISHED'")
    finished_in_mlflow = set(in_mlflow["run_id"])
    assert {run_id for run_id, _ in finished} <= finished_in_mlflow
    assert len(finished_in_mlflow) < 3

    caplog.set_level(logging.INFO)
    assert cli.main(["train", "--config", str(path)]) == 0
    for run_id, model_name in finished:
        assert re.search(rf"\] {model_name}/\w+: reused run {run_id}", caplog.text)
    reused = set(re.findall(r"reused run (\w+)", caplog.text))
    assert reused == finished_in_mlflow
    with duckdb.connect(str(env / "warehouse.duckdb"), read_only=True) as con:
        runs = con.execute(
            "select model_name, count(*) from ml.model_runs where status = 'FINISHED' group by 1"
        ).fetchall()
    assert sorted(runs) == [
        ("hist_gradient_boosting", 1),
        ("logistic_regression", 1),
        ("majority", 1),
    ]
