"""The raw files: their folders, names, columns and encodings, in one place.

A leaf module: the generator, extraction, loading and ``predict`` read it; it imports nothing
of the project. The dbt sources (``models/staging/spotify_*/_*__sources.yml``) describe the
same columns for readers of the docs; ``tests/python/test_load.py`` checks they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

TRACK_COLUMNS = [
    "id",
    "name",
    "popularity",
    "duration_ms",
    "explicit",
    "artists",
    "id_artists",
    "release_date",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "time_signature",
]
ARTIST_COLUMNS = ["id", "followers", "genres", "name", "popularity"]
SONGS_2023_COLUMNS = [
    "track_name",
    "artist(s)_name",
    "artist_count",
    "released_year",
    "released_month",
    "released_day",
    "in_spotify_playlists",
    "in_spotify_charts",
    "streams",
    "in_apple_playlists",
    "in_apple_charts",
    "in_deezer_playlists",
    "in_deezer_charts",
    "in_shazam_charts",
    "bpm",
    "key",
    "mode",
    "danceability_%",
    "valence_%",
    "energy_%",
    "acousticness_%",
    "instrumentalness_%",
    "liveness_%",
    "speechiness_%",
]

# Rows in Kaggle's tracks.csv: what the built-in generator writes by default (`--rows`).
REAL_TRACK_ROWS = 586_672


@dataclass(frozen=True)
class RawFile:
    dataset: str  # folder under the raw dir, and the dbt source's name
    name: str  # file name inside it (plain; `<name>.gz` is accepted too)
    table: str  # the dbt source table (raw.<dataset>__<table> in the warehouse)
    columns: list[str]
    encodings: tuple[str, ...]  # accepted, the first preferred

    @property
    def raw_table(self) -> str:
        return f"raw.{self.dataset}__{self.table}"


TRACKS = RawFile("spotify_600k", "tracks.csv", "tracks", TRACK_COLUMNS, ("utf-8",))
ARTISTS = RawFile("spotify_600k", "artists.csv", "artists", ARTIST_COLUMNS, ("utf-8",))
# Kaggle's file is latin-1 (it holds bytes that are not UTF-8); a copy re-saved as UTF-8 is
# read as UTF-8.
SONGS_2023 = RawFile(
    "spotify_2023", "spotify-2023.csv", "songs", SONGS_2023_COLUMNS, ("latin-1", "utf-8")
)
RAW_FILES = [TRACKS, ARTISTS, SONGS_2023]
