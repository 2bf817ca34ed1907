"""Runs a killed training process left RUNNING are marked KILLED by the next `train`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from python_ml.settings import PROJECT_ROOT, Settings


def test_runs_of_a_process_that_is_gone_are_marked_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `kill -9` during training, three runs stayed RUNNING for good."""
    import mlflow

    from python_ml.tracking.registry import setup_mlflow
    from python_ml.tracks.train import FITTED_BY_TAG, end_orphan_runs

    monkeypatch.setattr(mlflow.tracking._tracking_service.utils, "_tracking_uri", None)
    settings = Settings(
        PROJECT_ROOT, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path
    )
    experiment = setup_mlflow(settings, "tracks-test")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    host = socket.gethostname()
    client = mlflow.MlflowClient()
    runs = {
        name: client.create_run(experiment, tags={FITTED_BY_TAG: fitted_by}).info.run_id
        for name, fitted_by in {
            "dead": f"{host}:{gone}",
            "alive": f"{host}:{os.getpid()}",  # this process: still fitting
            "elsewhere": f"another-host-{host}:{gone}",  # cannot be told from here
        }.items()
    }
    untagged = client.create_run(experiment).info.run_id  # recorded before the tag: left as is
    assert end_orphan_runs() == [runs["dead"]]
    status = {name: client.get_run(run).info.status for name, run in runs.items()}
    assert status == {"dead": "KILLED", "alive": "RUNNING", "elsewhere": "RUNNING"}
    assert client.get_run(untagged).info.status == "RUNNING"
    assert end_orphan_runs() == []  # nothing twice
