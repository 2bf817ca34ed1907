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


def test_a_known_error_of_an_imported_module_is_recognised() -> None:
    from python_ml.warehouse.load import LoadError

    assert isinstance(LoadError("x"), cli._known_errors())
    assert not isinstance(RuntimeError("x"), cli._known_errors())


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
