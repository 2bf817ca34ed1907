"""Which raw files the loader loads again (``stale_reasons``): a file is unchanged when it has
the logged size and either the logged path and no later change, or the logged content
(SHA-256); DuckDB's warehouse and Spark's catalogue pass the same log rows and tables."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from python_ml.raw.schemas import SONGS_2023, TRACKS
from python_ml.warehouse.load import file_sha256, loader_version, stale_reasons


def _folder(root: Path) -> Path:
    (root / "spotify_600k").mkdir(parents=True)
    (root / "spotify_600k" / "tracks.csv").write_text("id,name\n1,a\n", encoding="utf-8")
    return root


def _logged(path: Path, loaded_at: datetime, sha: bool = True) -> list[tuple]:
    digest = file_sha256(path) if sha else None
    size = path.stat().st_size
    return [("spotify_600k", "tracks", str(path), size, loaded_at, digest, loader_version())]


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # raw.load_log's times: naive UTC


LOADED = _utc_now() + timedelta(hours=1)  # after the file was written
TABLES = {TRACKS.raw_table}


def test_a_file_as_it_was_loaded_is_up_to_date(tmp_path: Path) -> None:
    raw = _folder(tmp_path / "raw")
    logged = _logged(raw / "spotify_600k" / "tracks.csv", LOADED)
    assert stale_reasons(raw, [TRACKS], logged, TABLES) == []


def test_the_same_bytes_at_another_path_or_touched_are_up_to_date(tmp_path: Path) -> None:
    """A copied or moved raw folder is recognised by its content, and so is a file whose time
    changed without its bytes: nothing is loaded again."""
    raw = _folder(tmp_path / "raw")
    path = raw / "spotify_600k" / "tracks.csv"
    logged = _logged(path, _utc_now() - timedelta(days=2))
    moved = tmp_path / "elsewhere" / "raw"
    shutil.copytree(raw, moved)
    later = (datetime.now(UTC) - timedelta(days=1)).timestamp()  # after the load
    os.utime(moved / "spotify_600k" / "tracks.csv", (later, later))
    assert stale_reasons(moved, [TRACKS], logged, TABLES) == []
    os.utime(path, (later, later))
    assert stale_reasons(raw, [TRACKS], logged, TABLES) == []


def test_other_bytes_of_the_same_size_at_another_path_load_again(tmp_path: Path) -> None:
    raw = _folder(tmp_path / "raw")
    logged = _logged(raw / "spotify_600k" / "tracks.csv", LOADED)
    other = _folder(tmp_path / "other")
    (other / "spotify_600k" / "tracks.csv").write_text("id,name\n2,b\n", encoding="utf-8")
    (reason,) = stale_reasons(other, [TRACKS], logged, TABLES)
    assert reason[0] == TRACKS
    assert f"is not the file loaded from {raw / 'spotify_600k' / 'tracks.csv'}" in reason[1]


def test_a_log_row_without_a_content_hash_compares_path_size_and_time(tmp_path: Path) -> None:
    """Files loaded before the log kept their SHA-256: a copy elsewhere loads again, once."""
    raw = _folder(tmp_path / "raw")
    logged = _logged(raw / "spotify_600k" / "tracks.csv", LOADED, sha=False)
    assert stale_reasons(raw, [TRACKS], logged, TABLES) == []
    moved = tmp_path / "elsewhere" / "raw"
    shutil.copytree(raw, moved)
    assert [r[0] for r in stale_reasons(moved, [TRACKS], logged, TABLES)] == [TRACKS]


def test_a_changed_size_a_later_edit_or_another_file_name_loads_again(tmp_path: Path) -> None:
    raw = _folder(tmp_path / "raw")
    path = raw / "spotify_600k" / "tracks.csv"
    logged = _logged(path, LOADED)

    path.write_text("id,name\n1,a\n2,b\n", encoding="utf-8")
    (reason,) = stale_reasons(raw, [TRACKS], logged, TABLES)
    assert reason[0] == TRACKS and "changed since it was loaded" in reason[1]

    logged = _logged(path, _utc_now() - timedelta(days=2))  # loaded before the edit
    path.write_text("id,name\n1,a\n3,c\n", encoding="utf-8")  # same size, other bytes
    later = (datetime.now(UTC) - timedelta(days=1)).timestamp()
    os.utime(path, (later, later))
    assert [r[0] for r in stale_reasons(raw, [TRACKS], logged, TABLES)] == [TRACKS]

    size = path.stat().st_size  # the same size, no hash: the other file name makes it stale
    name = str(path.with_name("tracks.csv.gz"))
    logged = [("spotify_600k", "tracks", name, size, LOADED, None, loader_version())]
    assert [r[0] for r in stale_reasons(raw, [TRACKS], logged, TABLES)] == [TRACKS]


def test_a_file_loaded_by_another_version_of_the_loader_loads_again(tmp_path: Path) -> None:
    """The loader's code was not among the load's inputs: an edit to it (how a row is
    quarantined, a file's columns, how its origin is told) changed nothing until the file
    did. Each file's load records the loader's version."""
    raw = _folder(tmp_path / "raw")
    logged = _logged(raw / "spotify_600k" / "tracks.csv", LOADED)
    assert stale_reasons(raw, [TRACKS], logged, TABLES, version=loader_version()) == []
    ((file, reason),) = stale_reasons(raw, [TRACKS], logged, TABLES, version="0123456789abcdef")
    assert file == TRACKS and reason == "the loader's code changed since the files were loaded"
    older = [(*logged[0][:-1], None)]  # a log row without it (Spark's, from an older loader)
    assert [r[0] for r in stale_reasons(raw, [TRACKS], older, TABLES)] == [TRACKS]


def test_the_loaders_version_is_the_code_it_runs(tmp_path: Path) -> None:
    """The modules warehouse/load.py runs under python_ml/raw and python_ml/warehouse; not the
    models' code, nor predict's, nor the generator's. What each load records
    (codebase.loader_version) and the raw tables' code version in Dagster change together."""
    from python_ml.codebase import PACKAGE
    from python_ml.codebase import loader_version as recorded
    from python_ml.orchestration import versions

    root = tmp_path / "project"
    shutil.copytree(PACKAGE, root / "python_ml", ignore=shutil.ignore_patterns("__pycache__"))
    package = root / "python_ml"
    assert recorded(PACKAGE) == loader_version()  # what load.py records is this one

    def both() -> tuple[str, str]:
        return recorded(package), versions.code_version("raw_tables", root)

    def edit(relpath: str) -> tuple[str, str]:
        path = package / relpath
        path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        return both()

    before = both()
    assert edit("tracks/predict.py") == before
    assert edit("tracks/train.py") == before
    # The generator's files reach the loader as files (it loaded every file again, the same
    # bytes, after an edit to the generator).
    assert edit("raw/generate.py") == before
    seen = {before[0]}, {before[1]}
    for relpath in ("warehouse/load.py", "raw/schemas.py", "raw/origin.py", "raw/extract.py"):
        version, dagsters = edit(relpath)
        assert version not in seen[0] and dagsters not in seen[1], relpath
        seen[0].add(version)
        seen[1].add(dagsters)


def test_a_missing_file_or_table_and_a_file_never_loaded_are_named(tmp_path: Path) -> None:
    raw = _folder(tmp_path / "raw")
    logged = _logged(raw / "spotify_600k" / "tracks.csv", LOADED)
    (missing_table,) = stale_reasons(raw, [TRACKS], logged, set())
    assert f"{TRACKS.raw_table} does not exist" in missing_table[1]
    (never,) = stale_reasons(raw, [TRACKS], [], TABLES)
    assert "was never loaded" in never[1]
    (missing,) = stale_reasons(raw, [SONGS_2023], logged, TABLES)
    assert "spotify_2023/spotify-2023.csv is missing" in missing[1]


def test_a_warehouse_from_before_the_content_hash_gains_the_column() -> None:
    """raw.load_log made before file_sha256: its rows stay, the column is added empty."""
    import duckdb

    from python_ml.warehouse.load import LOAD_LOG_COLUMNS, create_log_tables

    with duckdb.connect() as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.load_log (dataset varchar not null, table_name varchar not null, "
            "file_path varchar not null, encoding varchar not null, file_bytes bigint not null, "
            "rows_read bigint not null, rows_kept bigint not null, "
            "rows_rejected bigint not null, loaded_at timestamp not null)"
        )
        con.execute("insert into raw.load_log values ('d', 't', 'p', 'utf-8', 1, 2, 2, 0, now())")
        create_log_tables(con)
        columns = [name for name, *_ in con.execute("describe raw.load_log").fetchall()]
        assert tuple(columns) == LOAD_LOG_COLUMNS
        assert con.execute("select file_path, file_sha256 from raw.load_log").fetchall() == [
            ("p", None)
        ]


@pytest.mark.parametrize(
    ("newer", "lacking"),
    [
        ("", "SHA-256, origin and loader version"),
        (", file_sha256 varchar", "origin and loader version"),
        (", file_sha256 varchar, data_origin varchar", "loader version"),
    ],
    ids=["no hash", "no origin", "no loader version"],
)
def test_a_log_from_before_the_content_hash_or_origin_loads_every_file_once_more(
    tmp_path: Path, newer: str, lacking: str
) -> None:
    """stale_files on a warehouse whose raw.load_log has no file_sha256 column, or no
    data_origin: every file is loaded once more (the load adds the columns), never read as if
    nothing had changed, so that every row of the log says where its file came from."""
    import duckdb

    from python_ml.settings import Settings
    from python_ml.warehouse.load import stale_files

    raw = _folder(tmp_path / "raw")
    path = raw / "spotify_600k" / "tracks.csv"
    settings = Settings(tmp_path, raw, tmp_path / "w.duckdb", tmp_path / "m", tmp_path / "r")
    with duckdb.connect() as con:
        con.execute("create schema raw")
        con.execute(f"create table {TRACKS.raw_table} (file_line bigint)")
        con.execute(
            "create table raw.load_log (dataset varchar, table_name varchar, file_path varchar, "
            "encoding varchar, file_bytes bigint, rows_read bigint, rows_kept bigint, "
            f"rows_rejected bigint, loaded_at timestamp{newer})"
        )
        con.execute(
            "insert into raw.load_log (dataset, table_name, file_path, encoding, file_bytes, "
            "rows_read, rows_kept, rows_rejected, loaded_at) "
            "values ('spotify_600k', 'tracks', ?, 'utf-8', ?, 1, 1, 0, ?)",
            [str(path), path.stat().st_size, LOADED],
        )
        (reason,) = stale_files(con, settings, [TRACKS])
        assert reason[0] == TRACKS
        assert f"from before it recorded each file's {lacking}: loaded once more" in reason[1]


def test_a_moved_folder_is_recorded_where_it_now_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The same content at a new path: not stale, and record_moves points raw.load_log and
    raw.load_rejects at the new path, so that the next look needs no hash. The move is said
    once, as it is recorded (`load` said it twice: each look at the files said it)."""
    import duckdb

    from python_ml.settings import Settings
    from python_ml.warehouse.load import create_log_tables, record_moves, stale_files

    raw = _folder(tmp_path / "raw")
    old = raw / "spotify_600k" / "tracks.csv"
    moved_dir = tmp_path / "moved"
    shutil.copytree(raw, moved_dir)
    new = moved_dir / "spotify_600k" / "tracks.csv"
    settings = Settings(tmp_path, moved_dir, tmp_path / "w.duckdb", tmp_path / "m", tmp_path / "r")
    with duckdb.connect() as con:
        create_log_tables(con)
        con.execute(f"create table {TRACKS.raw_table} (file_line bigint)")
        con.execute(
            "insert into raw.load_log values "
            "('spotify_600k', 'tracks', ?, 'utf-8', ?, 1, 1, 0, ?, ?, 'generated', ?)",
            [str(old), old.stat().st_size, LOADED, file_sha256(old), loader_version()],
        )
        con.execute(
            "insert into raw.load_rejects values "
            "('spotify_600k', 'tracks', ?, 3, 'MISSING COLUMNS', null, 'x', 'm', ?)",
            [str(old), LOADED],
        )
        moved: list = []
        caplog.set_level("INFO")
        assert stale_files(con, settings, [TRACKS], moved=moved) == []
        assert stale_files(con, settings, [TRACKS], moved=[]) == []  # a second look
        assert moved == [(TRACKS, str(new))]
        assert "has the content loaded from" not in caplog.text  # only looked
        record_moves(con, moved)
        assert caplog.text.count(f"{new} has the content loaded from {old} at ") == 1
        paths = con.execute(
            "select file_path from raw.load_log union all select file_path from raw.load_rejects"
        ).fetchall()
        assert paths == [(str(new),), (str(new),)]
        again: list = []
        assert stale_files(con, settings, [TRACKS], moved=again) == [] and again == []


def test_a_file_replaced_with_an_old_modification_time_is_seen(tmp_path: Path) -> None:
    """`cp -p`, `rsync -a` or a backup's `tar x` give a replaced file its old modification
    time: of the same size, it was taken for the loaded one ("up to date", the warehouse
    keeping the old values). Its status-change time, which only the kernel sets, is now."""
    raw = _folder(tmp_path / "raw")
    path = raw / "spotify_600k" / "tracks.csv"
    logged = _logged(path, _utc_now() - timedelta(days=1))
    path.write_text("id,name\n1,b\n", encoding="utf-8")  # the same size, another value
    old = (datetime.now(UTC) - timedelta(days=30)).timestamp()
    os.utime(path, (old, old))
    (reason,) = stale_reasons(raw, [TRACKS], logged, TABLES)
    assert reason[0] == TRACKS and "changed since it was loaded" in reason[1]
    # The same bytes put back the same way: hashed, and up to date.
    path.write_text("id,name\n1,a\n", encoding="utf-8")
    os.utime(path, (old, old))
    assert stale_reasons(raw, [TRACKS], logged, TABLES) == []


def test_the_raw_files_version_reads_a_file_again_only_when_touched_since_its_load(
    tmp_path: Path,
) -> None:
    """raw_files' data version hashed every raw file on every run (10 s at 10x): a file the
    load log holds, untouched since, gives its logged SHA-256 instead."""
    import duckdb

    from python_ml.orchestration.versions import raw_files_version
    from python_ml.settings import Settings

    raw = _folder(tmp_path / "raw")
    tracks = raw / "spotify_600k" / "tracks.csv"
    settings = Settings(tmp_path, raw, tmp_path / "w.duckdb", tmp_path / "m", tmp_path)
    read = raw_files_version(settings)  # no warehouse: every file read
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.load_log (file_path varchar, file_bytes bigint, "
            "loaded_at timestamp, file_sha256 varchar)"
        )
        logged = "f" * 64  # not the file's: seen only when the log is trusted
        size = tracks.stat().st_size
        con.execute(
            "insert into raw.load_log values (?, ?, ?, ?)",
            [str(tracks), size, _utc_now() + timedelta(minutes=1), logged],
        )
    assert raw_files_version(settings) != read  # the logged digest, not the file read
    later = (datetime.now() + timedelta(minutes=5)).timestamp()
    os.utime(tracks, (later, later))  # touched after its load: read again
    assert raw_files_version(settings) == read


@pytest.mark.parametrize("beside", ["tracks.csv.gz", "tracks (1).csv", None])
def test_a_file_the_loader_cannot_tell_is_named_not_called_missing(
    tmp_path: Path, beside: str | None
) -> None:
    """Both tracks.csv and tracks.csv.gz, a copy beside it, or a folder in its place, on a
    loaded warehouse: the file was said to be missing and its table used as loaded (the
    new file not read, without an error). It is stale with what is wrong, which the load
    stops on."""
    raw = _folder(tmp_path / "raw")
    path = raw / "spotify_600k" / "tracks.csv"
    logged = _logged(path, LOADED)
    if beside:
        shutil.copy(path, path.with_name(beside))
        expected = "Both" if beside.endswith(".gz") else "holds ['tracks (1).csv'] beside"
    else:
        path.unlink()
        path.mkdir()
        expected = f"{path} is a folder, not the CSV file"
    ((file, reason),) = stale_reasons(raw, [TRACKS], logged, TABLES)
    assert file == TRACKS and expected in reason and "missing" not in reason
