"""Bad raw input, as a new user makes it: each case makes the input, runs the real command and
checks the exit code, the message (file, line or key named, no traceback) and that
rows read = rows kept + rows rejected."""

from __future__ import annotations

import csv
import gzip
import io
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import PROJECT_ROOT, dbt

from python_ml.raw import schemas
from python_ml.tracks.config import CONFIG_DIR
from python_ml.warehouse import load


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "python_ml", *args],
        cwd=PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def raw(small_raw_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(small_raw_dir, target)
    return target


def env_for(raw: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "MUSIC_RAW_DIR": str(raw),
        "MUSIC_WAREHOUSE": str(tmp_path / "wh" / "warehouse.duckdb"),
        "MUSIC_MLFLOW_DIR": str(tmp_path / "mlflow"),
        "MUSIC_REPORTS_DIR": str(tmp_path / "reports"),
    }


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def _spoil_tracks(path: Path) -> dict[int, str]:
    """Plant one of each malformed row; returns {file line: expected error type}."""
    lines = _lines(path)
    header = lines[0].split(",")
    assert header == schemas.TRACK_COLUMNS
    lines[4] = lines[4] + ",extra"  # line 5: a field too many
    lines[6] = lines[6].rsplit(",", 1)[0]  # line 7: a field too few
    lines[8] = lines[8].replace("[", "\u00ff[", 1)  # line 9: valid, non-ASCII
    # line 11: a quoted line break inside the title (valid: the row is kept)
    fields = next(iter(csv.reader([lines[10]])))
    fields[1] = "Two\nLines"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    lines[10] = buffer.getvalue().removesuffix("\n")
    lines.insert(14, "")  # a blank line: the file's line 16 (after the quoted break)
    text = "\n".join(lines)
    data = text.encode("utf-8")
    # line 20 (file line, after the quoted break and the blank line): an invalid UTF-8 byte
    physical = data.split(b"\n")
    physical[19] = physical[19].replace(b",", b",\xff", 1)
    path.write_bytes(b"\n".join(physical))
    return {5: "TOO MANY COLUMNS", 7: "MISSING COLUMNS", 20: "INVALID ENCODING"}


def test_malformed_rows_are_quarantined_with_their_file_line_and_the_rest_builds(
    raw: Path, tmp_path: Path
) -> None:
    expected = _spoil_tracks(raw / "spotify_600k" / "tracks.csv")
    env = env_for(raw, tmp_path)
    result = cli("build", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "do not parse and are quarantined" in result.stderr
    warehouse = Path(env["MUSIC_WAREHOUSE"])
    rejected = query(
        warehouse,
        "select file_line, rejection_detail, raw_text from marts.rpt_rejected_rows "
        "where source_table = 'spotify_600k.tracks' and rejection_reason = 'unparseable row' "
        "order by file_line",
    )
    assert {
        line: detail.split(":")[0].upper().split(" AT ")[0] for line, detail, _ in rejected
    } == (expected)
    (encoding,) = [detail for line, detail, _ in rejected if line == 20]
    assert encoding.startswith("invalid encoding at column name: the line is not UTF-8 text: ")
    assert "save the file as UTF-8 (its other lines are read)." in encoding
    physical = (raw / "spotify_600k" / "tracks.csv").read_bytes().split(b"\n")
    for line, _, text in rejected:
        assert text.split("\n")[0][:20] == physical[line - 1].decode("utf-8", "replace")[:20]
    counts = query(
        warehouse,
        "select distinct rows_read, rows_kept, rows_rejected from marts.rpt_source_row_counts "
        "where source_table = 'spotify_600k.tracks'",
    )
    log = query(
        warehouse,
        "select rows_read, rows_kept, rows_rejected from raw.load_log where table_name = 'tracks'",
    )
    assert counts[0][0] == counts[0][1] + counts[0][2] == log[0][0] == log[0][1] + log[0][2]
    assert log[0][2] == 3
    # Kept rows keep the file's lines: the row after the quoted break and the blank line.
    title = query(
        warehouse,
        "select file_line from raw.spotify_600k__tracks where name = 'Two\nLines'",
    )
    assert title == [(11,)]
    around = query(
        warehouse,
        "select file_line from raw.spotify_600k__tracks where file_line between 13 and 18 "
        "order by file_line",
    )
    assert around == [(13,), (14,), (15,), (17,), (18,)]


def test_every_line_is_kept_or_quarantined_under_its_own_number(raw: Path, tmp_path: Path) -> None:
    """A quote never closed (line 101) would take the following lines into one rejected
    record, and a line over DuckDB's 2 MB limit (line 201) stopped the load: now each is one
    quarantined line, and every other line of the file is kept under its own number."""
    from python_ml.raw.schemas import ARTISTS, TRACKS
    from python_ml.settings import Settings

    path = raw / "spotify_600k" / "tracks.csv"
    lines = _lines(path)
    lines[100] = lines[100].replace(",", ',"', 1)
    lines[200] = lines[200] + "," + "x" * 2_100_000
    path.write_text("\n".join(lines), encoding="utf-8")
    data_lines = {i + 1 for i, line in enumerate(lines) if i > 0 and line.strip()}
    warehouse = tmp_path / "wh.duckdb"
    settings = Settings(PROJECT_ROOT, raw, warehouse, tmp_path / "m", tmp_path)
    loaded = load.load_raw(settings, [TRACKS, ARTISTS], enforce_threshold=False)[0]
    assert (loaded.rows_read, loaded.rows_rejected) == (len(data_lines), 2)
    kept = {r[0] for r in query(warehouse, "select file_line from raw.spotify_600k__tracks")}
    rejected = dict(query(warehouse, "select file_line, error_type from raw.load_rejects"))
    assert rejected == {101: "UNQUOTED VALUE", 201: "LINE SIZE OVER MAXIMUM"}
    assert kept | set(rejected) == data_lines and not kept & set(rejected)
    # The lines after the broken quote are the file's own rows, at their own lines.
    for line in (102, 103, 150):
        row_id = query(
            warehouse, f"select id from raw.spotify_600k__tracks where file_line = {line}"
        )
        assert row_id == [(lines[line - 1].split(",")[0],)]
    text = query(warehouse, "select length(raw_text) from raw.load_rejects where file_line = 201")
    assert 0 < text[0][0] <= 10_000  # a cut of the long line, not the 2 MB


def test_a_bad_byte_after_a_broken_quote_is_quarantined_not_altered(
    raw: Path, tmp_path: Path
) -> None:
    """The lines a broken quote took in are read again from the file's own bytes: a byte that
    is not UTF-8 two lines later is quarantined under its line, as it is without the quote, and
    never kept with '?' in its place."""
    from python_ml.raw.schemas import ARTISTS, TRACKS
    from python_ml.settings import Settings

    path = raw / "spotify_600k" / "tracks.csv"
    lines = [line.encode("utf-8") for line in _lines(path)]
    lines[2] = b'"' + lines[2]  # line 3: a quote never closed
    first, rest = lines[4].split(b",", 1)
    lines[4] = first + b"," + b"Caf\xe9 " + rest  # line 5: a latin-1 byte in the name
    path.write_bytes(b"\n".join(lines))
    warehouse = tmp_path / "wh.duckdb"
    settings = Settings(PROJECT_ROOT, raw, warehouse, tmp_path / "m", tmp_path)
    load.load_raw(settings, [TRACKS, ARTISTS], enforce_threshold=False)
    rejected = dict(query(warehouse, "select file_line, error_type from raw.load_rejects"))
    assert rejected == {3: "UNQUOTED VALUE", 5: "INVALID ENCODING"}
    kept = {r[0] for r in query(warehouse, "select file_line from raw.spotify_600k__tracks")}
    assert {2, 4, 6, 7} <= kept and not kept & {3, 5}
    assert query(
        warehouse, "select count(*) from raw.spotify_600k__tracks where name like '%?%'"
    ) == [(0,)]


def test_a_rejected_share_above_the_threshold_stops_and_changes_nothing(
    raw: Path, tmp_path: Path
) -> None:
    env = env_for(raw, tmp_path)
    assert cli("load", env=env).returncode == 0
    before = query(Path(env["MUSIC_WAREHOUSE"]), "select count(*) from raw.spotify_600k__tracks")
    path = raw / "spotify_600k" / "tracks.csv"
    lines = _lines(path)
    for i in range(1, 101):  # 100 of 4,000 rows = 2.5%
        lines[i] = lines[i] + ",extra"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = cli("load", env=env)
    assert result.returncode == 1
    assert f"{path}: 2.5% of its rows (100 of 4,000) do not parse, above the 1.0% allowed" in (
        result.stderr
    )
    assert "line 2: too many columns" in result.stderr and "Traceback" not in result.stderr
    assert "--vars '{max_rejected_share: 0.05}'" in result.stderr
    assert query(Path(env["MUSIC_WAREHOUSE"]), "select count(*) from raw.spotify_600k__tracks") == (
        before
    )
    # Raised for one command (dbt_project.yml's var, overridden as dbt's --vars): the loader
    # and dbt's singular test on the rejected share both allow it (dbt's arguments after --).
    result = cli(
        "build",
        "--vars",
        "{max_rejected_share: 0.05}",
        "--",
        "-s",
        "stg_loader__load_log",
        "assert_rejected_share_below_threshold",
        "--indirect-selection",
        "cautious",
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "PASS assert_rejected_share_below_threshold" in result.stdout  # dbt's output
    assert query(
        Path(env["MUSIC_WAREHOUSE"]),
        "select rows_read, rows_rejected from raw.load_log where table_name = 'tracks'",
    ) == [(4000, 100)]


def test_plain_dbt_vars_raise_the_rejected_share_for_the_loader_too(
    raw: Path, tmp_path: Path
) -> None:
    """`dbt build --vars '{max_rejected_share: 0.05}'` loads the raw files with that limit (the
    dbt plugin read dbt_project.yml's alone, and refused the file at 1%)."""
    path = raw / "spotify_600k" / "tracks.csv"
    lines = _lines(path)
    for i in range(1, 101):  # 100 of 4,000 rows = 2.5%
        lines[i] = lines[i] + ",extra"
    path.write_text("\n".join(lines), encoding="utf-8")
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    select = ["-s", "stg_loader__load_log", "assert_rejected_share_below_threshold"]
    select += ["--indirect-selection", "cautious"]
    refused = dbt(raw, warehouse, "build", *select, autoload=True)
    assert refused.returncode != 0
    assert "2.5% of its rows (100 of 4,000) do not parse, above the 1.0% allowed" in (
        refused.stdout
    )
    vars_ = ["--vars", "{max_rejected_share: 0.05}"]
    allowed = dbt(raw, warehouse, "build", *select, *vars_, autoload=True)
    assert allowed.returncode == 0, allowed.stdout[-3000:]
    assert "PASS assert_rejected_share_below_threshold" in allowed.stdout
    assert query(
        warehouse, "select rows_read, rows_rejected from raw.load_log where table_name = 'tracks'"
    ) == [(4000, 100)]


def test_integers_with_a_fraction_and_non_finite_numbers_are_rejected_with_reasons(
    raw: Path, tmp_path: Path
) -> None:
    import pandas as pd

    tracks = raw / "spotify_600k" / "tracks.csv"
    frame = pd.read_csv(tracks, dtype=str, keep_default_na=False)
    frame.loc[0, "popularity"] = "61.5"
    frame.loc[1, "popularity"] = "0x3D"
    frame.loc[2, "tempo"] = "inf"
    # A whole number with a zero fraction (as JSON and spreadsheets write them) is the number.
    whole = frame.loc[3, ["popularity", "key", "mode"]].astype(int).tolist()
    frame.loc[3, ["popularity", "key", "mode"]] = [f"{value}.0" for value in whole]
    frame.to_csv(tracks, index=False)
    artists = raw / "spotify_600k" / "artists.csv"
    people = pd.read_csv(artists, dtype=str, keep_default_na=False)
    people.loc[0, "followers"] = "1e400"
    people.to_csv(artists, index=False)
    env = env_for(raw, tmp_path)
    result = cli("build", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = query(
        Path(env["MUSIC_WAREHOUSE"]),
        "select source_table, file_line, rejection_reason, rejection_detail "
        "from marts.rpt_rejected_rows where file_line = 2 or "
        "(source_table = 'spotify_600k.tracks' and file_line in (3, 4)) order by all",
    )
    assert rows == [
        # Each column with its text and what it must be.
        ("spotify_600k.artists", 2, "unparseable number", "followers 1e400 (not a finite number)"),
        (
            "spotify_600k.tracks",
            2,
            "unparseable number",
            "popularity 61.5 (not a whole number written in digits)",
        ),
        (
            "spotify_600k.tracks",
            3,
            "unparseable number",
            "popularity 0x3D (not a whole number written in digits)",
        ),
        ("spotify_600k.tracks", 4, "unparseable number", "tempo inf (not a finite number)"),
    ]
    assert query(
        Path(env["MUSIC_WAREHOUSE"]),
        "select popularity, key, mode from staging.stg_spotify_600k__tracks "
        "where source_row_number = 4 and unparseable_columns = []",
    ) == [tuple(whole)]


def test_a_stray_copy_beside_the_file_is_named_not_read(raw: Path, tmp_path: Path) -> None:
    shutil.copy(raw / "spotify_600k" / "tracks.csv", raw / "spotify_600k" / "tracks (1).csv")
    result = cli("load", env=env_for(raw, tmp_path))
    assert result.returncode == 1
    assert "holds ['tracks (1).csv'] beside tracks.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_both_plain_and_gzipped_files_are_an_error(raw: Path, tmp_path: Path) -> None:
    plain = raw / "spotify_600k" / "tracks.csv"
    with gzip.open(plain.with_name("tracks.csv.gz"), "wb") as out:
        out.write(plain.read_bytes())
    result = cli("load", env=env_for(raw, tmp_path))
    assert result.returncode == 1
    assert f"Both {plain} and {plain}.gz exist" in result.stderr


def test_a_truncated_gzip_names_the_file_and_says_to_download_again(
    raw: Path, tmp_path: Path
) -> None:
    plain = raw / "spotify_600k" / "tracks.csv"
    packed = gzip.compress(plain.read_bytes())
    plain.unlink()
    damaged = plain.with_name("tracks.csv.gz")
    damaged.write_bytes(packed[: len(packed) // 2])
    result = cli("load", env=env_for(raw, tmp_path))
    assert result.returncode == 1
    assert f"{damaged} is damaged" in result.stderr and "Download it again" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_2023_file_saved_as_utf16_is_named_as_such(raw: Path, tmp_path: Path) -> None:
    """Excel's 'Unicode Text': the latin-1 fallback read its header as mojibake, and the
    columns were said to be missing."""
    songs = raw / "spotify_2023" / "spotify-2023.csv"
    songs.write_bytes(songs.read_bytes().decode("latin-1").encode("utf-16"))
    env = env_for(raw, tmp_path)
    result = cli("load", env=env)
    assert result.returncode == 1
    said = result.stderr.strip().splitlines()[-1]
    assert f"{songs} is UTF-16 text" in said and "CSV UTF-8" in said, result.stderr[-2000:]
    assert "missing columns" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig"])
def test_the_2023_file_saved_as_utf8_is_detected_and_loaded(
    raw: Path, tmp_path: Path, codec: str
) -> None:
    """UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one: the latin-1
    reading of the header named the first column 'ï»¿track_name' and refused the file)."""
    songs = raw / "spotify_2023" / "spotify-2023.csv"
    text = songs.read_bytes().decode("latin-1")
    assert any(ord(c) > 127 for c in text), "the generated file has non-ASCII names"
    songs.write_bytes(text.encode(codec))
    env = env_for(raw, tmp_path)
    result = cli("load", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert query(
        Path(env["MUSIC_WAREHOUSE"]),
        "select encoding, rows_rejected from raw.load_log where table_name = 'songs'",
    ) == [("utf-8", 0)]
    names = query(Path(env["MUSIC_WAREHOUSE"]), "select track_name from raw.spotify_2023__songs")
    assert any("Señorita" in n[0] or "Café" in n[0] or "Corazón" in n[0] for n in names)
    assert not any("\ufeff" in n[0] for n in names)


@pytest.mark.parametrize("folder", ["it's [here]", "a (b) {c}"])
def test_any_path_works(raw: Path, tmp_path: Path, folder: str) -> None:
    odd = tmp_path / folder
    shutil.copytree(raw, odd)
    env = env_for(odd, tmp_path)
    env["MUSIC_WAREHOUSE"] = str(tmp_path / folder / "warehouse.duckdb")
    result = cli("load", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert query(Path(env["MUSIC_WAREHOUSE"]), "select count(*) from raw.load_log") == [(3,)]


def test_a_file_that_is_not_duckdb_is_refused_up_front(raw: Path, tmp_path: Path) -> None:
    env = env_for(raw, tmp_path)
    warehouse = Path(env["MUSIC_WAREHOUSE"])
    warehouse.parent.mkdir(parents=True)
    warehouse.write_text("name,value\na,1\n")
    result = cli("build", env=env)
    assert result.returncode == 1
    assert f"The warehouse {warehouse} is not a DuckDB database" in result.stderr
    assert result.stderr.count("\n") <= 3 and "Traceback" not in result.stderr
    assert warehouse.read_text() == "name,value\na,1\n"


def test_a_second_command_on_the_same_warehouse_says_the_first_holds_it(
    raw: Path, tmp_path: Path
) -> None:
    env = env_for(raw, tmp_path)
    warehouse = Path(env["MUSIC_WAREHOUSE"])
    warehouse.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time
            from pathlib import Path
            from python_ml.warehouse.db import RunLock
            with RunLock(Path({str(warehouse)!r})):
                print("holding", flush=True)
                time.sleep(60)
            """),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        result = cli("run", env=env)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert f"The warehouse {warehouse} is in use by another command (PID" in (result.stderr)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c["models"]["neural_network"].update(dropout=[1.5, 0.2]),
            "models.neural_network.dropout must list rates from 0 to below 1, got 1.5",
        ),
        (
            lambda c: c["models"]["neural_network"].update(hidden_units=["wide", 64]),
            "models.neural_network.hidden_units must list positive whole numbers of units, "
            "got 'wide'",
        ),
        (
            lambda c: c.update(validation_fraction=0.001),
            "validation_fraction must be a number from 0.01 to below 0.5, got 0.001",
        ),
    ],
)
def test_config_values_are_checked_before_any_fit(
    tmp_path: Path, change, message: str, built_warehouse: Path
) -> None:
    config = yaml.safe_load((CONFIG_DIR / "tracks.yml").read_text())
    change(config)
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(config))
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(built_warehouse, warehouse)
    result = cli(
        "train",
        "--config",
        str(path),
        env={"MUSIC_WAREHOUSE": str(warehouse), "MUSIC_MLFLOW_DIR": str(tmp_path / "m")},
    )
    assert result.returncode == 1
    assert f"bad.yml: {message}" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "m").exists(), "nothing was fitted or logged"


def test_a_key_given_twice_in_the_config_is_an_error(tmp_path: Path) -> None:
    text = (CONFIG_DIR / "tracks.yml").read_text().replace("seed: 42\n", "seed: 42\nseed: 7\n", 1)
    path = tmp_path / "twice.yml"
    path.write_text(text)
    result = cli("train", "--config", str(path), env={"MUSIC_WAREHOUSE": str(tmp_path / "w")})
    assert result.returncode == 1
    assert "twice.yml" in result.stderr and "the key 'seed' is given twice" in result.stderr


def test_a_time_split_year_outside_the_data_names_the_key(
    tmp_path: Path, built_warehouse: Path
) -> None:
    config = yaml.safe_load((CONFIG_DIR / "tracks.yml").read_text())
    config["time_split_cutoff_year"] = 2090
    path = tmp_path / "late.yml"
    path.write_text(yaml.safe_dump(config))
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(built_warehouse, warehouse)
    result = cli(
        "train",
        "--config",
        str(path),
        env={"MUSIC_WAREHOUSE": str(warehouse), "MUSIC_MLFLOW_DIR": str(tmp_path / "m")},
    )
    assert result.returncode == 1
    assert "late.yml: time_split_cutoff_year 2090 must lie inside" in result.stderr


def test_artists_matching_no_track_name_the_feature_set(
    tmp_path: Path, built_warehouse: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(built_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.fct_train_tracks set artist_followers = null, artist_genre_count = null"
        )
    result = cli(
        "train",
        "--only",
        "logistic_regression/full",
        env={"MUSIC_WAREHOUSE": str(warehouse), "MUSIC_MLFLOW_DIR": str(tmp_path / "m")},
    )
    assert result.returncode == 1
    assert (
        "feature set full (tracks.yml): ['artist_followers', 'artist_genre_count'] are missing"
        in (result.stderr)
    )


def test_the_loader_and_the_dbt_sources_agree_on_the_columns() -> None:
    for raw in schemas.RAW_FILES:
        path = PROJECT_ROOT / "models" / "staging" / raw.dataset / f"_{raw.dataset}__sources.yml"
        source = yaml.safe_load(path.read_text())["sources"][0]
        table = next(t for t in source["tables"] if t["name"] == raw.table)
        assert table["identifier"] == raw.raw_table.split(".")[1]
        declared = [c["name"] for c in table["columns"]]
        assert declared == ["file_line", "_loaded_at", *raw.columns], raw.name
