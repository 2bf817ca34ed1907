"""The command line's known errors (their message alone, no stack trace) are looked up only in
the modules a failing command imported: each entry must name the class where it is defined."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from python_ml import cli


def test_every_known_error_is_an_exception_defined_in_its_module() -> None:
    for module, name in cli.KNOWN_ERRORS.items():
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, Exception), (module, name)
        assert cls.__module__ == module, f"{name} is defined in {cls.__module__}, not {module}"


def test_every_error_python_ml_defines_is_reported_by_its_message() -> None:
    """Each exception class of the package (every module imported, as after any command)
    is one of the known errors or a subclass of one: its message alone is printed, with no
    stack trace. A new error class must be added to KNOWN_ERRORS (or subclass a known one)."""
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
    known = cli._known_errors()
    unknown = sorted(name for name, cls in defined.items() if not issubclass(cls, known))
    assert unknown == [], f"not reported by their message: {unknown}"
    assert not issubclass(RuntimeError, known)  # an unexpected error keeps its type and -v trace


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
