"""A command that takes the warehouse's lock and leaves no warehouse (`score` or `train` on a
mistyped MUSIC_WAREHOUSE: "does not exist yet") leaves nothing behind either: it used to leave
a new folder holding a lock file alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from python_ml.warehouse.db import RunLock, WarehouseError, connect


def test_a_command_that_leaves_no_warehouse_leaves_no_folder_or_lock(tmp_path: Path) -> None:
    warehouse = tmp_path / "typo" / "data" / "warehouse.duckdb"
    with pytest.raises(WarehouseError, match="does not exist yet"), RunLock(warehouse):
        assert warehouse.with_name("warehouse.duckdb.lock").exists()  # held meanwhile
        with connect(warehouse):  # what score and train do first
            pass
    assert list(tmp_path.iterdir()) == []


def test_a_built_warehouse_keeps_its_folder_and_lock(tmp_path: Path) -> None:
    warehouse = tmp_path / "new" / "warehouse.duckdb"
    with RunLock(warehouse), connect(warehouse, read_only=False) as con:
        con.execute("create table t as select 1 as x")
    assert sorted(p.name for p in warehouse.parent.iterdir()) == [
        "warehouse.duckdb",
        "warehouse.duckdb.lock",
    ]


def test_a_folder_that_was_there_or_got_other_files_stays(tmp_path: Path) -> None:
    there = tmp_path / "there"
    there.mkdir()
    with RunLock(there / "warehouse.duckdb"):
        pass
    assert there.is_dir() and list(there.iterdir()) == []  # only the lock file went
    made = tmp_path / "made"
    with RunLock(made / "sub" / "warehouse.duckdb"):
        (made / "notes.txt").write_text("mine")
    assert [p.name for p in made.iterdir()] == ["notes.txt"]  # "sub" went, "made" stays
    # A lock file that was there before is left as it was.
    lock = there / "warehouse.duckdb.lock"
    lock.write_text("")
    with RunLock(there / "warehouse.duckdb"):
        pass
    assert lock.exists()
