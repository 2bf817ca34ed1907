import json
import shutil
from pathlib import Path

import pytest

from python_ml.raw import extract, generate


class FakeKaggleApi:
    """Stands in for kaggle's KaggleApi: 'downloads' from a folder of prepared files."""

    def __init__(self, files_by_ref: dict[str, list[Path]], fail: Exception | None = None):
        self.files_by_ref = files_by_ref
        self.fail = fail
        self.calls: list[str] = []

    def dataset_download_files(self, ref: str, path: str, unzip: bool, quiet: bool) -> None:
        self.calls.append(ref)
        if self.fail is not None:
            raise self.fail
        for source in self.files_by_ref[ref]:
            shutil.copy(source, Path(path) / source.name)


@pytest.fixture
def kaggle_files(small_raw_dir: Path) -> dict[str, list[Path]]:
    return {
        "yamaerenay/spotify-dataset-19212020-600k-tracks": [
            small_raw_dir / "spotify_600k" / "tracks.csv",
            small_raw_dir / "spotify_600k" / "artists.csv",
        ],
        "nelgiriyewithana/top-spotify-songs-2023": [
            small_raw_dir / "spotify_2023" / "spotify-2023.csv",
        ],
    }


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))


@pytest.fixture
def env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "secret-key-123")


def test_credentials_from_environment_or_kaggle_json(tmp_path: Path) -> None:
    assert extract.kaggle_credentials({}, home=tmp_path) is None
    assert extract.kaggle_credentials({"KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k"}) == "environment"
    token = tmp_path / ".kaggle" / "kaggle.json"
    token.parent.mkdir()
    token.write_text(json.dumps({"username": "u", "key": "k"}))
    assert extract.kaggle_credentials({}, home=tmp_path) == str(token)


def test_without_credentials_it_explains_and_uses_builtin_data(
    tmp_path: Path, no_credentials: None, caplog: pytest.LogCaptureFixture
) -> None:
    def must_not_be_called():
        raise AssertionError("the kaggle package must not be touched without credentials")

    report = extract.extract(tmp_path / "raw", rows=300, api_factory=must_not_be_called)
    assert report.used_builtin_data
    assert len(report.generated) == 3
    assert "~/.kaggle/kaggle.json" in caplog.text and "KAGGLE_KEY" in caplog.text
    assert "chmod 600" in caplog.text
    assert extract.check_raw_files(tmp_path / "raw")


def test_present_files_are_kept_and_nothing_is_downloaded(
    tmp_path: Path, env_credentials: None, kaggle_files: dict, caplog: pytest.LogCaptureFixture
) -> None:
    raw = tmp_path / "raw"
    generate.generate(raw, rows=300, seed=5)
    before = {p: p.stat().st_mtime_ns for p in raw.rglob("*.csv")}
    api = FakeKaggleApi(kaggle_files)
    caplog.set_level("INFO")
    report = extract.extract(raw, api_factory=lambda: api)
    assert api.calls == []
    assert caplog.text.count("(kept; --force downloads it again)") == 3  # credentials: it would
    assert not report.downloaded and not report.generated
    assert {p: p.stat().st_mtime_ns for p in raw.rglob("*.csv")} == before


def test_rows_asked_for_on_a_folder_holding_the_files_are_said_to_be_unused(
    tmp_path: Path, no_credentials: None, caplog: pytest.LogCaptureFixture
) -> None:
    """`run --rows 20000` where the files are: the run was on them, said only as "present"."""
    raw = tmp_path / "raw"
    generate.generate(raw, rows=300, seed=5)
    report = extract.extract(raw, offline=True, rows=20_000)
    assert not report.generated
    assert f"--rows 20,000 not used: {raw} holds the raw files, which are kept" in caplog.text
    caplog.clear()
    extract.extract(raw, offline=True)  # no --rows: nothing to say
    assert "not used" not in caplog.text


