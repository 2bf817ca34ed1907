"""The loader refuses what would lose rows or replace the warehouse's rows with none, and then
leaves the warehouse as it was."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from python_ml.raw.schemas import TRACKS
from python_ml.settings import PROJECT_ROOT, Settings
from python_ml.warehouse import load
from python_ml.warehouse.load import LoadError, load_into


def _settings(tmp_path: Path, rows: int) -> Settings:
    folder = tmp_path / "raw" / TRACKS.dataset
    folder.mkdir(parents=True)
    lines = [",".join(TRACKS.columns)]
    lines += [",".join(f"{c}{i}" for c in TRACKS.columns) for i in range(rows)]
    (folder / TRACKS.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Settings(
        project_root=PROJECT_ROOT,
        raw_dir=tmp_path / "raw",
        warehouse=tmp_path / "warehouse.duckdb",
        mlflow_dir=tmp_path / "mlflow",
        reports_dir=tmp_path / "reports",
    )


def _rows(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"select count(*) from {TRACKS.raw_table}").fetchone()[0]


def test_a_file_cut_to_its_header_leaves_the_loaded_rows(tmp_path: Path) -> None:
    settings = _settings(tmp_path, rows=3)
    con = duckdb.connect()
    load_into(con, settings, [TRACKS], log_results=False)
    assert _rows(con) == 3
    path = settings.raw_dir / TRACKS.dataset / TRACKS.name
    path.write_text(",".join(TRACKS.columns) + "\n", encoding="utf-8")
    with pytest.raises(LoadError, match="has a header but no rows: nothing in the warehouse"):
        load_into(con, settings, [TRACKS], log_results=False)
    assert _rows(con) == 3
    # Scoring a file (predict) says so itself: no error from the loader there.
    (loaded,) = load_into(con, settings, [TRACKS], enforce_threshold=False, log_results=False)
    assert loaded.rows_read == 0


def test_rows_the_reader_neither_keeps_nor_rejects_stop_the_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB once read a large file with many non-UTF-8 lines only to line 542,481 and said
    nothing of the rest: the loader counts the file's rows itself and refuses."""
    settings = _settings(tmp_path, rows=3)
    con = duckdb.connect()
    found = load.record_lines
    monkeypatch.setattr(load, "record_lines", lambda *a: [*found(*a), (5, 5, 5), (6, 6, 6)])
    with pytest.raises(LoadError, match=r"read 3 of its 5 rows .* nothing was loaded"):
        load_into(con, settings, [TRACKS], log_results=False)
    assert not con.execute(
        "select * from duckdb_tables() where table_name = ?", [f"{TRACKS.dataset}__tracks"]
    ).fetchall()


