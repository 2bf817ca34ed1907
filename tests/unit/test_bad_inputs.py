"""Bad inputs a user gives the commands and the service: each is one line naming the file,
column, variable or value and what to do, and nothing of the user's is replaced."""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path

import pandas as pd
import pytest

from python_ml import cli, service
from python_ml.raw.schemas import TRACK_COLUMNS, TRACKS
from python_ml.tracks import config as config_module
from python_ml.tracks.predict import PredictInputError, _write_csv, check_input, check_output
from python_ml.warehouse.load import LoadError, plan


def _tracks_file(raw_dir, header: str) -> None:
    folder = raw_dir / TRACKS.dataset
    folder.mkdir(parents=True)
    (folder / TRACKS.name).write_text(header + "\n" + ",".join("1" for _ in TRACK_COLUMNS) + "\n")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (",".join(TRACK_COLUMNS) + ",", f"column {len(TRACK_COLUMNS) + 1} of the header"),
        (",".join(TRACK_COLUMNS) + ",,", f"column {len(TRACK_COLUMNS) + 1} of the header"),
        ("id,," + ",".join(TRACK_COLUMNS[1:]), "column 2 of the header"),
    ],
)
def test_a_header_column_without_a_name_is_named_by_its_position(tmp_path, header, expected):
    _tracks_file(tmp_path, header)
    with pytest.raises(LoadError) as raised:
        plan(tmp_path, [TRACKS])
    message = str(raised.value)
    assert expected in message and "has no name" in message and str(tmp_path) in message
    at_end = header.endswith(",") and not header.endswith(",,")  # the last column alone
    assert ("a comma at the end of the line" in message) == at_end
    assert "Binder Error" not in message and "more than once" not in message
    (tmp_path / "new.csv").write_text(header + "\n")  # predict's own check says the same
    with pytest.raises(PredictInputError, match=expected.replace(" of the header", "")):
        check_input(tmp_path / "new.csv")


def test_predict_never_writes_over_a_device_or_pipe(tmp_path):
    source = tmp_path / "new.csv"
    source.write_text("id\n")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(PredictInputError, match="is not a regular file"):
        check_output(source, pipe, overwrite=True)
    assert pipe.is_fifo()


def test_a_folder_that_cannot_take_the_output_is_one_line():
    if not os.path.isdir("/proc/self"):
        pytest.skip("no /proc on this system")
    with pytest.raises(PredictInputError) as raised:  # /proc takes no new files, even root's
        _write_csv(pd.DataFrame({"a": [1]}), Path("/proc/p.csv"))
    message = str(raised.value)
    assert message.startswith("/proc cannot be written (") and "choose an --output" in message
    assert ".p.csv." not in message  # not the temporary file's name


def test_a_full_disk_under_the_output_says_so(tmp_path, monkeypatch):
    """The output's folder was writable, its disk full: it said "choose an --output in a
    folder you can write". The earlier output is kept."""
    import errno

    out = tmp_path / "p.csv"
    out.write_text("earlier\n")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    with pytest.raises(PredictInputError) as raised:
        _write_csv(pd.DataFrame({"a": [1]}), out)
    assert str(raised.value) == (
        f"{tmp_path} cannot take the predictions: its disk is full (No space left on device). "
        "Free space there, or choose an --output on another disk."
    )
    assert out.read_text() == "earlier\n" and [p.name for p in tmp_path.iterdir()] == ["p.csv"]


def _loaded_from_another_raw_folder(tmp_path, monkeypatch):
    """A warehouse whose load log names tracks.csv in ``raw/``, and MUSIC_RAW_DIR set to
    ``raw_typo/``, which does not exist: (the folder loaded from, the mistyped one)."""
    import duckdb

    from python_ml.warehouse import catalog

    warehouse, loaded = tmp_path / "warehouse.duckdb", tmp_path / "raw"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        con.execute(
            f"create table {catalog.LOAD_LOG} as "
            f"select '{loaded / TRACKS.dataset / TRACKS.name}' as file_path"
        )
    typo = tmp_path / "raw_typo"
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("MUSIC_RAW_DIR", str(typo))
    return loaded, typo


