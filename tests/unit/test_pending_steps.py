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


def test_an_edit_made_while_a_step_ran_is_not_recorded_as_run(tmp_path: Path) -> None:
    """A learning rate changed 20 s into `train` was recorded as trained: the files a person
    edits are recorded as the step started, its outputs as it finished."""
    from python_ml.orchestration.versions import changed_inputs, record

    settings = Settings(tmp_path, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path)
    started = {"config": "lr 0.1", "code": "c1", "ml inputs": "run a", "outputs": [0]}
    finished = {"config": "lr 0.05", "code": "c1", "ml inputs": "run a", "outputs": [5]}
    record(settings, "train", finished, "run b", started=started)
    # Now: the edited config, and the outputs the step wrote.
    assert changed_inputs(settings, "train", finished) == {"config"}
    assert changed_inputs(settings, "train", started) == {"outputs"}
    record(settings, "train", finished, "run c")  # no start taken: as finished (a dbt no-op)
    assert changed_inputs(settings, "train", finished) == set()