def test_force_offline_keeps_the_files_and_says_so(
    tmp_path: Path, no_credentials: None, caplog: pytest.LogCaptureFixture
) -> None:
    """`extract --force --offline` where every file is: nothing to download, nothing generated
    (it warned "using built-in generated data for: " with no file named)."""
    raw = tmp_path / "raw"
    generate.generate(raw, rows=300, seed=5)
    before = {p: p.stat().st_mtime_ns for p in raw.rglob("*.csv")}
    caplog.set_level("INFO")
    report = extract.extract(raw, force=True, offline=True)
    assert not report.generated and not report.downloaded
    assert sorted(report.present) == sorted(before)
    assert "using built-in generated data" not in caplog.text
    assert caplog.text.count("(kept: --offline downloads nothing)") == 3
    assert {p: p.stat().st_mtime_ns for p in raw.rglob("*.csv")} == before
    # Not offline, but without credentials: --force downloads nothing either, and says why
    # (it said "--offline downloads nothing" to a user who had not given --offline).
    caplog.clear()
    report = extract.extract(raw, force=True)
    assert not report.generated and not report.downloaded
    assert caplog.text.count("(kept: no Kaggle credentials)") == 3
    assert "--offline downloads nothing" not in caplog.text
    assert {p: p.stat().st_mtime_ns for p in raw.rglob("*.csv")} == before
    caplog.clear()
    extract.extract(raw)  # present files: no hint of a --force that would download nothing
    assert caplog.text.count("(kept)") == 3 and "--force downloads" not in caplog.text