def test_load_stops_on_a_raw_folder_that_does_not_exist_as_plain_dbt_does(tmp_path, monkeypatch):
    """A mistyped MUSIC_RAW_DIR on a loaded warehouse: `load` and `build` warned that each file
    was missing, used the tables as loaded and passed (plain `dbt build` stopped)."""

    from python_ml.settings import load_settings
    from python_ml.warehouse.load import files_to_load

    loaded, typo = _loaded_from_another_raw_folder(tmp_path, monkeypatch)
    with pytest.raises(LoadError) as raised:
        files_to_load(load_settings())
    assert str(raised.value) == (
        f"The raw folder {typo} (MUSIC_RAW_DIR) does not exist; the warehouse's raw tables were "
        f"loaded from {loaded}. Set MUSIC_RAW_DIR to the folder of the raw files (or, with plain "
        "dbt, build from the tables as loaded: MUSIC_AUTOLOAD_RAW=false dbt build)."
    )
    assert not typo.exists()


def test_run_stops_on_a_raw_folder_that_does_not_exist_before_extracting(tmp_path, monkeypatch):
    """`run` with a mistyped MUSIC_RAW_DIR on a loaded warehouse (no Kaggle credentials): its
    extract wrote built-in data into the new folder, and the run loaded that over the loaded
    files and trained on it."""
    import dagster as dg

    from python_ml.orchestration.assets.raw import raw_files
    from python_ml.orchestration.resources import ProjectSettings

    loaded, typo = _loaded_from_another_raw_folder(tmp_path, monkeypatch)
    result = dg.materialize(
        [raw_files],
        resources={"paths": ProjectSettings()},
        run_config={"ops": {"raw_files": {"config": {"offline": True}}}},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    said = failure.step_failure_data.error.message
    assert f"The raw folder {typo} (MUSIC_RAW_DIR) does not exist" in said, said
    assert f"loaded from {loaded}" in said and "`run` does not make it" in said
    assert not typo.exists()  # no built-in data written there
    # Retried by the asset's policy (meant for downloads) it would say it four times.
    assert sum(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events) == 0
    # The folder the tables were loaded from, removed: extract makes it again, as before.
    from python_ml.settings import load_settings
    from python_ml.warehouse.load import refuse_a_mistyped_raw_folder

    monkeypatch.setenv("MUSIC_RAW_DIR", str(loaded))
    refuse_a_mistyped_raw_folder(load_settings())  # no error


def test_a_dagster_home_that_cannot_hold_the_runs_is_named(tmp_path, monkeypatch):
    """DAGSTER_HOME naming a file: `run` failed with Python's FileExistsError, and `status`
    said every asset was never materialized."""
    from python_ml.orchestration.runner import DagsterHomeError, dagster_home
    from python_ml.settings import load_settings

    taken = tmp_path / "notes.txt"
    taken.write_text("mine\n")
    monkeypatch.setenv("DAGSTER_HOME", str(taken))
    for create in (True, False):
        with pytest.raises(DagsterHomeError) as raised:
            dagster_home(load_settings(), create=create)
        assert str(raised.value) == (
            f"Dagster's home {taken} is a file, not a folder: the runs are recorded there. Set "
            "DAGSTER_HOME to a folder you can write (unset: dagster/ beside the warehouse), or "
            "fix its permissions."
        )
    assert taken.read_text() == "mine\n"
    fresh = tmp_path / "dagster"
    monkeypatch.setenv("DAGSTER_HOME", str(fresh))
    assert dagster_home(load_settings(), create=False) == fresh and not fresh.exists()
    assert dagster_home(load_settings()) == fresh and (fresh / "dagster.yaml").is_file()


def test_a_dbt_target_folder_that_cannot_take_files_is_named_before_dbt_starts(
    tmp_path, monkeypatch
):
    """DBT_TARGET_PATH naming a file: dbt failed with its stack trace (NotADirectoryError on
    partial_parse.msgpack), said to be output "naming the model or test"; predict compiled
    for 20 s first, then failed with Python's NotADirectoryError."""
    from python_ml.settings import load_settings
    from python_ml.tracks import feature_path
    from python_ml.warehouse import dbt

    taken = tmp_path / "notes.csv"
    taken.write_text("mine\n")
    monkeypatch.setenv("DBT_TARGET_PATH", str(taken))
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(tmp_path / "data" / "warehouse.duckdb"))
    started: list = []
    monkeypatch.setattr(dbt.subprocess, "Popen", lambda *a, **k: started.append(a))
    expected = (
        f"dbt's target folder {taken} is a file, not a folder: dbt writes its manifest and "
        "compiled SQL there. Set DBT_TARGET_PATH to a folder you can write (default: target, "
        "in the project), or fix its permissions."
    )
    with pytest.raises(dbt.DbtError) as raised:
        dbt.run_dbt(load_settings(), "parse")
    assert str(raised.value) == expected
    with pytest.raises(dbt.DbtError) as raised:
        feature_path.compiled_models(load_settings())
    assert str(raised.value) == expected
    assert not started and taken.read_text() == "mine\n"
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MUSIC_SERVE_MAX_TRACKS", "abc", "must be a whole number above 0 (default 10,000)"),
        ("MUSIC_SERVE_MAX_TRACKS", "0", "must be a whole number above 0"),
        ("MUSIC_SERVE_MAX_BYTES", "-1", "must be a whole number above 0 (default 20,971,520)"),
        ("MUSIC_SERVE_CHECK_EVERY", "soon", "must be a number above 0 (default 5)"),
        ("MUSIC_SERVE_CHECK_EVERY", "nan", "must be a number above 0"),
    ],
)
def test_a_bad_service_limit_names_its_variable(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(service.ServiceConfigError) as raised:
        service.limit(name)
    assert str(raised.value).startswith(f"{name}={value!r}: ") and expected in str(raised.value)


def test_service_limits_default_and_read_the_environment(monkeypatch):
    monkeypatch.delenv("MUSIC_SERVE_MAX_TRACKS", raising=False)
    assert service.limit("MUSIC_SERVE_MAX_TRACKS") == 10_000
    monkeypatch.setenv("MUSIC_SERVE_MAX_TRACKS", " 250 ")
    assert service.limit("MUSIC_SERVE_MAX_TRACKS") == 250
    monkeypatch.setenv("MUSIC_SERVE_CHECK_EVERY", "0.5")
    assert math.isclose(service.limit("MUSIC_SERVE_CHECK_EVERY"), 0.5)


def test_a_port_in_use_or_an_unknown_host_is_one_line_before_the_service_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(service.ServiceConfigError, match=f"127.0.0.1:{port} is in use"):
            service.check_address("127.0.0.1", port)


def test_a_make_servers_port_in_use_is_one_line_naming_its_variable(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert service.check_port_for_make(["APP_PORT", str(port), "app"]) == 1
    message = capsys.readouterr().err
    assert message.startswith(f"make app: 127.0.0.1:{port} is in use"), message
    assert "stop it, or pass another APP_PORT" in message and "--port" not in message
    assert service.check_port_for_make(["APP_PORT", "abc", "app"]) == 1
    assert "make app: APP_PORT='abc': a port number from 1 to 65535" in capsys.readouterr().err
    assert service.check_port_for_make(["APP_PORT", str(port), "app"]) == 0  # let go: free


@pytest.mark.parametrize(
    ("target", "variable"),
    [
        ("app", "APP_PORT"),
        ("serve", "SERVE_PORT"),
        ("dagster", "DAGSTER_PORT"),
        ("mlflow-ui", "MLFLOW_PORT"),
        ("docs-serve", "DOCS_PORT"),
    ],
)
def test_each_make_server_names_its_port_in_use_before_it_starts(target, variable):
    """Streamlit said only "Port N is not available"; Dagster's `dev` kept running (its daemons
    beside the first one's) without its UI; MLflow's exited 0; dbt's docs server generated the
    docs, then ended in a traceback."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            # -o install: the virtualenv as it is; BIN: this interpreter's, whatever its folder
            ["make", "--no-print-directory", "-o", "install", target, f"{variable}={port}"]
            + [f"BIN={Path(sys.executable).parent}"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0, done.stdout + done.stderr
    assert f"make {target}: 127.0.0.1:{port} is in use" in done.stderr, done.stderr
    assert f"pass another {variable}" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "Errno" not in done.stderr, done.stderr


def test_an_unknown_host_is_one_line(monkeypatch):
    def unknown(*args, **kwargs):  # no DNS lookup from a test: the resolver's answer
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    with pytest.raises(service.ServiceConfigError, match="--host nowhere.invalid: not an address"):
        service.check_address("nowhere.invalid", 8000)


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "99999"],
        ["serve", "--port", "-1"],
        ["generate", "--seed", "-1"],
        ["generate", "--seed", "\u00b2"],  # a digit to str.isdigit, not to int()
        # 0 deleted the champion's predictions, wrote none and failed with scikit-learn's
        # "Found array with 0 sample(s)"; -5 with DuckDB's parser error on LIMIT.
        ["score", "--batch-size", "0"],
        ["score", "--batch-size", "-5"],
    ],
)
def test_out_of_range_numbers_are_refused_by_the_command_line(argv, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.build_parser().parse_args(argv)
    assert raised.value.code == 2
    assert f"argument {argv[1]}:" in capsys.readouterr().err


def test_scoring_in_batches_of_no_rows_is_refused_before_the_warehouse_is_opened(tmp_path):
    import dataclasses

    from python_ml.settings import load_settings
    from python_ml.tracks import score

    settings = dataclasses.replace(load_settings(), warehouse=tmp_path / "warehouse.duckdb")
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        score.write_predictions(settings, model=None, run_id="r", batch_size=0)
    assert not settings.warehouse.exists()


def test_generate_into_a_file_names_it(tmp_path, caplog):
    a_file = tmp_path / "tracks.csv"
    a_file.write_text("id\n")
    assert cli.main(["generate", "--rows", "10", "--out", str(a_file)]) == 1
    assert f"{a_file} is a file, not a folder: give --out a folder you can write" in caplog.text
    assert a_file.read_text() == "id\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"seed: [1,2\n", "line 2, column 1: expected ',' or ']'"),
        (b"\xff\xfeseed: 1\n", "is not UTF-8 text: save it as UTF-8"),
        (b"seed: 1\nmodels: !!python/object:os.system {}\n", "line 2, column 9: could not"),
    ],
)
def test_an_unreadable_config_names_the_file_and_where(tmp_path, text, expected):
    path = tmp_path / "tracks.yml"
    path.write_bytes(text)
    with pytest.raises(config_module.ConfigError) as raised:
        config_module.read_yaml(path)
    assert str(raised.value).startswith(str(path)) and expected in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("command", ["train", "songs"])
def test_a_config_folder_is_named_not_a_stack_trace(tmp_path, monkeypatch, caplog, command):
    """`--config python_ml/configs`: the step's inputs read the folder as the config file and
    failed with Python's IsADirectoryError."""
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(tmp_path / "data" / "warehouse.duckdb"))
    folder = tmp_path / "configs"
    folder.mkdir()
    assert cli.main([command, "--config", str(folder)]) == 1
    assert f"{folder} is a folder: give the config file (YAML) in it" in caplog.text
    assert "IsADirectoryError" not in caplog.text


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_a_positive_parameter_refuses_nan_and_infinity(value):
    raw = config_module.read_yaml(config_module.CONFIG_DIR / "tracks.yml")
    raw["models"]["hist_gradient_boosting"]["learning_rate"] = float(value.replace(".", "", 1))
    with pytest.raises(config_module.ConfigError, match="learning_rate must be a positive number"):
        config_module.parse_tracks_config(raw)


@pytest.mark.parametrize(("separator", "named"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_with_another_separator_says_which(tmp_path, separator, named):
    path = tmp_path / "new.csv"
    path.write_text(separator.join(TRACK_COLUMNS) + "\n")
    with pytest.raises(PredictInputError) as raised:
        check_input(path)
    assert f"The values seem to be separated by {named}: save the file with commas" in str(
        raised.value
    )


@pytest.mark.parametrize("above", ["\n", "\r\n\n", " \n", "\ufeff\n"])
def test_a_blank_line_above_the_header_is_named_not_called_empty(tmp_path, above):
    """The file was said to be empty ("it needs a header and rows") though both follow."""
    path = tmp_path / "new.csv"
    path.write_text(above + ",".join(TRACK_COLUMNS) + "\n" + ",".join("1" for _ in TRACK_COLUMNS))
    with pytest.raises(PredictInputError) as raised:
        check_input(path)
    assert str(raised.value) == (
        f"{path}: line 1 is blank: the header (tracks.csv's column names) must be the first "
        "line. Remove the blank lines above it and score again."
    )
    path.write_text(above + "\n \n")  # blank lines alone: empty
    with pytest.raises(PredictInputError, match="is empty: it needs a header and rows"):
        check_input(path)


def test_a_workbook_or_json_given_as_the_csv_is_named(tmp_path):
    """Neither is a CSV: an .xlsx was told its header is not UTF-8 ("save it as UTF-8"), and a
    JSON list of tracks that its header names columns twice (``"mode": "0"``, ...)."""
    import io
    import json
    import zipfile

    workbook = tmp_path / "new.xlsx"
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    workbook.write_bytes(packed.getvalue())
    with pytest.raises(PredictInputError) as raised:
        check_input(workbook)
    assert str(raised.value).startswith(f"{workbook} is a zip archive (an Excel .xlsx workbook")
    assert "save the sheet as 'CSV UTF-8 (Comma delimited)'" in str(raised.value)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    with pytest.raises(PredictInputError, match=r"is an Excel 97-2003 workbook \(\.xls\)"):
        check_input(old)
    track = {c: "0" for c in TRACK_COLUMNS}
    for name, text in [
        ("list.csv", json.dumps([track, track])),
        ("body.csv", " " + json.dumps({"tracks": [track]}, indent=1)),
    ]:
        (tmp_path / name).write_text(text)
        with pytest.raises(PredictInputError) as raised:
            check_input(tmp_path / name)
        assert str(raised.value).startswith(f"{tmp_path / name} holds JSON, not CSV: ")
        assert "more than once" not in str(raised.value)


@pytest.mark.parametrize(
    "clashing",
    # DuckDB's names ignore case: `Line` was lost to the output's `line`, and the loader's own
    # columns (`file_line`, `_loaded_at`) to the loader, while the log said "kept".
    [
        ["status"],
        ["line", "prob_lukewarm"],
        ["Line"],
        ["file_line"],
        ["_Loaded_At"],
        ["segment"],  # the loader's own: renamed segment_1, then dropped from the output
        ["KEPT_INDEX"],
        ["rowid"],  # hid DuckDB's row id: a file without ids crashed
    ],
)
def test_a_column_predict_writes_is_refused_not_overwritten(tmp_path, clashing):
    path = tmp_path / "new.csv"
    path.write_text(",".join([*TRACK_COLUMNS, *clashing]) + "\n")
    with pytest.raises(PredictInputError) as raised:
        check_input(path)
    several = len(clashing) > 1
    named = ", ".join(clashing)
    assert f"{path} has the column{'s' if several else ''} {named}, " in str(raised.value)
    assert "which predict writes in its output (line, status, " in str(raised.value)
    assert "prob_<class>) or the loader adds (file_line, _loaded_at, segment, kept_index, " in str(
        raised.value
    )
    assert f"rename {'them' if several else 'it'} in the header" in str(raised.value)


def test_columns_that_differ_only_in_capitals_are_one_column(tmp_path):
    path = tmp_path / "new.csv"
    path.write_text(",".join([*TRACK_COLUMNS, "note", "Note"]) + "\n")
    with pytest.raises(PredictInputError, match=r"has the columns Note, note more than once"):
        check_input(path)


def test_a_misspelt_column_is_matched_whatever_its_case_and_spaces():
    from python_ml.tracks.feature_path import misspelt_columns

    assert misspelt_columns(["danceability"], [" DANCEABILTY ", "energy"]) == (
        " (' DANCEABILTY ' for 'danceability'?)"
    )
    assert misspelt_columns(["danceability"], ["my_notes"]) == ""
    assert misspelt_columns([], ["danceabilty"]) == ""
    # a close spelling in another language (difflib's ratio 0.77): it was not named
    assert misspelt_columns(["energy"], ["energie"]) == " ('energie' for 'energy'?)"


def test_a_missing_column_names_the_given_one_it_looks_misspelt_as(tmp_path):
    path = tmp_path / "new.csv"
    header = ["danceabilty" if c == "danceability" else c for c in TRACK_COLUMNS]
    path.write_text(",".join([*header, "tempo_2"]) + "\n")
    with pytest.raises(PredictInputError) as raised:
        check_input(path)
    assert "is missing columns ['danceability'] ('danceabilty' for 'danceability'?)." in str(
        raised.value
    )


@pytest.mark.parametrize("renamed", [{"energy"}, {"id", "popularity"}, set(TRACK_COLUMNS)])
def test_a_column_name_in_capitals_is_pointed_out(tmp_path, renamed):
    """Optional columns too (DuckDB's names ignore case: an ``ID`` column beside the id made
    for a track without one crashed), and a header all in capitals."""
    path = tmp_path / "new.csv"
    header = [c.upper() if c in renamed else c for c in TRACK_COLUMNS]
    path.write_text(",".join(header) + "\n")
    with pytest.raises(PredictInputError) as raised:
        check_input(path)
    capitals = [c for c in header if c != c.lower()]
    assert f"the column names {capitals} are written in capitals" in str(raised.value)
    assert "Rename them in the header and score again." in str(raised.value)


@pytest.mark.parametrize("given", [["Energy"], ["ENERGY", "Energy"]])
def test_a_column_beside_itself_in_capitals_is_named_as_given_twice(tmp_path, given):
    """``Energy`` beside ``energy`` is one column given twice (DuckDB's names ignore case),
    not a name to write in lower case: renaming it would make the same clash."""
    path = tmp_path / "new.csv"
    path.write_text(",".join([*TRACK_COLUMNS, *given]) + "\n")
    with pytest.raises(PredictInputError) as raised:
        check_input(path)
    both = ", ".join(sorted(["energy", *given]))
    assert f"has the columns {both} more than once in its header" in str(raised.value)
    assert "capitals:" not in str(raised.value)
    assert "(names that differ only in capitals are one column)" in str(raised.value)


def test_a_column_given_twice_as_it_is_gets_no_note_on_capitals(tmp_path):
    """``energy`` twice: the note on capitals explained nothing there."""
    path = tmp_path / "new.csv"
    path.write_text(",".join([*TRACK_COLUMNS, "energy"]) + "\n")
    with pytest.raises(PredictInputError) as raised:
        check_input(path)
    assert str(raised.value).endswith(
        "has the column energy more than once in its header: keep one of each and score again."
    )


@pytest.mark.parametrize(
    "argv", [["predict", "--input", ""], ["train", "--config", " "], ["generate", "--out", ""]]
)
def test_an_empty_path_is_refused(argv, capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(argv)
    assert "an empty path: give one" in capsys.readouterr().err


def test_gzip_and_its_name_must_agree(tmp_path):
    import gzip

    header = (",".join(TRACK_COLUMNS) + "\n").encode()
    packed_as_csv = tmp_path / "new.csv"
    packed_as_csv.write_bytes(gzip.compress(header))
    with pytest.raises(PredictInputError, match=r"is gzip-compressed: name it new\.csv\.gz"):
        check_input(packed_as_csv)
    plain_as_gz = tmp_path / "plain.csv.gz"
    plain_as_gz.write_bytes(header)
    with pytest.raises(PredictInputError, match=r"not gzip-compressed.*rename it to plain\.csv"):
        check_input(plain_as_gz)
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress(header)[:10])  # cut off inside the header
    with pytest.raises(PredictInputError) as raised:
        check_input(cut)
    assert "cut off while copying. Copy or compress it again" in str(raised.value)
    assert "extract" not in str(raised.value)  # the raw data's command, not this file's
    empty = tmp_path / "empty.csv.gz"
    empty.write_bytes(b"")
    with pytest.raises(PredictInputError, match="is empty: it needs a header and rows"):
        check_input(empty)
    upper = tmp_path / "upper.csv.GZ"
    upper.write_bytes(gzip.compress(header))
    assert check_input(upper) == TRACK_COLUMNS
    whole = tmp_path / "whole.csv.gz"
    whole.write_bytes(gzip.compress(header))
    assert check_input(whole) == TRACK_COLUMNS


def test_names_that_are_not_tracks_columns_are_quoted_with_the_column_they_look_like() -> None:
    from python_ml.tracks.feature_path import not_track_columns

    assert not_track_columns(["id", "danceability", "tempo"]) == []
    assert not_track_columns(["id_artist", "Tempo ", "my_notes"]) == [
        "'id_artist' (did you mean 'id_artists'?)",
        "'Tempo ' (did you mean 'tempo'?)",
        "'my_notes'",
    ]


def test_the_default_output_is_named_after_the_input() -> None:
    from python_ml.tracks.predict import default_output

    assert default_output(Path("/d/new.csv")) == Path("/d/new.predictions.csv")
    assert default_output(Path("/d/new.csv.gz")) == Path("/d/new.predictions.csv")
    assert default_output(Path("/d/new.CSV")) == Path("/d/new.predictions.csv")
    assert default_output(Path("/d/tracks.txt")) == Path("/d/tracks.predictions.csv")


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="no /proc on this system")
def test_an_output_folder_that_refuses_files_is_named_before_scoring(tmp_path: Path) -> None:
    """/proc looks writable to root by its permissions; scoring ran, then writing failed."""
    from python_ml.tracks.predict import PredictInputError, check_output

    source = tmp_path / "new.csv"
    source.write_text("id\n1\n")
    with pytest.raises(PredictInputError, match=r"^/proc cannot be written \("):
        check_output(source, Path("/proc/x.csv"))
    check_output(source, tmp_path / "out.csv")  # a folder that takes files: no error


def test_a_file_without_its_header_line_is_said_to_lack_it(tmp_path):
    """The first row read as the header was told "has the column 0 more than once in its
    header": its explicit and mode were both 0."""
    path = tmp_path / "new.csv"
    path.write_text(
        "NaR9cyzu7wVcdLElBv5yN3,Alone heart,26,129741,0,['Kid Cruz'],['kC4ng25cLTwvIIWnE9w7fC'],"
        "2010-01-16,0.668,0.794,8,-16.612,0,0.192,0.309,0.509,0.0755,0.52,131.148,4\n"
    )
    with pytest.raises(PredictInputError) as raised:
        check_input(path)
    message = str(raised.value)
    assert message.startswith(f"{path} does not look like a tracks CSV: its columns are [")
    assert message.endswith(
        "Line 1 holds values, not column names: the file has no header. Put tracks.csv's "
        "header line above the rows and score again."
    )
    assert "more than once" not in message
    # A header with a few names of its own is not taken for values.
    path.write_text("song,artist,year\n")
    with pytest.raises(PredictInputError) as raised:
        check_input(path)
    assert "holds values" not in str(raised.value)


def test_an_output_under_a_file_names_the_file_as_no_folder(tmp_path):
    """`--output new.csv/out.csv` said "new.csv cannot be written (no permission, ...)", as if
    predict had tried to write over the user's input."""
    source = tmp_path / "new.csv"
    source.write_text("id\n")
    with pytest.raises(PredictInputError) as raised:
        check_output(source, source / "deeper" / "out.csv")
    assert str(raised.value) == (
        f"--output {source / 'deeper' / 'out.csv'}: {source} is a file, not a folder, so "
        "nothing can be written under it: give an --output in a folder."
    )
    assert source.read_text() == "id\n"


def test_thousands_of_columns_not_scored_are_named_twenty_at_a_time(tmp_path):
    """A sheet with 5,000 extra columns made one warning line of 5,000 names; a misspelt
    optional column among them was lost in it. Twenty are named, the misspellings first."""
    from python_ml.tracks.predict import not_scored_columns

    path = tmp_path / "wide.csv"
    extra = [f"c{i}" for i in range(5_000)]
    said = not_scored_columns(path, [*TRACK_COLUMNS, *extra, "id_artist"])
    named = ", ".join(repr(c) for c in extra[:19])
    assert said == (
        f"{path}: 'id_artist' (did you mean 'id_artists'?), {named} (and 4,981 more) are not "
        "tracks.csv columns: kept in the output, not used in scoring"
    )
    assert not_scored_columns(path, [*TRACK_COLUMNS, "note"]) == (
        f"{path}: 'note' is not a tracks.csv column: kept in the output, not used in scoring"
    )


def test_a_service_worker_process_logs_its_warnings_with_time_and_level(tmp_path):
    """`serve --workers N` starts each worker as a new Python process, which the command
    line's logging setup does not reach: a worker's warning came out as its bare text."""
    import re
    import subprocess
    import sys

    code = (
        "import logging\n"
        "from python_ml import service\n"
        "service.create_app = lambda settings, reload_signal=None: None\n"
        "service.app_from_environment()\n"
        "logging.getLogger('python_ml.tracks.scorer').warning('not checked whether ...')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "MUSIC_WAREHOUSE": str(tmp_path / "w.duckdb")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d\d:\d\d:\d\d WARNING not checked whether \.\.\.\n", result.stderr)


def test_a_raw_file_separated_by_semicolons_is_said_to_be_so(tmp_path):
    """The loader listed the 20 columns missing and one unexpected column holding them all;
    predict said what it was."""
    from python_ml.raw.extract import ExtractError, check_header

    path = tmp_path / "tracks.csv"
    path.write_text(";".join(TRACK_COLUMNS) + "\n" + ";".join("1" for _ in TRACK_COLUMNS) + "\n")
    with pytest.raises(ExtractError) as raised:
        check_header(path, TRACKS)
    assert str(raised.value) == (
        f"{path}: its header is not comma-separated. The values seem to be separated by "
        "semicolons: save the file with commas between values (CSV)."
    )
    with pytest.raises(PredictInputError, match="seem to be separated by semicolons"):
        check_input(path)


def test_a_dbt_command_that_filled_the_disk_says_so_not_that_the_model_is_at_fault(
    tmp_path, monkeypatch
):
    """A full disk during `dbt build` was said to be the model's fault ("its output names the
    model or test. Fix it ..."): captured output saying `No space left on device` is named as
    a full disk; output that went to the terminal keeps the model's sentence, with the disk's
    free space beside it when nearly full (a model's error on a nearly full disk is the
    model's)."""
    import shutil
    from collections import namedtuple

    from python_ml.settings import load_settings
    from python_ml.warehouse import dbt

    monkeypatch.setenv("MUSIC_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setattr(dbt, "check_target_dir", lambda settings: None)
    settings = load_settings()
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**10, 10**10 - 10**9, 10**9))
    said = ['Could not write file "warehouse.duckdb.wal": No space left on device']

    class Dbt:
        returncode = 1

        def __init__(self, *args, **kwargs):
            pass

        def communicate(self):
            return said[0], None

    monkeypatch.setattr(dbt.subprocess, "Popen", Dbt)
    with pytest.raises(dbt.DbtError) as raised:
        dbt.run_dbt(settings, "build", capture=True)
    assert str(raised.value) == (
        f"`dbt build` failed (exit 1): the disk holding {tmp_path} is full (`No space left on "
        "device`). Free space there and run the step again: what dbt built before is kept."
    )
    assert dbt.low_disk(settings) == ""  # 1 GB free: the output says why
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**10, 10**10, 3 * 1024 * 1024))
    said[0] = "Compilation Error in model x"
    with pytest.raises(dbt.DbtError) as raised:
        dbt.run_dbt(settings, "build")
    assert "names the model, test or var at fault. Fix it" in str(raised.value)
    assert str(raised.value).endswith(
        f" The disk holding {tmp_path} has 3 MB free: if the output says `No space left on "
        "device`, free space there instead (what dbt built before is kept)."
    )


