"""The command line prints a worded error (python_ml.errors.UserError) as its message alone,
and anything else with its type and the way to its stack trace."""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from python_ml import cli
from python_ml.errors import UserError
from python_ml.tracks.config import ConfigError


def test_every_error_python_ml_defines_is_reported_by_its_message() -> None:
    """Each exception class of the package (every module imported, as after any command)
    is a UserError: its message alone is printed, with no stack trace. A new error class
    must subclass UserError (next to the built-in base its callers catch)."""
    import inspect
    import pkgutil

    import python_ml

    defined = {}
    for info in pkgutil.walk_packages(python_ml.__path__, "python_ml."):
        if info.name.endswith("__main__"):  # runs the command line
            continue
        try:
            module = importlib.import_module(info.name)
        except ModuleNotFoundError as exc:  # the spark modules, without the spark extra
            if (exc.name or "").split(".")[0] != "pyspark":
                raise
            continue
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == info.name:
                defined[f"{info.name}.{name}"] = obj
    assert len(defined) >= 10, sorted(defined)
    unknown = sorted(name for name, cls in defined.items() if not issubclass(cls, UserError))
    assert unknown == [], f"not reported by their message: {unknown}"
    # An unexpected error keeps its type and -v trace, a library's KeyError or ValueError too.
    for builtin in (RuntimeError, ValueError, LookupError, KeyError, IndexError):
        assert not issubclass(builtin, UserError)
    assert issubclass(ConfigError, ValueError)  # as its callers catch it


