"""Generated raw files record how the generator made them (its version, rows, seed), and a
folder made by an older generator gets its generated files made again as they were made: the
generator's fixes (the 2023 songs' 22 billion streams) reached no folder made before them,
whose files were "present" and kept. The user's files are never made again."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from python_ml.raw import extract, generate, origin

NEW = "0123456789abcdef"


def _made(raw: Path) -> dict[str, dict]:
    entries = json.loads((raw / origin.MANIFEST).read_text())
    return {name: entry.get("generator") for name, entry in entries.items()}


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    generate.generate(folder, rows=300, seed=7)
    return folder


def test_each_generated_file_records_how_it_was_made(raw: Path) -> None:
    version = generate.generator_version()
    made = _made(raw)
    assert made["spotify_600k/tracks.csv"] == {"version": version, "rows": 300, "seed": 7}
    assert made["spotify_600k/artists.csv"] == made["spotify_600k/tracks.csv"]
    assert made["spotify_2023/spotify-2023.csv"]["seed"] == 7
    assert generate.outdated(raw) == [] and generate.make_again(raw) == []


def test_an_older_generators_files_are_made_again_as_they_were_made(
    raw: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    files = generate.raw_files(raw)
    before = {p: p.read_bytes() for p in (files.tracks, files.artists, files.songs_2023)}
    songs = files.songs_2023
    songs.write_bytes(songs.read_bytes() + b"a line of the user's\r\n")  # now the user's
    monkeypatch.setattr(generate, "generator_version", lambda: NEW)
    assert {p for p, _ in generate.outdated(raw)} == {files.tracks, files.artists}
    with caplog.at_level(logging.INFO):
        report = extract.extract(raw, offline=True)
    assert set(report.generated) == {files.tracks, files.artists}
    assert "made again" in caplog.text and "(300 tracks, seed 7)" in caplog.text
    assert songs in report.present  # the user's file: kept as it is
    made = _made(raw)
    assert made["spotify_600k/tracks.csv"] == {"version": NEW, "rows": 300, "seed": 7}
    # The same code made the same bytes; their origin is still the generator.
    assert files.tracks.read_bytes() == before[files.tracks]
    assert origin.file_origin(raw, files.tracks) == origin.GENERATED
    assert generate.outdated(raw) == []


def test_artists_made_for_the_users_tracks_are_made_again_for_them(
    raw: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = generate.raw_files(raw)
    lines = files.tracks.read_bytes().splitlines(keepends=True)
    files.tracks.write_bytes(b"".join(lines[:-1]))  # a row less: now the user's file
    files.artists.unlink()
    generate.generate(raw, rows=300, seed=7)  # artists made for the user's tracks
    assert _made(raw)["spotify_600k/artists.csv"]["for"] == "tracks.csv"
    monkeypatch.setattr(generate, "generator_version", lambda: NEW)
    stale = {p for p, _ in generate.outdated(raw)}
    assert files.tracks not in stale and files.artists in stale
    assert set(generate.make_again(raw)) == {files.artists, files.songs_2023}
    assert _made(raw)["spotify_600k/artists.csv"]["version"] == NEW
    assert origin.file_origin(raw, files.tracks) == origin.USER


def test_files_whose_making_was_not_recorded_are_kept_and_it_says_how_to_remake_them(
    raw: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    manifest = raw / origin.MANIFEST
    entries = json.loads(manifest.read_text())
    for entry in entries.values():
        entry.pop("generator")
    manifest.write_text(json.dumps(entries))
    files = generate.raw_files(raw)
    stamp = files.tracks.stat().st_mtime_ns
    with caplog.at_level(logging.INFO):
        assert generate.make_again(raw) == []
    assert files.tracks.stat().st_mtime_ns == stamp
    assert "did not record its generator's version" in caplog.text
    assert "delete them and run again" in caplog.text


def test_a_gzipped_or_missing_file_beside_an_older_generators_is_handled(
    raw: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """make_again wrote tracks.csv whatever was there: a user's tracks.csv.gz, or a deleted
    tracks.csv, stopped extract with FileNotFoundError on every run."""
    import gzip
    import shutil

    files = generate.raw_files(raw)
    monkeypatch.setattr(generate, "generator_version", lambda: NEW)
    # A generated tracks.csv deleted to be made again: generate() makes the pair, as new.
    files.tracks.unlink()
    assert generate.make_again(raw) == [files.songs_2023]
    report = extract.extract(raw, offline=True)
    assert files.tracks in report.generated
    assert _made(raw)["spotify_600k/tracks.csv"]["version"] == NEW
    assert _made(raw)["spotify_600k/artists.csv"]["version"] == NEW
    # The user's tracks.csv.gz beside artists made for it by an older generator.
    with files.tracks.open("rb") as plain, gzip.open(f"{files.tracks}.gz", "wb") as packed:
        shutil.copyfileobj(plain, packed)
    files.tracks.unlink()
    files.artists.unlink()
    generate.generate(raw, rows=300, seed=7)
    monkeypatch.setattr(generate, "generator_version", lambda: "another version!")
    assert set(generate.make_again(raw)) == {files.artists, files.songs_2023}
    assert _made(raw)["spotify_600k/artists.csv"]["for"] == "tracks.csv.gz"
    assert extract.extract(raw, offline=True).generated == []  # nothing more to make
    # Generated tracks beside the user's artists.csv.gz: kept, and said.
    gz = Path(f"{files.tracks}.gz")
    gz.unlink()
    generate.generate(raw, rows=300, seed=7)  # tracks.csv and its artists.csv, generated
    with files.artists.open("rb") as plain, gzip.open(f"{files.artists}.gz", "wb") as packed:
        shutil.copyfileobj(plain, packed)
    files.artists.unlink()
    monkeypatch.setattr(generate, "generator_version", lambda: "a third version")
    with caplog.at_level(logging.INFO):
        assert generate.make_again(raw) == [files.songs_2023]
    assert "beside your artists.csv.gz: kept" in caplog.text
    assert not files.artists.exists()
