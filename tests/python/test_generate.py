import ast
import csv
import gzip
import hashlib
import shutil
import statistics
from pathlib import Path

import pandas as pd
import pytest

from python_ml.raw import generate, schemas


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    a = generate.generate(tmp_path / "a", rows=1_500, seed=3)
    b = generate.generate(tmp_path / "b", rows=1_500, seed=3)
    c = generate.generate(tmp_path / "c", rows=1_500, seed=4)
    for name in ("tracks", "artists", "songs_2023"):
        assert _sha(getattr(a, name)) == _sha(getattr(b, name)), name
    assert _sha(a.tracks) != _sha(c.tracks)


def test_tracks_have_the_kaggle_schema_and_quirks(small_raw_dir: Path) -> None:
    path = small_raw_dir / "spotify_600k" / "tracks.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == schemas.TRACK_COLUMNS
    assert len(rows) == 4_000
    formats = pd.Series([len(r["release_date"]) for r in rows]).value_counts(normalize=True)
    assert 0.65 < formats[10] < 0.85  # YYYY-MM-DD
    assert 0.15 < formats[4] < 0.35  # YYYY
    names = [n for r in rows for n in ast.literal_eval(r["artists"])]
    ids = [i for r in rows for i in ast.literal_eval(r["id_artists"])]
    assert len(names) == len(ids)
    assert all(len(i) == 22 for i in ids)
    assert any("'" in n for n in names) and any("," in n for n in names)
    assert any(not n.isascii() for n in names)
    assert {r["explicit"] for r in rows} == {"0", "1"}
    assert {int(r["time_signature"]) for r in rows} <= {0, 1, 3, 4, 5}
    popularity = pd.Series([int(r["popularity"]) for r in rows])
    assert popularity.between(0, 100).all()


def test_popularity_distribution_and_year_trend_match_the_real_file(tmp_path: Path) -> None:
    files = generate.generate(tmp_path, rows=60_000, seed=42)
    tracks = pd.read_csv(files.tracks, usecols=["popularity", "release_date"])
    pop = tracks["popularity"]
    assert 25 < pop.mean() < 31
    assert 16 < pop.std() < 21
    assert 0.04 < (pop == 0).mean() < 0.12
    assert 0.50 < (pop <= 30).mean() < 0.62
    assert 0.005 < (pop >= 70).mean() < 0.025
    year = tracks["release_date"].str[:4].astype(int)
    by_year = pop.groupby(year).mean()
    assert by_year.loc[:1930].mean() < 5
    assert by_year.loc[2015:2020].mean() > 38


def test_artists_match_the_tracks_artist_ids(small_raw_dir: Path) -> None:
    tracks = pd.read_csv(small_raw_dir / "spotify_600k" / "tracks.csv")
    artists = pd.read_csv(small_raw_dir / "spotify_600k" / "artists.csv")
    assert list(artists.columns) == schemas.ARTIST_COLUMNS
    referenced = {i for literal in tracks["id_artists"] for i in ast.literal_eval(literal)}
    assert referenced == set(artists["id"])
    assert artists["id"].is_unique
    assert all(isinstance(ast.literal_eval(g), list) for g in artists["genres"])


def test_songs_2023_is_latin1_crlf_with_the_real_quirks(small_raw_dir: Path) -> None:
    raw = (small_raw_dir / "spotify_2023" / "spotify-2023.csv").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") == 954
    text = raw.decode("latin-1")
    rows = list(csv.DictReader(text.splitlines()))
    assert list(rows[0]) == schemas.SONGS_2023_COLUMNS
    assert len(rows) == 953
    assert sum(not r["streams"].isdigit() for r in rows) == 1
    # Streams as real as the rest: no song beyond the real file's scale (its largest is 3.7
    # billion; counted from the release, a 1946 song had 22 billion), hits in the billions,
    # and songs from before Spotify's launch with no head start for the years before it.
    streams = {i: int(r["streams"]) for i, r in enumerate(rows) if r["streams"].isdigit()}
    assert 1e9 < max(streams.values()) < generate.STREAMS_CEILING
    older = [v for i, v in streams.items() if int(rows[i]["released_year"]) < 2000]
    newer = [v for i, v in streams.items() if int(rows[i]["released_year"]) >= 2000]
    # (the real file's ratio 2.2; counted from the release, 4.3-6.5 over five seeds)
    assert statistics.median(older) < 3.5 * statistics.median(newer)
    assert any("," in r["in_deezer_playlists"] for r in rows)
    assert 90 <= sum(r["key"] == "" for r in rows) <= 100
    pairs = [(r["track_name"], r["artist(s)_name"]) for r in rows]
    assert len(pairs) - len(set(pairs)) >= 4


def test_artists_can_be_made_for_an_existing_gzipped_tracks_file(tmp_path: Path) -> None:
    source = generate.generate(tmp_path / "src", rows=500, seed=1).tracks
    folder = tmp_path / "raw" / "spotify_600k"
    folder.mkdir(parents=True)
    with open(source, "rb") as plain, gzip.open(folder / "tracks.csv.gz", "wb") as gz:
        shutil.copyfileobj(plain, gz)
    generate.generate(tmp_path / "raw", seed=1)
    assert not (folder / "tracks.csv").exists(), "the existing tracks must be kept"
    artists = pd.read_csv(folder / "artists.csv")
    tracks = pd.read_csv(folder / "tracks.csv.gz")
    referenced = {i for literal in tracks["id_artists"] for i in ast.literal_eval(literal)}
    assert referenced == set(artists["id"])


def test_too_few_rows_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 100"):
        generate.generate(tmp_path, rows=10)


def test_tracks_are_written_as_pandas_writes_them(tmp_path: Path) -> None:
    """The generator writes tracks.csv with DuckDB's CSV writer: the same bytes as pandas'
    to_csv (quotes only where needed, the same number formats, an empty name as an empty
    field), header or not."""
    import duckdb
    import numpy as np

    pool = generate._artist_pool(np.random.default_rng([7, 0]), 3_000)
    frame, _, _ = generate._track_chunk(np.random.default_rng([7, 1, 0]), 3_000, pool)
    frame.loc[0, "name"] = ""  # a track without a name, as the real file has
    frame.loc[1, "name"] = 'He said "hi", twice'  # a quote and a comma: quoted, doubled
    frame.loc[2, "instrumentalness"] = 1.5e-05  # pandas writes 1.5e-05
    for header in (True, False):
        path = tmp_path / f"duckdb_{header}.csv"
        with duckdb.connect() as con, open(path, "wb") as out:
            generate._append_csv(con, frame, out, header=header)
        expected = frame.to_csv(index=False, header=header, lineterminator="\n")
        assert path.read_text(encoding="utf-8") == expected
        assert not path.with_name(path.name + ".part").exists()
