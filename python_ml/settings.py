"""Where things live: every path the project uses, resolved once from the environment.

All paths are absolute, so nothing depends on the caller's working directory.

| variable          | default (under the project root) | what                              |
|-------------------|----------------------------------|-----------------------------------|
| MUSIC_RAW_DIR     | data/raw                         | raw Kaggle CSVs, one folder each  |
| MUSIC_WAREHOUSE   | data/warehouse.duckdb            | the DuckDB warehouse file         |
| MUSIC_MLFLOW_DIR  | data/mlflow                      | MLflow tracking store + artifacts |
| MUSIC_REPORTS_DIR | reports                          | charts and the HTML page          |
| MUSIC_SPARK_DIR   | data/spark                       | Spark tables and metastore        |
| DBT_TARGET_PATH   | target                           | dbt's target folder (dbt's own    |
|                   |                                  | variable: plain dbt agrees)       |
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    path = Path(value).expanduser() if value else default
    return path if path.is_absolute() else (Path.cwd() / path).resolve()


RUN_LOCK_HELD_ENV = "MUSIC_RUN_LOCK_HELD"


@dataclass(frozen=True)
class Settings:
    project_root: Path
    raw_dir: Path
    warehouse: Path
    mlflow_dir: Path
    reports_dir: Path
    spark_dir: Path = PROJECT_ROOT / "data" / "spark"

    @property
    def profiles_dir(self) -> Path:
        return self.project_root / "profiles"

    @property
    def target_dir(self) -> Path:
        """dbt's target folder (manifest, compiled SQL, the docs site): ``$DBT_TARGET_PATH``,
        which dbt reads too, relative to the project root; ``target`` by default."""
        return self.project_root / os.environ.get("DBT_TARGET_PATH", "target")

    @property
    def dagster_home(self) -> Path:
        """Dagster's home (run history, dagster.yaml): ``$DAGSTER_HOME``, or ``dagster/``
        beside the warehouse (orchestration/runner.dagster_home checks and makes it)."""
        value = os.environ.get("DAGSTER_HOME")
        return Path(value).resolve() if value else self.warehouse.parent / "dagster"

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt subprocess: absolute paths, so dbt and Python agree."""
        env = dict(os.environ)
        env["MUSIC_RAW_DIR"] = str(self.raw_dir)
        env["MUSIC_WAREHOUSE"] = str(self.warehouse)
        env["DBT_PROFILES_DIR"] = str(self.profiles_dir)
        env["MUSIC_SPARK_DIR"] = str(self.spark_dir)
        # python_ml's own dbt commands run under its run lock (or need none): the dbt plugin
        # takes it only for a plain `dbt ...` (python_ml/warehouse/dbt_plugin.py).
        env[RUN_LOCK_HELD_ENV] = "true"
        # Spark's Python workers (the raw-file data source, scoring) run this interpreter.
        env.setdefault("PYSPARK_PYTHON", sys.executable)
        return env


def load_settings() -> Settings:
    return Settings(
        project_root=PROJECT_ROOT,
        raw_dir=_path_from_env("MUSIC_RAW_DIR", PROJECT_ROOT / "data" / "raw"),
        warehouse=_path_from_env("MUSIC_WAREHOUSE", PROJECT_ROOT / "data" / "warehouse.duckdb"),
        mlflow_dir=_path_from_env("MUSIC_MLFLOW_DIR", PROJECT_ROOT / "data" / "mlflow"),
        reports_dir=_path_from_env("MUSIC_REPORTS_DIR", PROJECT_ROOT / "reports"),
        spark_dir=_path_from_env("MUSIC_SPARK_DIR", PROJECT_ROOT / "data" / "spark"),
    )


# The browser UIs the app, the report and Dagster's metadata link to: each from its variable
# (the Makefile sets them from DOCS_PORT, MLFLOW_PORT and DAGSTER_PORT), or the make target's
# default address.
UI_ADDRESSES = {
    "docs": ("MUSIC_DOCS_UI", "http://127.0.0.1:8080"),
    "mlflow": ("MUSIC_MLFLOW_UI", "http://127.0.0.1:5000"),
    "dagster": ("MUSIC_DAGSTER_UI", "http://127.0.0.1:3000"),
}


def ui_address(name: str) -> str:
    """Where the UI ``name`` (docs, mlflow, dagster) is served, without a trailing slash."""
    variable, default = UI_ADDRESSES[name]
    return (os.environ.get(variable, "").strip() or default).rstrip("/")


def folder_problem(folder: Path) -> str | None:
    """Why files cannot be written in ``folder`` (it is created when missing), or None."""
    if folder.exists() and not folder.is_dir():
        return "is a file, not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot be created ({exc.strerror})"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "is read-only"
    return None