def test_a_file_with_far_fewer_rows_than_its_last_load_is_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Cut in half, a tracks.csv loaded without a word and a champion was trained on half."""
    settings = _settings(tmp_path, rows=10)
    con = duckdb.connect()
    load_into(con, settings, [TRACKS], log_results=False)
    path = settings.raw_dir / TRACKS.dataset / TRACKS.name
    path.write_text("\n".join(path.read_text().splitlines()[:6]) + "\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="python_ml"):
        (loaded,) = load_into(con, settings, [TRACKS])
    assert loaded.rows_read == 5 and _rows(con) == 5
    assert f"{path} has 5 rows, 50% fewer than the 10 of the last load (" in caplog.text
    assert "a file cut short?" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="python_ml"):
        load_into(con, settings, [TRACKS])  # the same again: nothing to say
    assert "fewer than" not in caplog.text


def _track_line(i: int, opened: bool = False, at_end: bool = False) -> str:
    """A tracks.csv row whose artists are a quoted list, as in Kaggle's file; ``opened``: its
    name starts a quote that is never closed on the line (``at_end``: a field after the last
    one does)."""
    values = [f"{c}{i}" for c in TRACKS.columns]
    values[TRACKS.columns.index("artists")] = f'"[\'A{i}\', ""B{i}""]"'
    if opened and at_end:
        values.append('"unterminated')
    elif opened:
        values[TRACKS.columns.index("name")] = f'"name{i}'
    return ",".join(values)


@pytest.mark.parametrize("at_end", [False, True])
def test_a_line_a_broken_quote_took_in_is_kept_under_its_own_line(
    tmp_path: Path, at_end: bool
) -> None:
    """Line 3 opens a quote that line 4's quoted artists close: DuckDB rejected one record and
    showed line 2's text for it (at the end of line 3, it said 'missing columns' and showed the
    end of line 4), and line 4 was neither kept nor rejected (predict said every row was in its
    output)."""
    settings = _settings(tmp_path, rows=0)
    lines = [",".join(TRACKS.columns)]
    lines += [_track_line(i, opened=i == 2, at_end=at_end) for i in range(1, 6)]
    path = settings.raw_dir / TRACKS.dataset / TRACKS.name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    con = duckdb.connect()
    (loaded,) = load_into(con, settings, [TRACKS], enforce_threshold=False, log_results=False)
    assert (loaded.rows_read, loaded.rows_kept, loaded.rows_rejected) == (5, 4, 1)
    kept = con.execute(f"select file_line, id from {TRACKS.raw_table} order by 1").fetchall()
    assert kept == [(2, "id1"), (4, "id3"), (5, "id4"), (6, "id5")]
    ((line, error, text, message),) = con.execute(
        "select file_line, error_type, raw_text, error_message from raw.load_rejects"
    ).fetchall()
    assert (line, error, text) == (3, "UNQUOTED VALUE", lines[2])
    assert message.startswith("a value's opening quote (\") is not closed where the value ends")


def test_thousands_of_broken_quotes_each_line_under_its_own_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken quote every 7th line: every line is kept or rejected once, under its own number,
    and the lines the quotes took in are read a few passes at a time (one DuckDB pass per quote
    took minutes on such a file)."""
    settings = _settings(tmp_path, rows=0)
    broken = {i for i in range(1, 3001) if i % 7 == 3}
    lines = [",".join(TRACKS.columns)] + [_track_line(i, i in broken) for i in range(1, 3001)]
    path = settings.raw_dir / TRACKS.dataset / TRACKS.name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    passes = []
    read_parts = load._read_parts
    monkeypatch.setattr(load, "_read_parts", lambda *a: passes.append(len(a[2])) or read_parts(*a))
    con = duckdb.connect()
    (loaded,) = load_into(con, settings, [TRACKS], enforce_threshold=False, log_results=False)
    kept = [r[0] for r in con.execute(f"select file_line from {TRACKS.raw_table}").fetchall()]
    rejected = con.execute("select file_line, error_type from raw.load_rejects").fetchall()
    assert sorted(kept + [line for line, _ in rejected]) == list(range(2, 3002))
    assert {line for line, _ in rejected} == {i + 1 for i in broken}  # file line = row + 1
    assert {error for _, error in rejected} == {"UNQUOTED VALUE"}
    assert (loaded.rows_read, loaded.rows_rejected) == (3000, len(broken))
    ids = dict(con.execute(f"select file_line, id from {TRACKS.raw_table}").fetchall())
    assert all(ids[line] == f"id{line - 1}" for line in kept)
    assert len(passes) < len(broken) / 10, passes


def test_the_rejected_share_limit_is_the_dbt_var_or_the_commands_vars(tmp_path: Path) -> None:
    """One definition (dbt_project.yml's var), overridden as dbt's --vars override it."""
    from python_ml.warehouse import catalog

    settings = _settings(tmp_path, rows=1)
    assert load.max_rejected_share(settings) == catalog.dbt_var("max_rejected_share")
    assert load.max_rejected_share(settings, {"split_seed": 7}) == catalog.dbt_var(
        "max_rejected_share"
    )
    assert load.max_rejected_share(settings, {"max_rejected_share": 0.05}) == 0.05
    assert load.max_rejected_share(settings, {"max_rejected_share": "0.05"}) == 0.05  # Spark's
    for bad in ("5%", 5, -0.1, float("nan"), None):
        with pytest.raises(LoadError, match="must be a share of a file's rows from 0 to 1"):
            load.max_rejected_share(settings, {"max_rejected_share": bad})


