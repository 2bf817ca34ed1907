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


def test_a_table_of_a_dbt_half_dropped_by_hand_is_seen_by_status_as_by_run(
    tmp_path: Path,
) -> None:
    """A mart dropped by hand: `run` rebuilt its half (the asset compared the tables the half
    builds with the warehouse's), but `status` said the next run runs no step. The tables a
    half built are recorded with its inputs, and both compare them through its inputs."""
    import duckdb

    from python_ml.orchestration.versions import (
        missing_tables,
        record,
        record_tables,
        recorded_tables,
    )

    settings = Settings(tmp_path, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.rpt_a (x int)")
        con.execute("create view marts.rpt_b as select 1 as x")
    step = "dbt_prediction_marts"
    record(settings, step, {"dbt project": "p1"}, "run a")  # a record made before 12-07
    assert recorded_tables(settings, step) is None
    assert missing_tables(settings, step) == {}  # nothing recorded: nothing to miss
    # What the asset knows from the manifest of now, before the half's record has tables:
    assert missing_tables(settings, step, ["marts.rpt_a", "marts.rpt_c"]) == {
        "tables missing": ["marts.rpt_c"]
    }
    record_tables(settings, step, ["marts.rpt_b", "marts.rpt_a"])
    assert recorded_tables(settings, step) == ["marts.rpt_a", "marts.rpt_b"]
    record(settings, step, {"dbt project": "p1"}, "run b")  # no tables given: kept
    assert recorded_tables(settings, step) == ["marts.rpt_a", "marts.rpt_b"]
    assert missing_tables(settings, step) == {}
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("drop view marts.rpt_b")
    assert missing_tables(settings, step) == {"tables missing": ["marts.rpt_b"]}
    # The same answer in the step's inputs, which `status` (pending_steps) and `run` compare.
    pending = pending_steps(settings)
    assert pending[TITLES[step]].startswith("inputs changed (")
    assert "tables missing" in pending[TITLES[step]]
    record(settings, step, {"dbt project": "p1"}, "run c", tables=["marts.rpt_a"])
    assert missing_tables(settings, step) == {}


def test_the_report_is_stale_when_the_ui_addresses_it_links_to_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run MLFLOW_PORT=5101` on an up-to-date project left the report page linking MLflow
    on port 5000: the addresses the page links to were not among the report's inputs. They
    are, named only when not make's defaults (records made before stay as they were)."""
    from python_ml.orchestration.versions import report_inputs

    settings = Settings(tmp_path, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path)
    for variable in ("MUSIC_MLFLOW_UI", "MUSIC_DOCS_UI"):
        monkeypatch.delenv(variable, raising=False)
    default = report_inputs(settings)
    assert "UI links" not in default
    monkeypatch.setenv("MUSIC_MLFLOW_UI", "http://127.0.0.1:5101/")
    moved = report_inputs(settings)
    assert moved["UI links"] == {"docs": "http://127.0.0.1:8080", "mlflow": "http://127.0.0.1:5101"}
    assert {k: v for k, v in moved.items() if k != "UI links"} == default
    monkeypatch.setenv("MUSIC_MLFLOW_UI", "http://127.0.0.1:5000")  # the default, said
    assert report_inputs(settings) == default


def test_an_input_the_last_run_did_not_record_is_said_to_be_new_not_changed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """After an upgrade, `status` and `run` said "inputs changed (code, libraries, outputs)"
    when no library had changed: the older record had no libraries."""
    from python_ml.orchestration.versions import changed_in_words, record, up_to_date

    settings = Settings(tmp_path, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path)
    record(settings, "songs", {"code": "c1", "outputs": [1]}, "run a")
    now = {"code": "c2", "outputs": [1], "libraries": {"scikit-learn": "1.9.1"}}
    assert changed_in_words(settings, "songs", {"code", "libraries"}) == (
        "code, libraries (not recorded before)"
    )
    # An input named only when there is something to say was not there before.
    assert changed_in_words(settings, "songs", {"tables missing", "dbt vars"}) == (
        "dbt vars, tables missing"
    )
    with caplog.at_level("INFO", logger="python_ml"):
        assert not up_to_date(settings, "songs", "2023 songs study", now)
    assert "inputs changed (code, libraries (not recorded before)), running" in caplog.text


def test_every_input_added_under_a_condition_is_one_of_the_occasional_ones() -> None:
    """An input a step names only sometimes (`{...} if ... else {}`) must be in
    versions.OCCASIONAL, or a record made without it reads "(not recorded before)": the
    study's "study runs in MLflow", added when its MLflow runs are gone, was not."""
    import ast
    import inspect

    from python_ml.orchestration import versions

    tree = ast.parse(inspect.getsource(versions))
    named = {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
    }
    keys = []
    for node in ast.walk(tree):
        if isinstance(node, ast.IfExp):
            for side in (node.body, node.orelse):
                if isinstance(side, ast.Dict):
                    keys += side.keys
    assert len(keys) >= 5
    said = [named.get(k.id) if isinstance(k, ast.Name) else getattr(k, "value", None) for k in keys]
    assert [s for s in said if s not in versions.OCCASIONAL] == []
