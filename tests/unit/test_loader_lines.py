"""The loader's line mapping: DuckDB numbers records, an editor numbers physical lines."""

from __future__ import annotations

import gzip

import pytest

from python_ml.warehouse import load
from python_ml.warehouse.load import record_lines


def test_quoted_line_breaks_and_blank_lines_keep_file_lines(tmp_path):
    path = tmp_path / "tracks.csv"
    path.write_text(
        'id,name\n1,plain\n2,"two\nlines"\n\n3,after blank\n4,"three\nphysical\nlines"\n5,last\n',
        encoding="utf-8",
    )
    # (DuckDB's line number, the line an editor shows, the record's last line) for every record
    # after the header.
    assert record_lines(path, "utf-8") == [(2, 2, 2), (3, 3, 4), (5, 6, 6), (6, 7, 9), (7, 10, 10)]


def test_gzip_files_are_read_the_same(tmp_path):
    text = 'id,name\n1,a\n2,"b\nc"\n3,d\n'
    plain = tmp_path / "t.csv"
    plain.write_text(text, encoding="utf-8")
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    expected = [(2, 2, 2), (3, 3, 4), (4, 5, 5)]
    assert record_lines(packed, "utf-8") == record_lines(plain, "utf-8") == expected


def _tracks_file(tmp_path, body: bytes):
    from python_ml.raw.schemas import TRACKS
    from python_ml.settings import PROJECT_ROOT, Settings

    folder = tmp_path / "raw" / TRACKS.dataset
    folder.mkdir(parents=True)
    (folder / TRACKS.name).write_bytes(body)
    settings = Settings(
        project_root=PROJECT_ROOT,
        raw_dir=tmp_path / "raw",
        warehouse=tmp_path / "warehouse.duckdb",
        mlflow_dir=tmp_path / "mlflow",
        reports_dir=tmp_path / "reports",
    )
    return TRACKS, settings