def test_a_file_cut_off_mid_line_with_far_fewer_rows_is_refused_and_changes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A tracks.csv cut off halfway (its last line unfinished) replaced the warehouse's rows
    and the split with half of them; `predict` then said to train on this data."""
    settings = _settings(tmp_path, rows=10)
    con = duckdb.connect()
    load_into(con, settings, [TRACKS], log_results=False)
    path = settings.raw_dir / TRACKS.dataset / TRACKS.name
    whole = path.read_text()
    lines = whole.splitlines()
    path.write_text("\n".join(lines[:6]) + "\n" + lines[6][:5], encoding="utf-8")
    with pytest.raises(LoadError) as refused:
        load_into(con, settings, [TRACKS], log_results=False)
    message = str(refused.value)
    assert f"{path} looks cut short: it ends in the middle of its line 7, which" in message
    assert "has 6 rows, 40% fewer than the 10 loaded at " in message
    assert "Nothing in the warehouse was changed" in message and "extract --force" in message
    assert _rows(con) == 10
    # Finished, the same short file loads, with the warning; and a first load of a file
    # ending mid-line quarantines its last line, as any line that does not parse.
    path.write_text("\n".join(lines[:6]) + "\n", encoding="utf-8")
    (loaded,) = load_into(con, settings, [TRACKS], log_results=False)
    assert loaded.rows_read == 5 and loaded.cut_at is None and _rows(con) == 5
    fresh = _settings(tmp_path / "fresh", rows=10)
    cut = fresh.raw_dir / TRACKS.dataset / TRACKS.name
    cut.write_text("\n".join(cut.read_text().splitlines()[:6]) + "\n" + lines[6][:5])
    # (1 line of 6 is over the share of rejected rows allowed: not checked here)
    (first,) = load_into(
        duckdb.connect(), fresh, [TRACKS], enforce_threshold=False, log_results=False
    )
    assert (first.rows_read, first.rows_rejected, first.cut_at) == (6, 1, 7)


def test_files_found_at_a_new_path_are_recorded_there_when_another_file_loads(
    tmp_path: Path,
) -> None:
    """The log followed a moved folder only when nothing was loaded: after a load from another
    folder, it kept naming the first folder for the files it did not load again (a later
    error gave that folder as where the tables came from)."""
    import dataclasses
    import shutil

    from python_ml.raw.schemas import ARTISTS

    settings = _settings(tmp_path / "first", rows=10)
    artists = settings.raw_dir / ARTISTS.dataset / ARTISTS.name
    rows = [",".join(f"{c}{i}" for c in ARTISTS.columns) for i in range(10)]
    artists.write_text("\n".join([",".join(ARTISTS.columns), *rows]) + "\n", encoding="utf-8")
    load.load_raw(settings, [TRACKS, ARTISTS])
    moved = tmp_path / "moved"
    shutil.copytree(settings.raw_dir, moved)
    tracks = moved / TRACKS.dataset / TRACKS.name
    tracks.write_text(tracks.read_text() + ",".join(f"{c}x" for c in TRACKS.columns) + "\n")
    there = dataclasses.replace(settings, raw_dir=moved)
    assert [raw for raw, _ in _stale(there)] == [TRACKS]
    load.load_raw(there, [TRACKS])
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        paths = dict(con.execute("select table_name, file_path from raw.load_log").fetchall())
    assert paths == {"tracks": str(tracks), "artists": str(moved / ARTISTS.dataset / ARTISTS.name)}
    assert _stale(there) == []


def _stale(settings: Settings) -> list:
    from python_ml.raw.schemas import ARTISTS

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return load.stale_files(con, settings, [TRACKS, ARTISTS])


def test_duckdbs_reasons_for_a_line_it_cannot_read_are_said_in_words(tmp_path: Path) -> None:
    """The quarantine showed DuckDB's text: "Expected Number of Columns: 20 Found: 2" and
    "Maximum line size of 2000000 bytes exceeded. Actual Size:5000203 bytes."."""
    settings = _settings(tmp_path, rows=200)
    path = settings.raw_dir / TRACKS.dataset / TRACKS.name
    lines = path.read_text().splitlines()
    lines[3] = "a,b"
    lines[5] = lines[5] + ",extra"
    lines[7] = lines[7].replace("name6", "n" * 2_500_000)
    lines[9] = lines[9].replace(",", ',"never closed ', 1)  # "Value with unterminated quote"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    con = duckdb.connect()
    (loaded,) = load_into(con, settings, [TRACKS], enforce_threshold=False, log_results=False)
    said = dict(
        con.execute(
            "select file_line, error_type || ': ' || error_message from raw.load_rejects"
        ).fetchall()
    )
    assert said == {
        4: "MISSING COLUMNS: the line has 2 values where the header has 20 columns: a value "
        "or its comma is missing, or the line was cut off.",
        6: "TOO MANY COLUMNS: the line has 21 values where the header has 20 columns: a value "
        "holds a comma without quotes around it, or a comma too many.",
        8: "LINE SIZE OVER MAXIMUM: the line is 2.5 MB, over the 2 MB a line may hold: "
        "shorten its long value (a whole text pasted into one field?).",
        10: "UNQUOTED VALUE: a value's opening quote (\") is not closed where the value ends: "
        'end the value with a quote, and write a quote inside it as two (""); a file cut off '
        "inside a quoted value ends so.",
    }
    assert loaded.rows_rejected == 4