@pytest.mark.parametrize("command", ["load", "build", "score", "marts"])
def test_the_spark_engine_without_its_extra_says_to_install_it(
    tmp_path, monkeypatch, caplog, command
):
    """After `make run` alone (no `make install-spark`): `build --engine spark` ended in dbt's
    `Could not find adapter type spark!` and "its output above names the model, test or var
    at fault", `score --engine spark` in `ModuleNotFoundError: No module named 'pyspark'`."""
    import sys

    monkeypatch.setenv("MUSIC_WAREHOUSE", str(tmp_path / "data" / "warehouse.duckdb"))
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if not installed: import fails
    assert cli.main([command, "--engine", "spark"]) == 1
    assert "run `make install-spark`, then the command again" in caplog.text
    assert "ModuleNotFoundError" not in caplog.text
    assert not (tmp_path / "data").exists()  # stopped before anything was made


@pytest.mark.parametrize(
    ("argv0", "prog"),
    [
        ("/x/.venv/bin/music-popularity", "music-popularity"),
        ("/x/python_ml/__main__.py", "python -m python_ml"),
    ],
)
def test_usage_names_the_command_as_typed(monkeypatch, argv0, prog):
    monkeypatch.setattr("sys.argv", [argv0, "train", "--help"])
    assert cli.build_parser().prog == prog


@pytest.mark.parametrize("name", ["wh 'x' 1.duckdb", 'say "hi".duckdb'])
def test_a_warehouse_name_with_a_quote_is_refused_before_anything_is_written(tmp_path, name):
    """dbt-duckdb names the database after the file: a quote in it broke dbt's own SQL, in
    DuckDB's words ("Parser Error: syntax error at or near ..."), after the raw load."""
    from python_ml.warehouse.db import WarehouseError, preflight

    with pytest.raises(WarehouseError) as raised:
        preflight(tmp_path / name)
    assert str(raised.value).startswith(f"The warehouse file name {name} holds a quote")
    assert "Set MUSIC_WAREHOUSE to a name without quotes" in str(raised.value)
    assert list(tmp_path.iterdir()) == []