def test_missing_datasets_are_downloaded_and_checked(
    tmp_path: Path, env_credentials: None, kaggle_files: dict, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeKaggleApi(kaggle_files)
    report = extract.extract(tmp_path / "raw", api_factory=lambda: api)
    assert sorted(api.calls) == sorted(kaggle_files)
    assert len(report.downloaded) == 3
    for path in report.downloaded:
        assert (
            path.read_bytes()
            == (
                next(p for files in kaggle_files.values() for p in files if p.name == path.name)
            ).read_bytes()
        )
    assert not list((tmp_path / "raw").rglob(".download-*")), "temporary folders are removed"
    assert "secret-key-123" not in caplog.text


def test_force_downloads_again(tmp_path: Path, env_credentials: None, kaggle_files: dict) -> None:
    raw = tmp_path / "raw"
    generate.generate(raw, rows=300, seed=5)
    api = FakeKaggleApi(kaggle_files)
    extract.extract(raw, force=True, api_factory=lambda: api)
    assert len(api.calls) == 2
    assert (raw / "spotify_600k" / "tracks.csv").read_bytes() == kaggle_files[
        "yamaerenay/spotify-dataset-19212020-600k-tracks"
    ][0].read_bytes()


def test_failed_download_leaves_nothing_behind(
    tmp_path: Path, env_credentials: None, kaggle_files: dict
) -> None:
    raw = tmp_path / "raw"
    api = FakeKaggleApi(kaggle_files, fail=RuntimeError("404 Client Error: Not Found"))
    with pytest.raises(extract.ExtractError, match="was not found on Kaggle"):
        extract.extract(raw, api_factory=lambda: api)
    assert not [p for p in raw.rglob("*") if p.is_file()]


def test_no_network_is_reported(tmp_path: Path, env_credentials: None, kaggle_files: dict) -> None:
    api = FakeKaggleApi(kaggle_files, fail=ConnectionError("Failed to resolve 'www.kaggle.com'"))
    with pytest.raises(extract.ExtractError, match="could not be reached"):
        extract.extract(tmp_path / "raw", api_factory=lambda: api)


def test_a_download_with_a_renamed_column_is_refused(
    tmp_path: Path, env_credentials: None, kaggle_files: dict
) -> None:
    bad = tmp_path / "bad" / "spotify-2023.csv"
    bad.parent.mkdir()
    original = kaggle_files["nelgiriyewithana/top-spotify-songs-2023"][0]
    bad.write_bytes(original.read_bytes().replace(b"streams", b"stream_count", 1))
    kaggle_files["nelgiriyewithana/top-spotify-songs-2023"] = [bad]
    api = FakeKaggleApi(kaggle_files)
    with pytest.raises(extract.ExtractError, match=r"missing columns \['streams'\]"):
        extract.extract(tmp_path / "raw", api_factory=lambda: api)
    assert not (tmp_path / "raw" / "spotify_2023" / "spotify-2023.csv").exists()


def test_empty_and_duplicated_files_are_named(tmp_path: Path, no_credentials: None) -> None:
    raw = tmp_path / "raw"
    generate.generate(raw, rows=300, seed=5)
    songs = raw / "spotify_2023" / "spotify-2023.csv"
    songs_text = songs.read_bytes()
    songs.write_bytes(b"")
    with pytest.raises(extract.ExtractError, match=f"{songs} is empty") as empty:
        extract.check_raw_files(raw)
    # Not "delete it and run extract" alone: without credentials that writes generated data.
    assert str(empty.value).endswith(
        "Copy the complete file there again (e.g. from Kaggle's download), or delete it and run "
        "`python -m python_ml extract`: that downloads it with Kaggle credentials, and without "
        "them writes built-in generated data in its place."
    )
    songs.write_bytes(b"\xef\xbb\xbf\n")  # a byte-order mark alone: as empty
    with pytest.raises(extract.ExtractError, match=f"{songs} is empty"):
        extract.check_raw_files(raw)
    songs.write_bytes(songs_text)
    tracks = raw / "spotify_600k" / "tracks.csv"
    # A header alone (extract said it was present and kept; load then refused it), however
    # its lines end, and with blank lines after it.
    kept = tracks.read_bytes()
    header = kept.split(b"\n", 1)[0]
    for text in (header, header + b"\r\n", header + b"\r\r\n  \n"):
        tracks.write_bytes(text)
        with pytest.raises(extract.ExtractError, match=f"{tracks} has a header but no rows"):
            extract.check_raw_files(raw)
    tracks.write_bytes(header + b"\r" + kept.split(b"\n", 1)[1].replace(b"\n", b"\r"))
    assert extract.check_raw_files(raw)  # an old Mac's line ends: rows
    tracks.write_bytes(kept)
    shutil.copy(tracks, tracks.with_name("tracks.csv.gz"))
    with pytest.raises(extract.ExtractError, match="Remove one of them"):
        extract.check_raw_files(raw)


def test_a_file_in_another_encoding_is_named(tmp_path: Path, no_credentials: None) -> None:
    raw = tmp_path / "raw"
    generate.generate(raw, rows=300, seed=5)
    tracks = raw / "spotify_600k" / "tracks.csv"
    text = tracks.read_text(encoding="utf-8")
    tracks.write_bytes(text.encode("utf-16"))
    with pytest.raises(extract.ExtractError, match=r"tracks.csv is UTF-16 text .*'CSV UTF-8"):
        extract.check_raw_files(raw)
    tracks.write_bytes(text.replace("name", "n\u00e4me", 1).encode("latin-1", "replace"))
    with pytest.raises(extract.ExtractError, match=r"tracks.csv: the header is not valid utf-8"):
        extract.check_raw_files(raw)


def test_a_users_tracks_beside_generated_artists_is_said_to_be_partly_generated(
    tmp_path: Path, small_raw_dir: Path, no_credentials: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Kaggle's tracks.csv (and the 2023 file) without artists.csv: only artists.csv is
    generated. The step said "using built-in generated data for: <the 600k dataset>" and "the
    data is the built-in GENERATED data", of a folder whose tracks were the user's."""
    from dataclasses import replace

    from python_ml.raw import origin
    from python_ml.settings import load_settings

    raw = tmp_path / "raw"
    for relpath in ("spotify_600k/tracks.csv", "spotify_2023/spotify-2023.csv"):
        (raw / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(small_raw_dir / relpath, raw / relpath)  # no origin record: the user's
    report = extract.extract_step(replace(load_settings(), raw_dir=raw), offline=True)
    assert [p.relative_to(raw).as_posix() for p in report.generated] == ["spotify_600k/artists.csv"]
    assert "using built-in generated data for: spotify_600k/artists.csv\n" in caplog.text
    assert (
        "Part of the data is the built-in generated data (artists.csv: generated, "
        "spotify-2023.csv: user files, tracks.csv: user files)" in caplog.text
    )
    assert origin.GENERATED_WARNING not in caplog.text


def test_a_compressed_file_cut_short_after_its_header_is_named(
    tmp_path: Path, no_credentials: None
) -> None:
    """Its header reads, then the rest does not: named with the fix, not gzip's EOFError."""
    import gzip

    raw = tmp_path / "raw"
    generate.generate(raw, rows=300, seed=5)
    tracks = raw / "spotify_600k" / "tracks.csv"
    packed = gzip.compress(tracks.read_bytes())
    tracks.unlink()
    cut = tracks.with_name("tracks.csv.gz")
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(extract.ExtractError, match=f"{cut}: cannot be read .*damaged"):
        extract.check_raw_files(raw)