@pytest.mark.parametrize("chunk", [1 << 24, 2, 3])  # small chunks: a CR LF split across two
def test_mixed_line_endings_are_found(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(load, "CHUNK", chunk)
    cases = {
        b"a\r\nb\r\nc\n": True,  # a row added in another editor
        b"a\nb\nc\r\n": True,
        b"a\r\nb\r\n": False,
        b"a\nb\n": False,
        b"a\rb\r": False,  # CR alone (old Mac): DuckDB reads it
        b"a\r\nb\r\n\r\n": False,
    }
    for i, (body, mixed) in enumerate(cases.items()):
        path = tmp_path / f"{i}.csv"
        path.write_bytes(body)
        assert load.mixed_line_endings(path) is mixed, body
    packed = tmp_path / "mixed.csv.gz"
    packed.write_bytes(gzip.compress(b"a\r\nb\n"))
    assert load.mixed_line_endings(packed)


def test_a_file_with_mixed_line_endings_loads_every_row_under_its_line(tmp_path, monkeypatch):
    """DuckDB's reader stopped on such a file ("state machine reached an invalid state") and
    the load failed with its text: every row is read now, rejected ones under their line."""
    import duckdb

    from python_ml.raw.schemas import TRACKS

    header = ",".join(TRACKS.columns).encode()
    good = [",".join(f"{c}{i}" for c in TRACKS.columns).encode() for i in range(4)]
    short = b"only,three,fields"
    # Lines 1-3 end CR LF, then LF: line 4 is rejected (too few fields), line 6 is the last.
    body = b"\r\n".join([header, good[0], good[1]]) + b"\r\n" + b"\n".join([short, *good[2:]])
    body += b"\n"
    _, settings = _tracks_file(tmp_path, body)
    monkeypatch.setattr(load, "CHUNK", 7)
    con = duckdb.connect()
    (loaded,) = load.load_into(con, settings, [TRACKS], enforce_threshold=False, log_results=False)
    assert (loaded.rows_read, loaded.rows_kept, loaded.rows_rejected) == (5, 4, 1)
    rows = con.execute(f"select file_line, id, time_signature from {TRACKS.raw_table}").fetchall()
    # No CR is left at the end of a line's last field.
    assert rows == [(2, "id0", "time_signature0"), (3, "id1", "time_signature1"),
                    (5, "id2", "time_signature2"), (6, "id3", "time_signature3")]  # fmt: skip
    rejected = con.execute("select file_line, raw_text from raw.load_rejects").fetchall()
    assert rejected == [(4, "only,three,fields")]


def test_a_file_whose_lines_end_with_cr_alone_loads(tmp_path):
    """Its header check failed with Python's csv text ('new-line character seen in unquoted
    field'), though DuckDB reads such a file."""
    import duckdb

    from python_ml.raw.schemas import TRACKS

    header = ",".join(TRACKS.columns)
    rows = [",".join(f"{c}{i}" for c in TRACKS.columns) for i in range(3)]
    _, settings = _tracks_file(tmp_path, ("\r".join([header, *rows]) + "\r").encode())
    con = duckdb.connect()
    (loaded,) = load.load_into(con, settings, [TRACKS], log_results=False)
    assert (loaded.rows_read, loaded.rows_kept) == (3, 3)
    kept = con.execute(f"select file_line, id, time_signature from {TRACKS.raw_table}").fetchall()
    assert kept == [(2, "id0", "time_signature0"), (3, "id1", "time_signature1"),
                    (4, "id2", "time_signature2")]  # fmt: skip
    # `predict` reads the same file's header as the loader does.
    from python_ml.tracks.predict import check_input

    assert check_input(settings.raw_dir / TRACKS.dataset / TRACKS.name) == list(TRACKS.columns)


def test_a_line_longer_than_duckdb_reads_is_named_with_its_size(tmp_path, monkeypatch):
    """A line of tens of MB (a field holding a whole file) is neither kept nor rejected by
    DuckDB's reader; the load failed with "check the file, or download it again", naming no
    line (and, for `predict`, its scratch copy's path in a warning). It names the line."""
    import duckdb

    from python_ml.raw.schemas import TRACKS

    header = ",".join(TRACKS.columns).encode()
    good = [",".join(f"{c}{i}" for c in TRACKS.columns).encode() for i in range(4)]
    huge = good[2].replace(b"name2", b"n" * 40_000_000, 1)
    # Line 3 holds a quoted line break: the long line is the file's line 5.
    good[1] = good[1].replace(b"name1", b'"two\nlines"', 1)
    body = b"\n".join([header, good[0], good[1], huge, good[3]]) + b"\n"
    _, settings = _tracks_file(tmp_path, body)
    con = duckdb.connect()
    shown = tmp_path / "my tracks.csv"
    with pytest.raises(load.LoadError) as raised:
        load.load_into(con, settings, [TRACKS], log_results=False, shown_as=shown)
    assert str(raised.value) == (
        f"{shown}: line 5 is {len(huge):,} bytes long, more than DuckDB's CSV reader reads "
        "(2,000,000 bytes a line), and was neither read nor rejected; nothing was loaded: "
        "shorten that line's values or remove the line."
    )
    assert con.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw'"
    ).fetchone() == (0,)
    monkeypatch.setattr(load, "CHUNK", 1000)  # a line split across many reads
    assert load._lines_longer_than([load._Part(settings.raw_dir / TRACKS.dataset / TRACKS.name)],
                                   2_000_000) == [(5, len(huge))]  # fmt: skip


def test_the_loaders_messages_name_the_file_the_user_gave(tmp_path, caplog):
    """`predict` loads a scratch copy of its input: the loader's note on mixed line endings
    named /tmp/music-predict-.../tracks.csv, a file the user never saw."""
    import logging

    import duckdb

    from python_ml.raw.schemas import TRACKS

    header = ",".join(TRACKS.columns).encode()
    good = [",".join(f"{c}{i}" for c in TRACKS.columns).encode() for i in range(2)]
    body = header + b"\r\n" + good[0] + b"\r\n" + good[1] + b"\n"
    _, settings = _tracks_file(tmp_path, body)
    shown = tmp_path / "new.csv"
    with caplog.at_level(logging.INFO, logger=load.log.name):
        load.load_into(duckdb.connect(), settings, [TRACKS], log_results=False, shown_as=shown)
    (said,) = [r.getMessage() for r in caplog.records if "line endings" in r.getMessage()]
    assert said.startswith(f"{shown} mixes Windows (CR LF) and Unix (LF) line endings")
