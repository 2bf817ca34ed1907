"""Where a raw file came from (python_ml/raw/origin.py): what ``generate`` and ``extract``
wrote keeps its origin until its bytes change, a hand edit that keeps the size included."""

from __future__ import annotations

import os
from pathlib import Path

from python_ml.raw import origin


def _written(raw_dir: Path, name: str, text: str, by: str) -> Path:
    path = raw_dir / "spotify_600k" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    origin.record(raw_dir, path, by)
    return path


def test_a_file_keeps_its_origin_until_its_bytes_change(tmp_path: Path) -> None:
    tracks = _written(tmp_path, "tracks.csv", "id,popularity\na,50\n", origin.GENERATED)
    _written(tmp_path, "artists.csv", "id,name\nx,y\n", origin.GENERATED)
    assert origin.file_origin(tmp_path, tracks) == origin.GENERATED
    assert origin.tracks_origin(tmp_path) == origin.GENERATED
    written = tracks.stat().st_mtime_ns
    tracks.write_text("id,popularity\na,99\n", encoding="utf-8")  # the same size
    os.utime(tracks, ns=(written + 10**9, written + 10**9))  # an edit a second later
    assert origin.file_origin(tmp_path, tracks) == origin.USER
    assert origin.tracks_origin(tmp_path) == "artists.csv: generated, tracks.csv: user files"
    tracks.write_text("id,popularity\na,99,\n", encoding="utf-8")  # another size
    assert origin.file_origin(tmp_path, tracks) == origin.USER


def test_a_file_not_listed_or_listed_without_a_hash(tmp_path: Path) -> None:
    tracks = _written(tmp_path, "tracks.csv", "id\na\n", origin.KAGGLE)
    manifest = tmp_path / origin.MANIFEST
    # An origin.json from before the hash was recorded: compared by size alone.
    manifest.write_text('{"spotify_600k/tracks.csv": {"origin": "kaggle", "bytes": 5}}')
    assert origin.file_origin(tmp_path, tracks) == origin.KAGGLE
    manifest.write_text("{}")
    assert origin.file_origin(tmp_path, tracks) == origin.USER


def test_the_origin_of_what_was_loaded_comes_from_the_load_log(tmp_path: Path) -> None:
    """python_ml says where the warehouse's data came from as the loader recorded it, not the
    raw folder as it is now (a copy without origin.json holds the same generated data); a log
    that does not say falls back to the folder."""
    import duckdb

    _written(tmp_path, "tracks.csv", "id\na\n", origin.GENERATED)
    _written(tmp_path, "artists.csv", "id\nx\n", origin.GENERATED)
    (tmp_path / origin.MANIFEST).unlink()  # the folder now says user files
    with duckdb.connect() as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.load_log (dataset varchar, table_name varchar, "
            "file_path varchar, data_origin varchar)"
        )
        assert origin.tracks_origin(tmp_path, con) == origin.USER  # nothing logged yet
        con.execute(
            "insert into raw.load_log values "
            "('spotify_600k', 'tracks', '/old/spotify_600k/tracks.csv.gz', 'kaggle'), "
            "('spotify_600k', 'artists', '/old/spotify_600k/artists.csv', 'generated'), "
            "('spotify_2023', 'songs', '/old/spotify_2023/spotify-2023.csv', 'generated')"
        )
        assert (
            origin.tracks_origin(tmp_path, con) == "artists.csv: generated, tracks.csv.gz: kaggle"
        )
        assert origin.songs_origin(tmp_path, con) == origin.GENERATED
        con.execute("alter table raw.load_log drop column data_origin")  # an older log
        assert origin.tracks_origin(tmp_path, con) == origin.USER


def test_a_copied_folder_keeps_its_origin(tmp_path: Path) -> None:
    """A copy has new modification times but the same bytes: the hash says it is the file
    that was written, so its origin stays."""
    import shutil

    raw = tmp_path / "raw"
    tracks = _written(raw, "tracks.csv", "id\na\n", origin.GENERATED)
    copy = tmp_path / "copy"
    (copy / "spotify_600k").mkdir(parents=True)
    shutil.copy(raw / origin.MANIFEST, copy / origin.MANIFEST)
    copied = copy / "spotify_600k" / "tracks.csv"
    shutil.copy(tracks, copied)  # contents only
    later = tracks.stat().st_mtime_ns + 10**9  # as a copy made a second later has
    os.utime(copied, ns=(later, later))
    assert origin.file_origin(copy, copied) == origin.GENERATED


def test_a_file_replaced_keeping_the_old_modification_time_is_the_users(tmp_path: Path) -> None:
    """`cp -p` (or `rsync -a`, a backup's `tar x`) of the user's own file over a generated one
    of the same size keeps the generated file's modification time: it kept the origin
    "generated" (and the loader took it for the loaded file)."""
    tracks = _written(tmp_path, "tracks.csv", "id,popularity\na,50\n", origin.GENERATED)
    past = tracks.stat().st_mtime_ns - 3600 * 10**9  # written an hour ago
    os.utime(tracks, ns=(past, past))
    origin.record(tmp_path, tracks, origin.GENERATED)
    assert origin.file_origin(tmp_path, tracks) == origin.GENERATED
    tracks.write_text("id,popularity\na,99\n", encoding="utf-8")  # the user's, the same size
    os.utime(tracks, ns=(past, past))  # as cp -p leaves it
    assert origin.file_origin(tmp_path, tracks) == origin.USER
