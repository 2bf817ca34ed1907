"""Shared fixtures: small generated raw data, a dbt-built warehouse on it, the main job run on
it, and copies of the project for tests that run commands in a project of their own.

`make test` runs the suite on two processes (pytest-xdist, scheduled by the groups below): each
module is one unit of work, the modules that use the main job's folder in place run one after
another on one worker, and the main job itself runs once for the whole session, whichever
worker asks first (the other waits for it). Plain ``pytest`` runs the same tests in one
process."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from python_ml.raw import generate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SMALL_ROWS = 4_000

# Modules that use the main job's folder in place (test_pipeline runs the job again in it): one
# group, so that they never run beside each other. Every other module is a group of its own.
IN_PLACE = {"test_app", "test_behaviour", "test_pipeline"}
# The order in which the groups are handed out: xdist gives each worker one group, and the next
# one when its current group is down to its last two tests. The main job's group and the
# tracks models start; Spark and the stale cases (the two longest that need the main job) follow
# on different workers, then the rest fills in (measured 2026-12-03: with Spark queued behind
# the stale cases, one worker ran 500 s while the other idled for 120 s).
FIRST = [
    "main_job",
    "test_ml",
    "test_spark",
    "test_stale",
    "test_load",
    "test_dbt_project",
    "test_failures",
]


def group(path: str) -> str:
    """A test module's group (its file name without .py, or main_job)."""
    stem = Path(path.split("::", 1)[0]).stem
    return "main_job" if stem in IN_PLACE else stem


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The groups in the order above (then as collected): xdist hands them out in this order."""

    def rank(item: pytest.Item) -> int:
        name = group(item.nodeid)
        return FIRST.index(name) if name in FIRST else len(FIRST)

    items.sort(key=rank)  # stable: within a rank, the collection's order


@pytest.hookimpl(optionalhook=True)  # pytest without xdist: the hook is simply unused
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scheduling by scope, a scope being a group above: all of a group's tests run on
    one worker, one after another. (Its own ``--dist loadgroup`` marks tests by rewriting their
    node ids, which pytest 9.2 no longer allows: every test would run on its own.)"""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group(nodeid)

    return GroupScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def own_dbt_target() -> None:
    """Each worker's dbt target folder of its own (``target/pytest-gw0``, ...), relative to
    whichever project a command runs in (DBT_TARGET_PATH, read by dbt and by python_ml), and
    its own dbt log folder: two workers' commands in the project never share dbt's manifest,
    compiled files or log."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    os.environ["DBT_TARGET_PATH"] = os.path.join("target", f"pytest-{worker}")
    os.environ["DBT_LOG_PATH"] = os.path.join("logs", f"pytest-{worker}")  # dbt.log, rotated


@contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Hold ``lock`` (a file) against the session's other workers."""
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every worker of this test session shares (each worker's base temp folder is
    inside it; without xdist, the base temp folder itself)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


# Not copied with the project: what it makes or installs (top level only).
NOT_COPIED = {".git", ".venv", "data", "reports", "target", "logs", "dbt_packages", "mlruns"}
NOT_COPIED_ANYWHERE = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ruff_cache")


def copy_project(root: Path) -> Path:
    """A copy of the project's files at ``root`` (not its data, virtualenv or dbt target):
    commands run from it with ``PYTHONPATH=root`` read and write only the copy."""
    root.mkdir(parents=True, exist_ok=True)
    for entry in PROJECT_ROOT.iterdir():
        if entry.name in NOT_COPIED or entry.name.endswith(".egg-info"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, root / entry.name, ignore=NOT_COPIED_ANYWHERE)
        else:
            shutil.copy2(entry, root / entry.name)
    return root


def dbt(
    raw_dir: Path, warehouse: Path, *args: str, autoload: bool = False, work: Path | None = None
) -> subprocess.CompletedProcess:
    """Run dbt on the project with the given raw folder and warehouse file (its target and log
    folders beside the warehouse, or in ``work``). The tests load the
    raw tables themselves (:func:`load`, some with only the tracks files); ``autoload`` lets
    dbt load them, as a user's plain `dbt build` does (python_ml/warehouse/dbt_plugin.py)."""
    env = dict(os.environ)
    env.update(
        MUSIC_RAW_DIR=str(raw_dir),
        MUSIC_WAREHOUSE=str(warehouse),
        MUSIC_AUTOLOAD_RAW="true" if autoload else "false",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
    )
    command = [
        str(Path(sys.executable).with_name("dbt")),
        *args,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT / "profiles"),
        "--target-path",
        str((work or warehouse.parent) / "target"),
        "--log-path",
        str((work or warehouse.parent) / "logs"),
    ]
    return subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)


