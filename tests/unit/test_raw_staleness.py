"""Which raw files the loader loads again (``stale_reasons``): a file is unchanged when the
log has its path and size and it was not modified after loading; DuckDB's warehouse and
Spark's catalogue pass the same log rows and tables."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from python_ml.raw.schemas import SONGS_2023, TRACKS
from python_ml.warehouse.load import stale_reasons


def _folder(root: Path) -> Path:
    (root / "spotify_600k").mkdir(parents=True)
    (root / "spotify_600k" / "tracks.csv").write_text("id,name\n1,a\n", encoding="utf-8")
    return root


def _logged(path: Path, loaded_at: datetime) -> list[tuple]:
    return [("spotify_600k", "tracks", str(path), path.stat().st_size, loaded_at)]


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # raw.load_log's times: naive UTC


LOADED = _utc_now() + timedelta(hours=1)  # after the file was written
TABLES = {TRACKS.raw_table}


def test_a_file_as_it_was_loaded_is_up_to_date(tmp_path: Path) -> None:
    raw = _folder(tmp_path / "raw")
    logged = _logged(raw / "spotify_600k" / "tracks.csv", LOADED)
    assert stale_reasons(raw, [TRACKS], logged, TABLES) == []


def test_the_same_bytes_at_another_path_load_again(tmp_path: Path) -> None:
    """A copy at a new path cannot be told from other files of the same size: loaded again."""
    raw = _folder(tmp_path / "raw")
    logged = _logged(raw / "spotify_600k" / "tracks.csv", LOADED)
    moved = tmp_path / "elsewhere" / "raw"
    shutil.copytree(raw, moved)  # the same bytes and modification times
    (reason,) = stale_reasons(moved, [TRACKS], logged, TABLES)
    assert reason[0] == TRACKS and "changed since it was loaded" in reason[1]


def test_a_changed_size_a_later_edit_or_another_file_name_loads_again(tmp_path: Path) -> None:
    raw = _folder(tmp_path / "raw")
    path = raw / "spotify_600k" / "tracks.csv"
    logged = _logged(path, LOADED)

    path.write_text("id,name\n1,a\n2,b\n", encoding="utf-8")
    (reason,) = stale_reasons(raw, [TRACKS], logged, TABLES)
    assert reason[0] == TRACKS and "changed since it was loaded" in reason[1]

    logged = _logged(path, _utc_now() - timedelta(days=2))  # loaded before the edit
    later = (datetime.now(UTC) - timedelta(days=1)).timestamp()
    os.utime(path, (later, later))
    assert [r[0] for r in stale_reasons(raw, [TRACKS], logged, TABLES)] == [TRACKS]

    size = path.stat().st_size  # the same size: the other file name alone makes it stale
    logged = [("spotify_600k", "tracks", str(path.with_name("tracks.csv.gz")), size, LOADED)]
    assert [r[0] for r in stale_reasons(raw, [TRACKS], logged, TABLES)] == [TRACKS]


def test_a_missing_file_or_table_and_a_file_never_loaded_are_named(tmp_path: Path) -> None:
    raw = _folder(tmp_path / "raw")
    logged = _logged(raw / "spotify_600k" / "tracks.csv", LOADED)
    (missing_table,) = stale_reasons(raw, [TRACKS], logged, set())
    assert f"{TRACKS.raw_table} does not exist" in missing_table[1]
    (never,) = stale_reasons(raw, [TRACKS], [], TABLES)
    assert "was never loaded" in never[1]
    (missing,) = stale_reasons(raw, [SONGS_2023], logged, TABLES)
    assert "spotify_2023/spotify-2023.csv is missing" in missing[1]