def _fail_with(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def command(settings: object, args: object) -> None:
        raise error

    monkeypatch.setattr(cli, "cmd_generate", command)  # the parser reads it when built


def test_an_unexpected_lookup_error_names_its_type_and_the_stack_trace_option(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug's KeyError (``{}["run_id"]``) printed "ERROR 'run_id'" alone: LookupError and
    ValueError counted as worded errors."""
    _fail_with(monkeypatch, KeyError("run_id"))
    with caplog.at_level(logging.INFO):
        assert cli.main(["generate"]) == 1
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert said == ["KeyError: 'run_id'", "run again with -v for the stack trace"]


def test_a_worded_error_is_its_message_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    message = "tracks.yml: seed must be a positive integer, got 'x'"
    _fail_with(monkeypatch, ConfigError(message))
    with caplog.at_level(logging.INFO):
        assert cli.main(["generate"]) == 1
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [message]


def test_a_bad_config_fails_without_importing_the_training_libraries(tmp_path: Path) -> None:
    config = tmp_path / "twice.yml"
    config.write_text("seed: 42\nseed: 7\n")
    code = (
        "import sys\n"
        "from python_ml import cli\n"
        f"rc = cli.main(['train', '--config', {str(config)!r}])\n"
        "heavy = ['sklearn', 'mlflow', 'matplotlib', 'tensorflow']\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print('RC', rc, 'HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"MUSIC_WAREHOUSE": str(tmp_path / "w.duckdb"), "PATH": "/usr/bin:/bin"},
        cwd=Path(cli.__file__).parents[1],
    )
    assert "RC 1 HEAVY []" in result.stdout, result.stdout + result.stderr
    assert "twice.yml: the key 'seed' is given twice" in result.stderr
    assert "Traceback" not in result.stderr


def test_marts_on_an_unbuilt_warehouse_says_what_to_run(tmp_path: Path) -> None:
    """`marts` before `build` failed with dbt's errors (`Table with name fct_songs_2023 does
    not exist`, `schema "reference" does not exist`) and 'Fix it and run the step again'."""
    import duckdb

    env = {"MUSIC_WAREHOUSE": str(tmp_path / "w.duckdb"), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "python_ml", "marts"]
    root = Path(cli.__file__).parents[1]
    missing = subprocess.run(command, capture_output=True, text=True, env=env, cwd=root)
    assert missing.returncode == 1
    assert f"The warehouse {tmp_path / 'w.duckdb'} does not exist yet" in missing.stderr
    duckdb.connect(str(tmp_path / "w.duckdb")).close()  # there, empty
    empty = subprocess.run(command, capture_output=True, text=True, env=env, cwd=root)
    assert empty.returncode == 1
    assert "The warehouse has no marts.fct_predict_tracks, reference.popularity_classes" in (
        empty.stderr
    )
    assert "python -m python_ml build" in empty.stderr and "Traceback" not in empty.stderr


@pytest.mark.parametrize("command", ["load", "build", "run"])
def test_dbt_vars_are_a_mapping_of_the_projects_vars(
    command: str, capsys: pytest.CaptureFixture
) -> None:
    """dbt takes any var name, so `--vars '{predict_shar: 0.2}'` built the 10% split without a
    word; each command that takes --vars refuses it, naming the var it looks like."""
    parser = cli.build_parser()
    given = parser.parse_args([command, "--vars", "{predict_share: 0.2, split_seed: 7}"])
    assert given.vars == {"predict_share": 0.2, "split_seed": 7}
    for text, said in (
        ("{predict_shar: 0.2}", "no var 'predict_shar' (did you mean 'predict_share'?)"),
        ("{nothing_like_it: 1}", "no var 'nothing_like_it': its vars are max_rejected_share"),
        (
            "{predict_share:0.2}",
            "no var 'predict_share:0.2' (YAML needs a space after the colon: 'predict_share: 0.2')",
        ),
        ("predict_share=0.2", "a YAML mapping of vars to values"),
        ("{predict_share: [", "a YAML mapping of vars to values"),
    ):
        with pytest.raises(SystemExit) as stopped:
            parser.parse_args([command, "--vars", text])
        assert stopped.value.code == 2
        assert said in capsys.readouterr().err


def test_a_run_launched_with_dbt_vars_passes_them_to_dbt_and_the_loader() -> None:
    """The Dagster resource that carries `run --vars` (and the UI launchpad's ``dbt_vars``)
    checks them as the command line does and gives dbt its --vars argument."""
    from python_ml.orchestration.resources import ProjectSettings
    from python_ml.orchestration.versions import vars_input
    from python_ml.warehouse.catalog import DbtVarsError

    given = ProjectSettings(dbt_vars='{"min_artist_tracks": 5}')
    assert given.vars() == {"min_artist_tracks": 5}
    assert given.vars_args() == ["--vars", '{"min_artist_tracks": 5}']
    assert vars_input(given.vars()) == {"dbt vars": {"min_artist_tracks": 5}}
    # None given: dbt_project.yml's, and no input of that name (records made before still match).
    assert ProjectSettings().vars_args() == [] and vars_input(ProjectSettings().vars()) == {}
    with pytest.raises(DbtVarsError, match="no var 'min_artists_tracks'"):
        ProjectSettings(dbt_vars="{min_artists_tracks: 5}").vars()


def test_a_permission_denied_names_the_file_and_what_to_do(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A file or folder the user cannot read or write (a warehouse made by another user, a
    raw file without read permission) printed Python's "PermissionError: [Errno 13] ..." and
    "run again with -v"."""
    _fail_with(monkeypatch, PermissionError(13, "Permission denied", "/data/raw/tracks.csv"))
    with caplog.at_level(logging.INFO):
        assert cli.main(["generate"]) == 1
    (said,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert said.startswith(
        "/data/raw/tracks.csv: permission denied: this command reads or writes it. Give your "
        "user access to it (`ls -ld` shows its owner and mode), or point the variable"
    )
    assert "Errno" not in said and "-v" not in said


@pytest.mark.parametrize("kind", ["binding", "engine", "wrapped"])
def test_ctrl_c_while_duckdb_runs_a_query_is_an_interruption(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    """Ctrl-C during a DuckDB query (`load`, `build`'s load, `predict`) said `RuntimeError:
    Query interrupted` and `run again with -v for the stack trace`, exit code 1: DuckDB raises
    its own error for the signal (its Python binding's ``RuntimeError('Query interrupted')``,
    seen with DuckDB 2.0.1 on a SIGINT during a query; the engine's InterruptException). It is
    said as any Ctrl-C is: `interrupted`, 130. (A real SIGINT in a subprocess was tried as the
    test: DuckDB looks for it only between its tasks, and under a loaded CI the query ran on
    past the test's two minutes once.)"""
    import duckdb

    error: Exception = {
        "binding": RuntimeError("Query interrupted"),
        "engine": duckdb.InterruptException("INTERRUPT Error: Interrupted!"),
        "wrapped": ValueError("the load stopped"),
    }[kind]
    if kind == "wrapped":  # raised while handling DuckDB's: the cause is the interruption
        try:
            raise RuntimeError("Query interrupted")
        except RuntimeError as cause:
            error.__cause__ = cause
    _fail_with(monkeypatch, error)
    with caplog.at_level(logging.INFO):
        assert cli.main(["generate"]) == 130
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == ["interrupted"]


def test_another_runtime_error_is_still_unexpected(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fail_with(monkeypatch, RuntimeError("Query interrupted by a bug of ours, say"))
    with caplog.at_level(logging.INFO):
        assert cli.main(["generate"]) == 1
    assert "RuntimeError: Query interrupted by a bug of ours, say" in caplog.text


@pytest.mark.parametrize("command", ["load", "score", "status"])
def test_a_file_refused_as_no_warehouse_gets_no_lock_file_beside_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    command: str,
) -> None:
    """MUSIC_WAREHOUSE naming a CSV of the user's: the command refused it ("is not a DuckDB
    database") and left ``tracks.csv.lock`` in the user's folder."""
    theirs = tmp_path / "tracks.csv"
    theirs.write_text("id,name\n1,a\n" * 10, encoding="utf-8")
    monkeypatch.setenv("MUSIC_WAREHOUSE", str(theirs))
    with caplog.at_level(logging.INFO):
        assert cli.main([command]) == 1
    assert f"The warehouse {theirs} is not a DuckDB database" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tracks.csv"]
    assert theirs.read_text(encoding="utf-8") == "id,name\n1,a\n" * 10


def test_a_full_disk_is_one_line_saying_to_free_space(monkeypatch, tmp_path) -> None:
    """A disk that filled up during `train` ended in MLflow's SQLAlchemy exception of several
    lines ("database or disk is full [SQL: UPDATE runs ...]"); Python's and DuckDB's say `No
    space left on device`. Each is one line: free space, run again, what is kept."""
    import errno

    from python_ml import cli

    monkeypatch.setenv("MUSIC_WAREHOUSE", str(tmp_path / "data" / "w.duckdb"))
    for error in (
        OSError(errno.ENOSPC, "No space left on device"),
        RuntimeError("(sqlite3.OperationalError) database or disk is full\n[SQL: UPDATE runs]"),
        OSError('IO Error: Could not write file "w.duckdb.wal": No space left on device'),
    ):
        said = cli._disk_full(error)
        assert said is not None and said.startswith("A disk is full (`"), error
        assert str(tmp_path / "data") in said and "\n" not in said
        assert "a training reuses its finished runs" in said
    assert cli._disk_full(ValueError("Found array with 0 sample(s)")) is None


def test_status_counts_the_assets_the_ui_labels_apart_from_those_downstream(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    """A changed model: the UI labelled 2 assets unsynced, and status said "33 asset(s)
    unsynced", counting the 31 downstream of them that Dagster labels only later."""
    import argparse

    from python_ml.orchestration import runner, versions
    from python_ml.settings import load_settings
    from python_ml.warehouse import db

    stale = {
        "intermediate/int_tracks_enriched": ["has a new code version"],
        "dbt_docs": ["has a new code version"],
        "marts/fct_train_tracks": [
            f"{runner.DOWNSTREAM_OF_UNSYNCED}int_tracks_enriched, which will change"
        ],
    }
    monkeypatch.setattr(runner, "unsynced", lambda settings: stale)
    monkeypatch.setattr(versions, "pending_steps", lambda settings, nothing: {})
    monkeypatch.setattr(db, "check_is_duckdb", lambda path: None)
    monkeypatch.setattr(db.RunLock, "holder", staticmethod(lambda path: None))
    cli.cmd_status(load_settings(), argparse.Namespace(json=False))
    said = capsys.readouterr().out
    assert "Dagster: 2 asset(s) unsynced, as the UI labels them, and 1 downstream of them" in said
    assert "  marts/fct_train_tracks: reads int_tracks_enriched, which will change" in said