@contextmanager
def run_lock_held_elsewhere(warehouse: Path) -> Iterator[None]:
    """Another process holds python_ml's run lock on ``warehouse`` (as `make run` does while it
    writes) until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from python_ml.warehouse.db import RunLock\n"
            "with RunLock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(300)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


def load(raw_dir: Path, warehouse: Path, tracks_only: bool = False) -> None:
    """The loader's step before dbt: the raw files into schema raw."""
    from python_ml.raw.schemas import ARTISTS, RAW_FILES, TRACKS
    from python_ml.settings import Settings
    from python_ml.warehouse.load import load_raw

    settings = Settings(PROJECT_ROOT, raw_dir, warehouse, warehouse.parent / "m", warehouse.parent)
    load_raw(settings, [TRACKS, ARTISTS] if tracks_only else RAW_FILES)


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def table_counts(warehouse: Path) -> dict[str, int]:
    """Each table's row count (schema.table -> rows): what a run recorded, to compare."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1"
        ).fetchall()
        return {n: con.execute(f"select count(*) from {n}").fetchone()[0] for (n,) in names}


def once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name``, filled by ``make(folder)`` once per test session: by whichever
    worker asks first, while the others wait for it (a failure is reported to them too)."""
    shared = shared_folder(tmp_path_factory)
    folder, done, failed = shared / name, shared / f"{name}.done", shared / f"{name}.failed"
    with exclusive(shared / f"{name}.lock"):
        if failed.exists():
            pytest.fail(f"{name} failed on another worker:\n{failed.read_text()}")
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                make(folder)
            except BaseException as exc:
                failed.write_text(str(exc)[-8000:])
                raise
            done.touch()
    return folder


@pytest.fixture(scope="session")
def small_raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return once(
        tmp_path_factory, "raw", lambda folder: generate.generate(folder, rows=SMALL_ROWS, seed=7)
    )


@pytest.fixture(scope="session")
def built_warehouse(small_raw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dbt build` of the ML inputs on the small generated data (read it, or copy it)."""

    def build(folder: Path) -> None:
        load(small_raw_dir, folder / "warehouse.duckdb")
        result = dbt(
            small_raw_dir, folder / "warehouse.duckdb", "build", "--exclude", "tag:ml_outputs"
        )
        assert result.returncode == 0, result.stdout[-5000:]

    return once(tmp_path_factory, "built_warehouse", build) / "warehouse.duckdb"


def main_job_env(folder: Path) -> dict[str, str]:
    """Every path of a main job run under ``folder``."""
    return {
        "MUSIC_RAW_DIR": str(folder / "raw"),
        "MUSIC_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "MUSIC_MLFLOW_DIR": str(folder / "mlflow"),
        "MUSIC_REPORTS_DIR": str(folder / "reports"),
        "DAGSTER_HOME": str(folder / "dagster"),
    }


@pytest.fixture(scope="session")
def main_job_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m python_ml run` on small generated data, as a user runs it: a warehouse
    with prediction marts, a champion in MLflow, the report. Its stderr is in stderr.log.
    Run once per test session: beside it, ``main_job_as_run`` keeps the folder as the run left
    it, which tests copy when they run the job again (test_stale.py, test_spark.py)."""

    def run(folder: Path) -> None:
        env = {**os.environ, **main_job_env(folder)}
        result = subprocess.run(
            [sys.executable, "-m", "python_ml", "run", "--offline", "--rows", str(SMALL_ROWS)],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-5000:] + result.stdout[-3000:]
        (folder / "stderr.log").write_text(result.stderr)
        # As the run left it, before any test runs the job again in it.
        shutil.copytree(folder, folder.parent / f"{folder.name}_as_run")

    return once(tmp_path_factory, "main_job", run)
