"""Dagster's run history (SQLite under $DAGSTER_HOME) is written without waiting for the disk
at each commit while `run` materializes: one commit per event, hundreds a run."""

from __future__ import annotations

from pathlib import Path

from python_ml.orchestration.runner import history_written_without_waiting_for_the_disk

FULL, OFF = 2, 0  # SQLite's synchronous settings (Python's sqlite3 opens with FULL)


def _synchronous(path: Path) -> int:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)  # as Dagster's storage
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("pragma synchronous").scalar()
    finally:
        engine.dispose()


def test_only_the_dagster_folders_files_and_only_during_the_run(tmp_path: Path) -> None:
    home = tmp_path / "dagster"
    (home / "history" / "runs").mkdir(parents=True)
    other = tmp_path / "mlflow.db"  # another program's SQLite file in the same process
    assert _synchronous(home / "history" / "runs.db") == FULL
    with history_written_without_waiting_for_the_disk(home):
        assert _synchronous(home / "history" / "runs.db") == OFF
        assert _synchronous(home / "history" / "runs" / "1a2b.db") == OFF
        assert _synchronous(other) == FULL
    assert _synchronous(home / "history" / "runs.db") == FULL  # the listener is gone
