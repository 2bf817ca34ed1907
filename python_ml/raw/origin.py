"""Where each raw file came from: Kaggle, the built-in generator, or the user.

``generate`` and ``extract`` record each file they write in ``<raw dir>/origin.json`` with its
size, modification time and SHA-256; a file that is not listed there (or whose bytes changed
since: a hand edit that keeps the size too) was put in place by hand. The content is hashed only
when the size matches and the modification time does not (a copied folder, an edit).
Every result a reader sees carries the origin of the data it was computed on, so figures from
generated data are never mistaken for figures about real songs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MANIFEST = "origin.json"
KAGGLE = "kaggle"
GENERATED = "generated"
USER = "user files"

# The one wording of "these figures come from generated data", for the log, the report and the
# app (the marts carry the origin itself, in their data_origin column).
GENERATED_WARNING = (
    "the data is the built-in GENERATED data (synthetic tracks with the Kaggle files' schema), "
    "not Kaggle's: the figures show that the pipeline works, not how real songs behave"
)
GENERATED_NOTICE = (
    "These results come from the built-in generated data (synthetic tracks with the Kaggle "
    "files' schema), not from Kaggle's Spotify datasets: they show that the pipeline works, not "
    "how real songs behave. Give Kaggle credentials and run `make run` for the real datasets."
)


def record(raw_dir: Path, path: Path, origin: str, made: dict[str, Any] | None = None) -> None:
    """Note that ``path`` (inside ``raw_dir``) was just written by ``origin``; ``made``: how
    the generator made it (its version, rows and seed: raw/generate.py)."""
    manifest = raw_dir / MANIFEST
    entries = _read(manifest)
    stat = path.stat()
    entries[path.relative_to(raw_dir).as_posix()] = {
        "origin": origin,
        "bytes": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": file_sha256(path),
        **({"generator": made} if made else {}),
    }
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(manifest)


def how_made(raw_dir: Path, path: Path) -> dict[str, Any] | None:
    """How the generator made ``path`` (version, rows, seed), as recorded when it wrote it;
    None when it did not write it or recorded nothing of it (before 2026-12-07)."""
    entry = _read(raw_dir / MANIFEST).get(path.relative_to(raw_dir).as_posix()) or {}
    made = entry.get("generator")
    return made if isinstance(made, dict) else None


def _read(manifest: Path) -> dict[str, dict]:
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s cannot be read (%s): the raw files' origin is unknown", manifest, exc)
        return {}
    return entries if isinstance(entries, dict) else {}


SAME_WRITE_NS = 2_000_000_000  # a file's status change this soon after its last write: that write


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in chunks; once per version of the file (size
    and modification time) per process: the loader and the origin check share it."""
    stat = path.stat()
    return _sha256_of(str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@lru_cache(maxsize=64)
def _sha256_of(path: str, size: int, mtime_ns: int, ctime_ns: int) -> str:
    """A file's SHA-256, once per version of it (size, modification and status-change times:
    a file replaced by `cp -p` keeps the old modification time) per process."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def file_origin(raw_dir: Path, path: Path) -> str:
    entry = _read(raw_dir / MANIFEST).get(path.relative_to(raw_dir).as_posix())
    if not entry or not path.exists() or entry.get("bytes") != path.stat().st_size:
        return USER
    # The same size and modification time as written, and no status change since (`cp -p`
    # or `rsync -a` of another file keeps an old modification time, not an old status change):
    # the same file, not read again. Entries from before the hash was recorded are compared by
    # size alone.
    stat = path.stat()
    unchanged = (
        entry.get("mtime_ns") == stat.st_mtime_ns
        and stat.st_ctime_ns - stat.st_mtime_ns <= SAME_WRITE_NS
    )
    if not unchanged and "sha256" in entry and entry["sha256"] != file_sha256(path):
        return USER
    return str(entry.get("origin", USER))


def data_origin(raw_dir: Path, paths: list[Path]) -> str:
    """One word when every file shares an origin (``generated``), else each file's origin."""
    return _in_words({p.name: file_origin(raw_dir, p) for p in paths if p.exists()})


def _in_words(origins: dict[str, str]) -> str:
    """{file name: origin} in words (the wording of the macro raw_data_origin too)."""
    if not origins:
        return USER
    if len(set(origins.values())) == 1:
        return next(iter(origins.values()))
    return ", ".join(f"{name}: {origin}" for name, origin in sorted(origins.items()))


# The raw tables of each task's data.
TRACKS_TABLES = ("spotify_600k.tracks", "spotify_600k.artists")
SONGS_TABLES = ("spotify_2023.songs",)


def loaded_origin(con: Any, tables: tuple[str, ...]) -> str | None:
    """The origin of the files loaded into these raw tables, as ``raw.load_log`` recorded it
    when they were loaded (what the warehouse holds, whatever the folder holds now); None when
    the log does not say (nothing loaded yet, or a log from before it recorded origins)."""
    import duckdb

    try:
        rows = con.execute(
            "select file_path, data_origin from raw.load_log "
            "where dataset || '.' || table_name in (select unnest(?))",
            [list(tables)],
        ).fetchall()
    except duckdb.Error:  # no log, or one without data_origin: the folder says
        return None
    if len(rows) < len(tables) or any(origin is None for _, origin in rows):
        return None
    return _in_words({Path(path).name: origin for path, origin in rows})


def tracks_origin(raw_dir: Path, con: Any = None) -> str:
    """The origin of the tracks task's data (tracks.csv and artists.csv): as loaded into the
    open warehouse ``con`` when it says, else the raw folder's files."""
    loaded = loaded_origin(con, TRACKS_TABLES) if con is not None else None
    if loaded is not None:
        return loaded
    folder = raw_dir / "spotify_600k"
    paths = sorted(folder.glob("tracks.csv*")) + sorted(folder.glob("artists.csv*"))
    return data_origin(raw_dir, paths)


def songs_origin(raw_dir: Path, con: Any = None) -> str:
    """The origin of the 2023 songs, as :func:`tracks_origin` finds it."""
    loaded = loaded_origin(con, SONGS_TABLES) if con is not None else None
    if loaded is not None:
        return loaded
    return data_origin(raw_dir, sorted((raw_dir / "spotify_2023").glob("spotify-2023.csv*")))


def warehouse_origin(settings: Any, tables: tuple[str, ...]) -> str:
    """:func:`tracks_origin` or :func:`songs_origin` of ``settings``' warehouse and folder."""
    from python_ml.warehouse import db

    find = tracks_origin if tables == TRACKS_TABLES else songs_origin
    if settings.warehouse.exists():
        with db.connect(settings.warehouse) as con:
            return find(settings.raw_dir, con)
    return find(settings.raw_dir)


def _origins(origin: str) -> set[str]:
    """The origins in a data origin: one word when every file shares it (``generated``), else
    each file's (``artists.csv: generated, tracks.csv: user files``)."""
    if ": " not in origin:
        return {origin}
    return {part.split(": ", 1)[1] for part in origin.split(", ")}


def generated_files(origin: str) -> list[str]:
    """The files of a data origin that are the built-in generated data, by name
    (``artists.csv: generated, tracks.csv: user files`` -> ``["artists.csv"]``); none for a
    one-word origin, which names no file."""
    if ": " not in origin:
        return []
    parts = (part.split(": ", 1) for part in origin.split(", "))
    return [name for name, found in parts if found == GENERATED]


def files_origin(origin: str, names: tuple[str, ...]) -> str:
    """The origin of some of the files behind a data origin, named without their compression
    (``artists.csv: generated, tracks.csv.gz: user files``, ``("tracks.csv",)`` -> ``user
    files``): what a figure drawn from those files alone carries. A one-word origin is every
    file's; an origin that names none of them is returned whole (it cannot say less)."""
    if ": " not in origin:
        return origin
    parts = dict(part.split(": ", 1) for part in origin.split(", "))
    kept = {
        name: found
        for name, found in parts.items()
        if any(name == n or name.startswith(f"{n}.") for n in names)
    }
    return _in_words(kept) if kept else origin


def draws_on_generated(origin: str) -> bool:
    """Some or all of the files behind it are the built-in generated data."""
    return GENERATED in _origins(origin)


def marked_apart(part_origin: str, whole_origin: str) -> bool:
    """A part of a result (a feature, a chart's bar) is marked generated on its own: its data
    is generated, wholly or in part, beside data that is not (the user's tracks beside the
    generated artists.csv). With every file generated the whole result says so once (the
    banner, the corner note, the data origin), and nothing is marked again beside each part."""
    return draws_on_generated(part_origin) and not is_generated(whole_origin)


def generated_artists(origin: str) -> bool:
    """artists.csv is the built-in generated data beside files that are not (a user's
    tracks.csv): the artist features are made up, the tracks' own columns are not."""
    return is_partly_generated(origin) and any(
        name.startswith("artists.csv") for name in generated_files(origin)
    )


def is_generated(origin: str) -> bool:
    """Every file behind it is the built-in generated data."""
    return _origins(origin) == {GENERATED}


def is_partly_generated(origin: str) -> bool:
    """Some files behind it are generated and some are not (a user's tracks.csv beside the
    generated artists.csv): its figures are neither real nor wholly synthetic."""
    found = _origins(origin)
    return GENERATED in found and found != {GENERATED}


def partly_generated_notice(origin: str) -> str:
    """What is said of figures from partly generated data, naming each file's origin."""
    return (
        f"Part of the data is the built-in generated data ({origin}): the figures that draw on "
        "it show that the pipeline works, not how real songs behave."
    )
