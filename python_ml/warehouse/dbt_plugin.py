"""Plain ``dbt build`` loads the raw files itself: a dbt-duckdb plugin (profiles.yml,
``plugins:``) that runs python_ml's loader on dbt's own connection when dbt first opens the
warehouse, with the same checks and quarantine as ``python -m python_ml load``.

Only the commands that build models (``dbt build``, ``dbt run``, ``dbt retry``) load; the others
(``dbt test``, ``show``, ``compile``, ``docs generate``, ``source freshness``, ...) read the
warehouse as built.
Nothing is read again when the raw tables already hold the files in ``$MUSIC_RAW_DIR``
(``raw.load_log`` records each file's path, size, load time and SHA-256), so ``python -m python_ml
build``, which loads first, and every later dbt command cost one look at ``raw.load_log``. A file
at a new path, or touched, is hashed: the same content is not loaded again, and a moved file's
new path is recorded (the next command needs no hash).
Without raw files dbt stops with one line naming the folder and ``python -m python_ml extract``.
The loader's rejected-share limit is the dbt var ``max_rejected_share`` as this command sees it:
its ``--vars`` (``dbt build --vars '{max_rejected_share: 0.05}'``), else dbt_project.yml's.
The plugin is off where ``MUSIC_AUTOLOAD_RAW`` is false (python_ml's own steps, which load the
raw files first; a profile's ``config: {autoload: ...}`` overrides it). It reads the variable
itself rather than through profiles.yml: a value rendered in the profile is part of the profile
dbt hashes for partial parsing, so python_ml's dbt commands (false) and a plain `dbt build` on
the same warehouse (true; `make dbt-build`) each parsed the whole project again after the other.
(A process that runs several dbt commands itself, e.g. dbtRunner in a notebook, keeps
dbt-duckdb's first plugin, and its setting, for them all.) Off, it only checks that
``raw.load_log`` is not from an older loader, whose missing columns the staging models read:
every dbt command on such a warehouse stops with what to do (python_ml's steps load the files
again before their dbt commands, so they never meet it).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError

log = logging.getLogger("python_ml.dbt_plugin")

FALSE = {"false", "0", "no", "off", ""}


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        setting = plugin_config.get("autoload", os.environ.get("MUSIC_AUTOLOAD_RAW", "true"))
        self.enabled = str(setting).strip().lower() not in FALSE
        self.checked = False  # once per dbt invocation: the plugin lives as long as dbt's run
        # dbt's threads open their connections at once: one checks and loads, the others wait
        # for it (without the lock, two of them both loaded every file on a fresh warehouse).
        self._lock = threading.Lock()
        # The warehouse's folder, before dbt-duckdb opens the file (after its plugins start):
        # in a fresh clone `data/` does not exist, and plain `dbt build` stopped with DuckDB's
        # "Cannot open file" and a traceback, not with what to do (the raw files to extract).
        path = str(getattr(getattr(self, "creds", None), "path", "") or "")
        if _dbt_command() in OPENS_NO_WAREHOUSE:
            # (`status` parsed the project on a folder never run, and left the warehouse's
            # folder and a lock file behind.)
            return
        if path and path != ":memory:" and "://" not in path and not path.startswith("md:"):
            try:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            except OSError:  # left to DuckDB, which names the file
                pass
            self._take_run_lock(os.path.abspath(path))

    def _take_run_lock(self, path: str) -> None:
        """A plain `dbt ...` that opens the warehouse holds python_ml's run lock for as long as
        it runs (released when the process ends), as python_ml's commands do: a `run` started
        meanwhile says who holds the warehouse instead of failing on DuckDB's lock part-way,
        and the service and the app do not look while it writes (they check the lock first).
        python_ml's own dbt commands run under the lock their parent holds."""
        from pathlib import Path

        from python_ml.settings import RUN_LOCK_HELD_ENV
        from python_ml.warehouse.db import RunLock, WarehouseError

        if str(os.environ.get(RUN_LOCK_HELD_ENV, "")).strip().lower() not in FALSE:
            return
        lock = RunLock(Path(path))
        try:
            lock.__enter__()
        except WarehouseError as exc:
            raise DbtRuntimeError(str(exc)) from None
        self._run_lock = lock  # held until dbt exits

    def configure_connection(self, conn: Any) -> None:
        with self._lock:
            if self.checked:
                return
            self.checked = True  # a failure is reported once, not again on the next connection
            if self.enabled and _builds_models():
                self._load_stale(conn)
            else:
                self._check_log(conn)

    def _check_log(self, conn: Any) -> None:
        """With the autoload off, a load log from an older loader stops dbt with what to do
        (the staging models would fail on its missing columns with DuckDB's binder error)."""
        from python_ml.warehouse import catalog

        missing = catalog.load_log_lacks(conn)
        if missing:
            raise DbtRuntimeError(
                f"{catalog.LOAD_LOG} is from an older python_ml: it does not record each raw "
                f"file's {catalog.in_words(missing)}, which the staging models read. Load the raw "
                "files again: `python -m python_ml load`, or `dbt build` without "
                "MUSIC_AUTOLOAD_RAW=false (it loads them)"
            )

    def _check_raw_folder(self, conn: Any, raw_dir: Any) -> None:
        """A raw folder that does not exist, on a warehouse loaded from one: dbt stops and
        names both (it built from the tables as loaded, one warning per file, and passed)."""
        from python_ml.warehouse.load import missing_raw_folder

        mistyped = missing_raw_folder(conn, raw_dir)
        if mistyped:
            raise DbtRuntimeError(mistyped)

    def _load_stale(self, conn: Any) -> None:
        from python_ml.settings import load_settings
        from python_ml.warehouse.load import LoadError, load_into, record_moves, stale_files

        _show_python_ml_log()
        settings = load_settings()
        self._check_raw_folder(conn, settings.raw_dir)
        moved: list = []
        stale = stale_files(conn, settings, moved=moved)
        if stale:
            log.info(
                "loading the raw files from %s (%s)",
                settings.raw_dir,
                "; ".join(dict.fromkeys(reason for _, reason in stale)),  # each reason once
            )
            try:
                load_into(conn, settings, [raw for raw, _ in stale], dbt_vars=_cli_vars())
            except LoadError as exc:  # "nothing in the warehouse was changed": not the moves
                raise DbtRuntimeError(str(exc)) from None
        record_moves(conn, moved)


