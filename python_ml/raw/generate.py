"""Built-in data: a seeded generator for the three raw Kaggle files.

It writes the exact Kaggle schemas with the real files' quirks, so the whole project runs on a
machine without Kaggle access:

* ``spotify_600k/tracks.csv``: ``release_date`` mixing ``YYYY-MM-DD`` (~76%), ``YYYY`` (~23%)
  and ``YYYY-MM`` (~0.4%); ``artists``/``id_artists`` as Python list literals (apostrophes,
  commas, double quotes, non-ASCII names); rare empty names; ``tempo`` 0 and ``time_signature``
  0 on a few rows; popularity driven first by release year (as in the real data) and then by
  artist reach and audio features, with the real distribution (mean ~27.6, std ~18.4, ~7.6%
  zeros, ~56% ice-cold, ~42% lukewarm, ~1.4% blazing-hot at full size).
* ``spotify_600k/artists.csv``: ``id,followers,genres,name,popularity`` consistent with the
  tracks' ``id_artists``; artist popularity is derived from its tracks (as Spotify does), which
  is why it must never be a feature.
* ``spotify_2023/spotify-2023.csv``: latin-1, CRLF line ends, thousands separators inside quoted
  numbers, empty ``key`` and ``in_shazam_charts`` values, one non-numeric ``streams`` value and
  four duplicate songs (two of them with other playlist counts: the real file's duplicates
  differ from the line kept).

Same seed and row count give byte-identical files. Tracks are generated in chunks so memory
stays flat at 10x the real size.
"""

from __future__ import annotations

import ast
import csv
import gzip
import hashlib
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from python_ml.errors import UserError
from python_ml.raw import origin
from python_ml.raw.schemas import REAL_TRACK_ROWS, SONGS_2023_COLUMNS, TRACK_COLUMNS

log = logging.getLogger(__name__)


class GenerateError(UserError, ValueError):
    """The raw files cannot be generated as asked; the message says why and what to give."""


SONGS_2023_ROWS = 953
SPOTIFY_LAUNCH = pd.Timestamp("2008-10-07")  # streams before it: none
STREAMS_CEILING = 4.5e9  # no generated song has more streams
# The day the 2023 chart file was taken (its latest release is 2023-07-14).
SONGS_2023_SNAPSHOT = pd.Timestamp("2023-07-14")
CHUNK_ROWS = 250_000
_BASE62 = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)

_FIRST = [
    "Los",
    "The",
    "Lil",
    "DJ",
    "Big",
    "Orquesta",
    "Banda",
    "Sister",
    "Captain",
    "Café",
    "Sigur",
    "Mötley",
    "Beyoncé",
    "Guns N'",
    "Earth, Wind &",
    "Björk",
    "Señor",
    "Mc",
    "Dr.",
    "Young",
    "São",
    "Zoë",
    "Ensemble",
    "Trio",
    "Łukasz",
    "Ólafur",
    "Françoise",
    'The "Real"',
    "Hermanos",
    "Kid",
]
_LAST = [
    "Roses",
    "Fire",
    "Tacvba",
    "Rós",
    "Crüe",
    "Wolves",
    "Rivers",
    "Kings",
    "Dreams",
    "Harmony",
    "Arnalds",
    "Hardy",
    "Coração",
    "Nights",
    "Santos",
    "Sound",
    "Brothers",
    "Orchestra",
    "Weekend",
    "Lights",
    "Moreno",
    "Jackson",
    "Vega",
    "Stone",
    "Cruz",
    "Müller",
    "O'Brien",
    "Lee",
    "Kim",
    "Nakamura",
]
_WORDS = [
    "love",
    "night",
    "baby",
    "heart",
    "dance",
    "fire",
    "summer",
    "dream",
    "girl",
    "rain",
    "blue",
    "gold",
    "midnight",
    "forever",
    "home",
    "crazy",
    "sweet",
    "wild",
    "light",
    "dark",
    "river",
    "moon",
    "party",
    "alone",
    "money",
    "road",
    "city",
    "kiss",
    "ocean",
    "star",
    "corazón",
    "amor",
    "noche",
    "vida",
    "canción",
    "señorita",
    "tonight",
    "feel",
    "young",
    "remastered",
    "live",
    "version",
    "remix",
    "part",
    "mix",
    "sunset",
    "paradise",
    "echo",
]
_GENRES = [
    "pop",
    "rock",
    "latin",
    "hip hop",
    "jazz",
    "classical",
    "tango",
    "dance pop",
    "k-pop",
    "indie",
    "country",
    "soul",
    "r&b",
    "reggaeton",
    "metal",
    "folk",
    "blues",
    "edm",
    "bossa nova",
    "chanson",
    "opera",
    "trap",
    "funk",
    "disco",
]
_KEYS_2023 = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


