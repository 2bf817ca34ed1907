"""`status` before the first run: it said the next `run` runs one step ('load the raw files: no
warehouse yet'), where `run` runs them all."""

from pathlib import Path

import pytest

from python_ml.orchestration.versions import STEPS, TITLES, pending_steps
from python_ml.settings import Settings


def test_without_a_warehouse_every_step_is_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    settings = Settings(tmp_path, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path)
    pending = pending_steps(settings)
    assert list(pending) == [TITLES["load"], *(TITLES[step] for step, _, _ in STEPS)]
    assert pending[TITLES["load"]] == "no warehouse yet"
    assert pending[TITLES["train"]] == "no earlier run on this warehouse"
    assert not (tmp_path / "w.duckdb").exists()  # looking made nothing