# The dbt commands that build models from the raw tables, and so load the raw files first.
# Any other (test, show, compile, docs generate, source freshness, debug, ...) reads the
# warehouse as built: `dbt test` with another MUSIC_RAW_DIR loaded its files under the models
# built from the earlier ones, and the marts no longer matched their staging tables.
BUILDS_MODELS = {"build", "run", "retry"}


# The dbt commands that never open the warehouse: no folder made, no lock taken.
OPENS_NO_WAREHOUSE = {"parse", "deps", "clean", "list", "ls", "init"}


def _dbt_command() -> str | None:
    """This dbt invocation's command (``build``, ``parse``, ...), None when dbt does not say."""
    try:
        from dbt.flags import get_flags

        return getattr(get_flags(), "WHICH", None)
    except Exception:  # dbt's flags not set up
        return None


def _builds_models() -> bool:
    """Whether this dbt invocation builds models (True when dbt does not say: a caller that
    runs dbt some other way keeps the load)."""
    command = _dbt_command()
    return command is None or command in BUILDS_MODELS


def _cli_vars() -> dict[str, Any]:
    """This dbt command's ``--vars`` (dbt's flags, set before any connection opens)."""
    from dbt.flags import get_flags

    given = getattr(get_flags(), "VARS", None)
    return given if isinstance(given, dict) else {}


def _show_python_ml_log() -> None:
    """python_ml's log lines (files loaded, rows quarantined) in dbt's output."""
    logger = logging.getLogger("python_ml")
    if not any(getattr(h, "_music_dbt", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("python_ml: %(message)s"))
        handler._music_dbt = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # dbt's process may log the root logger too: one line each