@dataclass(frozen=True)
class RawFiles:
    tracks: Path
    artists: Path
    songs_2023: Path


def raw_files(raw_dir: Path) -> RawFiles:
    return RawFiles(
        tracks=raw_dir / "spotify_600k" / "tracks.csv",
        artists=raw_dir / "spotify_600k" / "artists.csv",
        songs_2023=raw_dir / "spotify_2023" / "spotify-2023.csv",
    )


# --------------------------------------------------------------------------------------------
# helpers


def _spotify_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random 22-character base62 ids, like Spotify's."""
    codes = _BASE62[rng.integers(0, 62, size=(n, 22))]
    return np.char.decode(np.ascontiguousarray(codes).view("S22").ravel(), "ascii").astype(object)


def _round_sig(x: np.ndarray, digits: int = 3) -> np.ndarray:
    """Round to significant digits, dividing so the float prints as the real file does."""
    out = np.zeros_like(x, dtype=float)
    nz = x != 0
    exponent = np.floor(np.log10(np.abs(x[nz]))).astype(int)
    decimals = np.clip(digits - 1 - exponent, 0, 12)
    scale = 10.0**decimals
    out[nz] = np.round(x[nz] * scale) / scale
    return out


def _atomic_write_text(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _append_csv(con, frame: pd.DataFrame, out, header: bool) -> None:
    """``frame`` appended to the open binary file ``out`` as CSV by DuckDB's writer, for the
    generator's columns (text, integers, floats): the same bytes as pandas'
    ``to_csv(index=False, lineterminator="\\n")`` writes (quoted only where needed, numbers in
    their shortest form, an empty string as an empty field), 3.7 s -> 0.6 s for the 586,672
    tracks of 1x in one piece (tests/python/test_generate.py compares the two). Not a general
    replacement: DuckDB writes booleans as true/false and quotes a field with a carriage
    return or a leading #, which pandas does not."""
    part = Path(out.name).with_name(Path(out.name).name + ".part")
    strings = {c for c in frame.columns if pd.api.types.is_string_dtype(frame[c].dtype)}
    selected = ", ".join(
        f'nullif("{c}", \'\') as "{c}"' if c in strings else f'"{c}"' for c in frame.columns
    )
    target = str(part).replace("'", "''")
    con.register("generated_chunk", frame)
    try:
        con.execute(
            f"copy (select {selected} from generated_chunk) to '{target}' "
            f"(format csv, header {'true' if header else 'false'}, delimiter ',', "
            "new_line '\\n')"
        )
        with open(part, "rb") as written:
            shutil.copyfileobj(written, out)
    finally:
        con.unregister("generated_chunk")
        part.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# artists pool (for generated tracks)


@dataclass
class _ArtistPool:
    ids: np.ndarray
    names: np.ndarray
    star: np.ndarray  # latent reach; drives followers and track popularity
    weight: np.ndarray  # how often the artist appears on tracks
    single_artists_literal: np.ndarray
    single_ids_literal: np.ndarray


def _artist_pool(rng: np.random.Generator, n_tracks: int) -> _ArtistPool:
    n = max(20, n_tracks // 5)
    ids = _spotify_ids(rng, n)
    first = np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
    suffix = rng.integers(0, 1000, n)
    names = np.array(
        [
            f"{a} {b}" if s < 600 else f"{a} {b} {s}"
            for a, b, s in zip(first, last, suffix, strict=True)
        ],
        dtype=object,
    )
    star = rng.normal(0.0, 1.0, n)
    # Prolific artists are a little more popular; appearance weights are heavy-tailed.
    weight = rng.pareto(1.6, n) + 0.2
    weight = weight / weight.sum()
    single_names = np.array([repr([x]) for x in names], dtype=object)
    single_ids = np.array([repr([x]) for x in ids], dtype=object)
    return _ArtistPool(ids, names, star, weight, single_names, single_ids)


# --------------------------------------------------------------------------------------------
# tracks


def _popularity_mean_by_year(year: np.ndarray) -> np.ndarray:
    """Mean popularity by release year: about 0 in the 1920s rising to about 45 in 2019."""
    t = np.clip((year - 1925) / 94.0, 0.0, 1.0)
    return -8.6 + 58.0 * t**1.15


def _track_chunk(
    rng: np.random.Generator, n: int, pool: _ArtistPool
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    years = np.arange(1922, 2022)
    year_weight = 1.0 / (1.0 + np.exp(-(years - 1968) / 9.0)) + 0.004
    year_weight[-1] *= 0.3  # 2021 is a partial year in the real file
    year = rng.choice(years, size=n, p=year_weight / year_weight.sum())
    era = np.clip((year - 1922) / 99.0, 0.0, 1.0)

    # Artists: 1 to 4 per track, the first one drives the track's reach.
    n_artists = rng.choice([1, 2, 3, 4], size=n, p=[0.80, 0.13, 0.05, 0.02])
    first = rng.choice(len(pool.ids), size=n, p=pool.weight)
    extra = rng.choice(len(pool.ids), size=(n, 3), p=pool.weight)
    artists = pool.single_artists_literal[first].copy()
    id_artists = pool.single_ids_literal[first].copy()
    multi = np.flatnonzero(n_artists > 1)
    for i in multi:
        idx = [first[i], *extra[i, : n_artists[i] - 1].tolist()]
        artists[i] = repr([pool.names[j] for j in idx])
        id_artists[i] = repr([pool.ids[j] for j in idx])

    energy = rng.beta(1.4 + 2.2 * era, 2.0, n)
    acousticness = np.clip(
        rng.beta(0.7, 0.7, n) * (1.3 - 0.9 * era) + 0.3 * (1 - energy) - 0.15, 0.0, 0.996
    )
    danceability = np.clip(rng.beta(5.0, 3.8, n) + 0.05 * era, 0.0, 0.99)
    spoken = rng.random(n) < 0.03
    speechiness = np.where(spoken, rng.uniform(0.66, 0.97, n), rng.beta(1.3, 18.0, n) + 0.022)
    instrumental = np.where(rng.random(n) < 0.68, rng.exponential(0.002, n), rng.beta(1.5, 1.5, n))
    instrumental = np.clip(instrumental, 0.0, 1.0)
    liveness = np.clip(rng.beta(2.0, 8.0, n) + 0.02, 0.0, 1.0)
    valence = np.clip(rng.beta(2.4, 2.0, n), 0.0, 1.0)
    loudness = np.clip(-23.0 + 17.0 * energy + rng.normal(0.0, 2.8, n), -60.0, 5.0)
    tempo = np.clip(rng.normal(118.0, 29.0, n), 40.0, 245.0)
    tempo[rng.random(n) < 0.0006] = 0.0
    time_signature = rng.choice([4, 3, 5, 1, 0], size=n, p=[0.855, 0.114, 0.017, 0.0135, 0.0005])
    key = rng.integers(0, 12, n)
    mode = (rng.random(n) < 0.66).astype(int)
    explicit = (rng.random(n) < 0.005 + 0.12 * era**4).astype(int)
    duration_ms = np.clip(rng.lognormal(np.log(215_000), 0.38, n), 5_000, 4_000_000).astype(int)

    latent = (
        _popularity_mean_by_year(year)
        + 9.0 * pool.star[first]
        + 4.0 * explicit
        + 9.0 * (danceability - 0.55)
        + 0.45 * (loudness + 10.0)
        - 5.0 * acousticness
        - 5.0 * instrumental
        - 18.0 * spoken
        + rng.normal(0.0, 10.5, n)
    )
    popularity = np.clip(np.round(latent), 0, 100).astype(int)

    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    fmt = rng.random(n)
    # Year-only dates are mostly older catalogue entries, as in the real file.
    year_only = fmt < np.where(year < 1990, 0.36, 0.13)
    month_only = (~year_only) & (fmt > 0.996)
    release_date = np.char.add(year.astype(str), "")
    full = ~(year_only | month_only)
    ym = np.char.add(np.char.add(year.astype(str), "-"), np.char.zfill(month.astype(str), 2))
    release_date = np.where(month_only, ym, release_date)
    release_date = np.where(
        full, np.char.add(np.char.add(ym, "-"), np.char.zfill(day.astype(str), 2)), release_date
    )

    words = np.array(_WORDS, dtype=object)
    w1 = words[rng.integers(0, len(words), n)]
    w2 = words[rng.integers(0, len(words), n)]
    name = np.array([f"{a.title()} {b}" for a, b in zip(w1, w2, strict=True)], dtype=object)
    name[rng.random(n) < 0.00012] = ""

    frame = pd.DataFrame(
        {
            "id": _spotify_ids(rng, n),
            "name": name,
            "popularity": popularity,
            "duration_ms": duration_ms,
            "explicit": explicit,
            "artists": artists,
            "id_artists": id_artists,
            "release_date": release_date,
            "danceability": np.round(danceability, 3),
            "energy": _round_sig(energy),
            "key": key,
            "loudness": np.round(loudness, 3),
            "mode": mode,
            "speechiness": _round_sig(speechiness),
            "acousticness": _round_sig(acousticness),
            "instrumentalness": _round_sig(instrumental),
            "liveness": _round_sig(liveness),
            "valence": _round_sig(valence),
            "tempo": np.round(tempo, 3),
            "time_signature": time_signature,
        }
    )[TRACK_COLUMNS]
    # Every (artist, track popularity) pair, for the artists' own popularity and membership.
    extra_rows = np.repeat(multi, n_artists[multi] - 1)
    extra_cols = (
        np.concatenate([np.arange(k - 1) for k in n_artists[multi]])
        if len(multi)
        else (np.zeros(0, dtype=int))
    )
    artist_index = np.concatenate([first, extra[extra_rows, extra_cols]])
    artist_popularity = np.concatenate([popularity, popularity[extra_rows]])
    return frame, artist_index, artist_popularity


def _chunk_sizes(rows: int) -> Iterator[int]:
    done = 0
    while done < rows:
        size = min(CHUNK_ROWS, rows - done)
        yield size
        done += size


def write_tracks_and_artists(files: RawFiles, rows: int, seed: int) -> None:
    """Write tracks.csv and a consistent artists.csv."""
    pool_rng = np.random.default_rng([seed, 0])
    pool = _artist_pool(pool_rng, rows)
    pop_sum = np.zeros(len(pool.ids))
    pop_count = np.zeros(len(pool.ids))

    def write_tracks(tmp: Path) -> None:
        import duckdb

        with duckdb.connect() as con, open(tmp, "wb") as out:
            for i, size in enumerate(_chunk_sizes(rows)):
                rng = np.random.default_rng([seed, 1, i])
                frame, first, popularity = _track_chunk(rng, size, pool)
                np.add.at(pop_sum, first, popularity)
                np.add.at(pop_count, first, 1)
                _append_csv(con, frame, out, header=i == 0)

    _atomic_write_text(files.tracks, write_tracks)
    used = pop_count > 0
    mean_pop = np.divide(pop_sum, pop_count, out=np.zeros_like(pop_sum), where=used)
    _write_artists(
        files.artists,
        pool.ids[used],
        pool.names[used],
        pool.star[used],
        mean_pop[used],
        np.random.default_rng([seed, 2]),
    )


def _write_artists(
    path: Path,
    ids: np.ndarray,
    names: np.ndarray,
    reach: np.ndarray,
    mean_popularity: np.ndarray,
    rng: np.random.Generator,
) -> None:
    n = len(ids)
    followers = np.round(np.exp(7.0 + 2.2 * reach + rng.normal(0.0, 0.6, n)))
    n_genres = np.clip(rng.poisson(np.clip(1.2 + 1.0 * reach, 0.05, None)), 0, 8)
    genre_pool = np.array(_GENRES, dtype=object)
    genres = [
        repr(sorted(set(genre_pool[rng.integers(0, len(_GENRES), k)].tolist()))) if k else "[]"
        for k in n_genres
    ]
    # Spotify derives an artist's popularity from its tracks' popularity: it leaks the target.
    popularity = np.clip(np.round(mean_popularity + rng.normal(0.0, 4.0, n)), 0, 100).astype(int)
    frame = pd.DataFrame(
        {
            "id": ids,
            "followers": followers.astype(float),
            "genres": genres,
            "name": names,
            "popularity": popularity,
        }
    )
    _atomic_write_text(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def write_artists_for_tracks(tracks_path: Path, artists_path: Path, seed: int) -> int:
    """Write artists.csv for an existing tracks.csv (plain or gzipped), e.g. a real partial file.

    Each artist gets its name from the tracks, a popularity from the mean of its tracks (never
    a feature), and followers and genres drawn from a random reach, independent of the tracks'
    popularity: the tracks are the user's, so followers made from their popularity would hand
    the models the target (on the real 1922-1935 file, ln(followers) correlated 0.66 with the
    holdout's popularity, the champion's first feature). Returns the number of artists written.
    """
    names: dict[str, str] = {}
    pop_sum: dict[str, float] = {}
    pop_count: dict[str, int] = {}
    with _open_text(tracks_path) as handle:
        reader = csv.DictReader(handle)
        missing = {"id_artists", "artists", "popularity"} - set(reader.fieldnames or [])
        if missing:
            raise GenerateError(
                f"{tracks_path}: not a tracks.csv, missing columns {sorted(missing)}"
            )
        for line_no, row in enumerate(reader, start=2):
            try:
                ids = ast.literal_eval(row["id_artists"])
                artist_names = ast.literal_eval(row["artists"])
                popularity = float(row["popularity"])
            except (ValueError, SyntaxError):
                log.warning(
                    "%s line %d: unreadable artists or popularity, skipped", tracks_path, line_no
                )
                continue
            for j, artist_id in enumerate(ids):
                names.setdefault(artist_id, artist_names[j] if j < len(artist_names) else "")
                pop_sum[artist_id] = pop_sum.get(artist_id, 0.0) + popularity
                pop_count[artist_id] = pop_count.get(artist_id, 0) + 1
    ids = np.array(sorted(names), dtype=object)
    mean_pop = np.array([pop_sum[i] / pop_count[i] for i in ids])
    rng = np.random.default_rng([seed, 3])
    reach = rng.normal(0.0, 1.0, len(ids))
    _write_artists(
        artists_path, ids, np.array([names[i] for i in ids], dtype=object), reach, mean_pop, rng
    )
    return len(ids)


# --------------------------------------------------------------------------------------------
# 2023 songs


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def write_songs_2023(path: Path, seed: int, rows: int = SONGS_2023_ROWS) -> None:
    rng = np.random.default_rng([seed, 4])
    n = rows - 4  # four duplicates are appended below
    words = np.array(
        [w for w in _WORDS if w.isascii()] + ["Señorita", "Café", "Corazón"], dtype=object
    )
    track = [
        f"{rng.choice(words).title()} {rng.choice(words)} {rng.choice(words)}" for _ in range(n)
    ]
    artist_count = rng.choice([1, 2, 3], size=n, p=[0.75, 0.2, 0.05])
    first_names = [x for x in _FIRST if _latin1(x)]
    last_names = [x for x in _LAST if _latin1(x)]
    # As in the real chart: a few artists have many songs (Zipf-like), each artist has a
    # lasting pull on streams, and older songs have had longer to collect streams.
    pool = np.array(
        [f"{rng.choice(first_names)} {rng.choice(last_names)}" for _ in range(max(n // 3, 2))],
        dtype=object,
    )
    pull = rng.normal(0.0, 0.7, len(pool))
    share = 1.0 / (np.arange(len(pool)) + 8.0) ** 1.2
    popularity_rank = rng.choice(len(pool), size=n, p=share / share.sum())
    lead = pool[popularity_rank]
    artists = [
        ", ".join([lead[i], *(rng.choice(pool) for _ in range(k - 1))])
        for i, k in enumerate(artist_count)
    ]
    year = np.where(rng.random(n) < 0.85, rng.integers(2019, 2024, n), rng.integers(1930, 2019, n))
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    month = np.where(year == 2023, np.minimum(month, 7), month)
    released = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}))
    # Days a song could be streamed: from its release, or from Spotify's launch for an older
    # song (counted from the release, a 1946 song had 22 billion streams against the real
    # file's largest, 3.7 billion).
    available = np.maximum(released, SPOTIFY_LAUNCH)
    days_out = np.maximum((SONGS_2023_SNAPSHOT - available).dt.days.to_numpy(), 1)
    dance = np.clip(rng.normal(67, 14, n), 20, 97).astype(int)
    energy = np.clip(rng.normal(64, 16, n), 10, 97).astype(int)
    log_streams = (
        16.9
        + 0.45 * np.log1p(days_out)
        + pull[popularity_rank]
        + 0.02 * (dance - 67) / 14
        + rng.normal(0, 0.55, n)
    )
    # The most streamed songs level off below a ceiling (the real file's largest is 3.7 billion):
    # a soft one, keeping the songs' order (a song at a tenth of the ceiling loses about 9%, at
    # a hundredth 1%).
    ceiling = np.log(STREAMS_CEILING)
    log_streams = ceiling - np.log1p(np.exp(ceiling - log_streams))
    streams = np.round(np.exp(log_streams)).astype(np.int64).astype(str).astype(object)
    # Playlist and chart reach are measured with the streams: they describe a hit.
    reach = log_streams - log_streams.mean() + rng.normal(0, 0.45, n)
    playlists = np.round(np.exp(7.6 + 1.0 * reach)).astype(int)
    spotify_charts = np.maximum(0, np.round(rng.exponential(12, n) * (reach > 0.5))).astype(int)
    apple_playlists = np.round(playlists / 80 * np.exp(rng.normal(0, 0.5, n))).astype(int)
    deezer_playlists = np.round(playlists / 12 * np.exp(rng.normal(0, 0.8, n))).astype(int)
    shazam = np.round(rng.exponential(60, n) * (rng.random(n) < 0.6)).astype(int)
    frame = pd.DataFrame(
        {
            "track_name": track,
            "artist(s)_name": artists,
            "artist_count": artist_count,
            "released_year": year,
            "released_month": month,
            "released_day": day,
            "in_spotify_playlists": playlists,
            "in_spotify_charts": spotify_charts,
            "streams": streams,
            "in_apple_playlists": apple_playlists,
            "in_apple_charts": np.round(rng.exponential(50, n)).astype(int),
            "in_deezer_playlists": [f"{v:,}" for v in deezer_playlists],
            "in_deezer_charts": np.round(rng.exponential(3, n)).astype(int),
            "in_shazam_charts": [f"{v:,}" for v in shazam],
            "bpm": np.clip(rng.normal(122, 28, n), 65, 206).astype(int),
            "key": np.array(_KEYS_2023, dtype=object)[rng.integers(0, 12, n)],
            "mode": np.where(rng.random(n) < 0.55, "Major", "Minor"),
            "danceability_%": dance,
            "valence_%": np.clip(rng.normal(51, 23, n), 4, 97).astype(int),
            "energy_%": energy,
            "acousticness_%": np.clip(rng.exponential(25, n), 0, 97).astype(int),
            "instrumentalness_%": np.where(rng.random(n) < 0.9, 0, rng.integers(1, 91, n)),
            "liveness_%": np.clip(rng.normal(18, 13, n), 3, 97).astype(int),
            "speechiness_%": np.clip(rng.exponential(10, n), 2, 64).astype(int),
        }
    )
    frame.loc[rng.choice(n, size=min(95, n // 10), replace=False), "key"] = ""
    frame.loc[rng.choice(n, size=min(50, n // 19), replace=False), "in_shazam_charts"] = ""
    bad = int(rng.integers(0, n))
    frame.loc[bad, "streams"] = (
        "BPM110KeyAModeMajorDanceability53Valence75Energy69Acousticness7Instrumentalness0"
        "Liveness17Speechiness3"
    )
    duplicates = frame.sample(n=4, random_state=int(rng.integers(0, 2**31)))
    # As in the real file, a duplicate may be a later listing of the song, with other counts
    # (the first line is kept, so the songs kept are those identical copies would leave).
    for column in ("in_spotify_playlists", "in_apple_playlists"):
        duplicates.iloc[:2, duplicates.columns.get_loc(column)] += rng.integers(1, 500, 2)
    frame = pd.concat([frame, duplicates], ignore_index=True)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="latin-1", newline="") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(SONGS_2023_COLUMNS)
            writer.writerows(frame.itertuples(index=False, name=None))

    _atomic_write_text(path, write)


# --------------------------------------------------------------------------------------------
# entry point


# What makes the generated files: a change to either makes them again (extract: make_again).
GENERATOR_FILES = ("generate.py", "schemas.py")


def generator_version() -> str:
    """The version of the generator's code (a hash of GENERATOR_FILES, 16 characters),
    recorded with each file it writes."""
    digest = hashlib.sha256()
    for name in GENERATOR_FILES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


def generate(
    raw_dir: Path, rows: int = REAL_TRACK_ROWS, seed: int = 42, overwrite: bool = False
) -> RawFiles:
    """Write whichever of the three raw files are missing (all of them with ``overwrite``).

    A tracks file that exists without artists.csv gets an artists.csv made for it, so real
    tracks can be used with generated artists.
    """
    if rows < 100:
        raise GenerateError(f"--rows must be at least 100, got {rows}")
    files = raw_files(raw_dir)
    existing_tracks = _existing(files.tracks)
    if overwrite or existing_tracks is None:
        log.info("generating %s tracks (seed %d) into %s", f"{rows:,}", seed, files.tracks.parent)
        for stale in (files.tracks.with_suffix(".csv.gz"), files.artists.with_suffix(".csv.gz")):
            stale.unlink(missing_ok=True)
        _write_pair(raw_dir, files, rows, seed)
    elif _existing(files.artists) is None:
        count = _write_artists_for(raw_dir, existing_tracks, files.artists, seed)
        log.info("wrote %s artists for the existing %s", f"{count:,}", existing_tracks)
    if overwrite or _existing(files.songs_2023) is None:
        files.songs_2023.with_suffix(".csv.gz").unlink(missing_ok=True)
        _write_songs(raw_dir, files.songs_2023, seed)
        log.debug("generated %s", files.songs_2023)  # extract lists every file it made
    return files


def _write_pair(raw_dir: Path, files: RawFiles, rows: int, seed: int) -> None:
    write_tracks_and_artists(files, rows, seed)
    made = {"version": generator_version(), "rows": rows, "seed": seed}
    origin.record(raw_dir, files.tracks, origin.GENERATED, made)
    origin.record(raw_dir, files.artists, origin.GENERATED, made)


def _write_artists_for(raw_dir: Path, tracks: Path, artists: Path, seed: int) -> int:
    count = write_artists_for_tracks(tracks, artists, seed)
    made = {"version": generator_version(), "seed": seed, "for": tracks.name}
    origin.record(raw_dir, artists, origin.GENERATED, made)
    return count


def _write_songs(raw_dir: Path, path: Path, seed: int) -> None:
    write_songs_2023(path, seed)
    made = {"version": generator_version(), "rows": SONGS_2023_ROWS, "seed": seed}
    origin.record(raw_dir, path, origin.GENERATED, made)


def outdated(raw_dir: Path) -> list[tuple[Path, dict | None]]:
    """The generated files still as the generator wrote them whose generator was another
    version than today's, each with how it was made (version, rows, seed; None: not recorded,
    by a generator from before 2026-12-07)."""
    files = raw_files(raw_dir)
    found = []
    for path in (files.tracks, files.artists, files.songs_2023):
        if not path.is_file() or origin.file_origin(raw_dir, path) != origin.GENERATED:
            continue  # missing (generated anyway), or the user's: never made again
        made = origin.how_made(raw_dir, path)
        if made is None or made.get("version") != generator_version():
            found.append((path, made))
    return found


def make_again(raw_dir: Path, dry_run: bool = False) -> list[Path]:
    """The generated files of an older generator (:func:`outdated`), made again with the rows
    and seed they were made with (the generator's fixes reached no folder made before them:
    their files were "present" and kept); the files made. A file whose making was not
    recorded is kept, with a line saying how to make it again. ``dry_run``: the files that
    would be made, nothing written or said (`status`)."""
    stale = dict(outdated(raw_dir))
    files = raw_files(raw_dir)
    kept = [p for p, made in stale.items() if made is None]
    say = (lambda *args: None) if dry_run else log.info
    plan: list[tuple[list[Path], Callable[[], object]]] = []  # (the files, what makes them)
    # The files as they are: plain or gzipped (the user's may be .gz; the generator writes
    # plain CSV), or missing (then generate() makes them, as for a new folder).
    tracks, artists = _existing(files.tracks), _existing(files.artists)
    generated = {
        p
        for p in (tracks, artists)
        if p is not None and origin.file_origin(raw_dir, p) == origin.GENERATED
    }
    pair_made = origin.how_made(raw_dir, files.tracks) if files.tracks in generated else None
    artists_made = stale.get(files.artists) or {}
    if {files.tracks, files.artists} & set(stale) and not {files.tracks, files.artists} & set(kept):
        if generated == {files.tracks, files.artists} and pair_made and "rows" in pair_made:
            # Generated together: made again together, with the tracks' rows and seed.
            rows, seed = int(pair_made["rows"]), int(pair_made["seed"])
            say(
                "the generator changed since %s and %s were made (%s tracks, seed %s): made again",
                files.tracks,
                files.artists,
                f"{rows:,}",
                seed,
            )
            plan.append(
                ([files.tracks, files.artists], lambda: _write_pair(raw_dir, files, rows, seed))
            )
        elif (
            generated == {files.artists} and tracks is not None and "for" in artists_made
        ):  # made for the user's tracks (plain or gzipped)
            seed = int(artists_made["seed"])
            user_tracks = tracks
            say(
                "the generator changed since %s was made for %s (seed %s): made again",
                files.artists,
                user_tracks.name,
                seed,
            )
            plan.append(
                (
                    [files.artists],
                    lambda: _write_artists_for(raw_dir, user_tracks, files.artists, seed),
                )
            )
        elif files.tracks in generated and artists is not None and files.artists not in generated:
            # Generated tracks beside the user's artists file: their ids go together.
            say(
                "%s was made by an older generator, beside your %s: kept (made again, its "
                "artist ids would no longer be those of your artists)",
                files.tracks,
                artists.name,
            )
        # Else a file of the pair is missing: generate() makes what is missing, as for a new
        # folder (a missing tracks.csv: both, from the seed and rows asked for).
    if stale.get(files.songs_2023):
        songs_seed = int(stale[files.songs_2023]["seed"])
        say(
            "the generator changed since %s was made (seed %s): made again",
            files.songs_2023,
            songs_seed,
        )
        plan.append(
            ([files.songs_2023], lambda: _write_songs(raw_dir, files.songs_2023, songs_seed))
        )
    if kept:
        it, was = ("them", "they were") if len(kept) > 1 else ("it", "it was")
        say(
            "%s: generated by a python_ml that did not record its generator's version, rows "
            "and seed (before 2026-12-07): kept as %s. To make %s with today's generator, "
            "delete %s and run again: missing files are generated (`run --rows N --seed S` as "
            "%s made: 586,672 tracks and seed 42 unless you gave others).",
            ", ".join(str(p) for p in kept),
            "they are" if len(kept) > 1 else "it is",
            it,
            it,
            was,
        )
    remade: list[Path] = []
    for paths, write in plan:
        if not dry_run:
            write()
        remade += paths
    return remade


def _existing(path: Path) -> Path | None:
    """The file, or its gzipped twin, if either exists."""
    for candidate in (path, path.with_suffix(path.suffix + ".gz")):
        if candidate.exists():
            return candidate
    return None
