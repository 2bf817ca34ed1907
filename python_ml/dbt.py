"""Running dbt from python_ml: a subprocess with the project's profiles and absolute paths.

A subprocess (not the in-process dbtRunner) guarantees dbt has released the warehouse file
when it returns, so python_ml can open it next.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

from python_ml.settings import Settings

log = logging.getLogger(__name__)


class DbtError(RuntimeError):
    """dbt exited non-zero."""


def dbt_executable() -> str:
    beside_python = Path(sys.executable).with_name("dbt")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("dbt")
    if found is None:
        raise DbtError("dbt is not installed in this environment. Run `make install`.")
    return found


def run_dbt(settings: Settings, *args: str) -> None:
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(settings.project_root),
        "--profiles-dir",
        str(settings.profiles_dir),
    ]
    log.info("dbt %s", " ".join(args))
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(command, env=settings.dbt_env(), cwd=settings.project_root, check=False)
    if result.returncode != 0:
        raise DbtError(
            f"`dbt {' '.join(args)}` failed (exit {result.returncode}); its output above names "
            "the model or test. Fix it and run the step again."
        )
