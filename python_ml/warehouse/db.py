"""The one way to open the warehouse: connections, the run lock, the checks before writing.

DuckDB allows one read-write process or many read-only ones, so python_ml opens the file
read-only to read, read-write only to write, and always closes it before dbt runs again.
Table names live in :mod:`python_ml.warehouse.catalog`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from python_ml.errors import UserError
from python_ml.warehouse.catalog import ml_column_types, ml_columns


def insert_rows(
    connection: duckdb.DuckDBPyConnection, table: str, frame, replace: bool = False
) -> None:
    """Insert a DataFrame into an `ml` table; every column must be one the source declares."""
    known = ml_columns(table)
    unknown = [c for c in frame.columns if c not in known]
    if unknown:
        raise WarehouseError(f"{table} has no columns {unknown} (declared: {list(known)})")
    widen(connection, table, list(frame.columns))
    columns = ", ".join(check_identifier(c) for c in frame.columns)
    connection.register("rows_to_insert", frame)
    try:
        verb = "insert or replace" if replace else "insert"
        connection.execute(f"{verb} into {table} ({columns}) select {columns} from rows_to_insert")
    finally:
        connection.unregister("rows_to_insert")


def widen(connection: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> None:
    """Add those of ``columns`` that an `ml` table lacks, with their declared types: a
    warehouse whose dbt has not run since the source declared them (dbt's on-run-start adds
    them the same way: macro create_ml_source_tables)."""
    schema, name = table.split(".")
    present = {
        r[0]
        for r in connection.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }
    declared = ml_column_types(table)
    for column in columns:
        if column not in present and column in declared:
            added = declared[column].replace(" primary key", "").replace(" not null", "")
            connection.execute(
                f"alter table {table} add column if not exists {check_identifier(column)} {added}"
            )


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WarehouseError(UserError, RuntimeError):
    """The warehouse cannot be used as asked; the message says why and what to do."""


def check_identifier(name: str) -> str:
    """A column or feature name that is safe to put into SQL unquoted."""
    if not _IDENTIFIER.match(name):
        raise WarehouseError(f"{name!r} is not a valid column name (letters, digits and _ only).")
    return name


def _retry(attempt, error: type[BaseException], seconds: float = 2.0):
    """``attempt()``, again every 0.1 s for up to ``seconds`` while it raises ``error``
    (a lock another process holds briefly)."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            return attempt()
        except error as exc:
            if time.monotonic() >= deadline or (
                isinstance(exc, duckdb.Error) and "lock" not in str(exc).lower()
            ):
                raise
            time.sleep(0.1)


def held_open_by(path: Path) -> str | None:
    """The process another program's DuckDB names as holding the warehouse open now (one that
    writes it, so no other may open it), or None."""
    if not path.exists():
        return None
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as exc:
        if "lock" not in str(exc).lower():
            return None
        found = re.search(r"\(PID (\d+)\)", str(exc))
        return f"process {found.group(1)}" if found else "another process"
    return None


@contextmanager
def connect(path: Path, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse; a lock held by another process becomes a clear error."""
    if read_only and not path.exists():
        raise WarehouseError(
            f"The warehouse {path} does not exist yet. Build it first: `make run`, or "
            "`python -m python_ml build`."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(
            f"The warehouse's folder {path.parent} cannot be created ({exc.strerror}). Set "
            "MUSIC_WAREHOUSE to a path in a folder you can write."
        ) from None
    check_is_duckdb(path)
    try:
        # A reader (the app) holds the file for a query's milliseconds: a writer waits it out.
        connection = _retry(
            lambda: duckdb.connect(str(path), read_only=read_only),
            duckdb.IOException,
            seconds=0 if read_only else 5,
        )
    except (duckdb.IOException, duckdb.Error) as exc:
        if "lock" in str(exc).lower():
            holder = re.search(r"\(PID (\d+)\)", str(exc))
            who = f" (process {holder.group(1)})" if holder else ""
            raise WarehouseError(
                f"The warehouse {path} is locked by another process{who}: a dbt run, a "
                "notebook or a DuckDB shell holding it open. Close it and try again."
            ) from None
        first = str(exc).splitlines()[0]
        if "could not read enough bytes" in first.lower():
            raise WarehouseError(
                f"The warehouse {path} is damaged (cut short or overwritten part-way: a copy or "
                "a disk that filled up). Put a good copy back, or move it away and run `make "
                "run` to build a new one from the raw files (they are kept)."
            ) from None
        raise WarehouseError(f"The warehouse {path} cannot be opened: {first}") from None
    # No progress bar: DuckDB draws one on stdout for a query over 2 s, which breaks the lines
    # of a log (the service's, a run's). A setting of this connection only.
    connection.execute("set enable_progress_bar = false")
    try:
        yield connection
    finally:
        connection.close()


DUCKDB_MAGIC = b"DUCK"
MIN_FREE_BYTES = 1 << 30


def check_is_duckdb(path: Path) -> None:
    """The warehouse's path holds a DuckDB file or nothing yet: a folder, an empty file or
    another kind of file is one line naming it and what to do."""
    if path.is_dir():
        raise WarehouseError(
            f"The warehouse {path} is a folder, not a DuckDB file. Point MUSIC_WAREHOUSE at a "
            "file path, e.g. data/warehouse.duckdb."
        )
    if path.exists() and path.stat().st_size == 0:
        raise WarehouseError(
            f"The warehouse {path} is an empty file (0 bytes), not a DuckDB database: a copy or "
            "a download that did not finish. Delete it (a new warehouse is built) or put the "
            "real file back."
        )
    if path.exists():
        with open(path, "rb") as stream:
            head = stream.read(16)
        if head[8:12] != DUCKDB_MAGIC:
            raise WarehouseError(
                f"The warehouse {path} is not a DuckDB database (it holds other data). Move it "
                "away, or point MUSIC_WAREHOUSE at another file; a new warehouse is built there."
            )


def preflight(path: Path, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """Before a step writes the warehouse (and before dbt runs): one clear line, no
    traceback, for a folder that cannot be written, a file that is not DuckDB, a file held
    by another process, or a disk that is nearly full."""
    import os
    import shutil

    if any(quote in path.stem for quote in "'\""):
        # dbt-duckdb names the database after the file (its stem), and its own SQL broke on
        # the quote in DuckDB's words, after the raw files were loaded.
        plain = path.stem.replace("'", "").replace('"', "") or "warehouse"
        raise WarehouseError(
            f"The warehouse file name {path.name} holds a quote: dbt names the database after "
            f"it and cannot use one there. Set MUSIC_WAREHOUSE to a name without quotes, "
            f"such as {path.with_name(plain + path.suffix)}."
        )
    folder = path.parent
    existing = folder
    while not existing.exists():
        existing = existing.parent
    blocked = path if path.exists() else existing
    if not os.access(blocked, os.W_OK) or not os.access(existing, os.W_OK):
        raise WarehouseError(
            f"The warehouse {path} cannot be written: {blocked} is read-only. Set "
            "MUSIC_WAREHOUSE to a path you can write, or fix the permissions."
        )
    free = shutil.disk_usage(existing).free
    if free < min_free_bytes:
        raise WarehouseError(
            f"Only {free / 2**20:,.0f} MB are free on the disk of {path} (at least "
            f"{min_free_bytes / 2**20:,.0f} MB needed). Free some space and try again."
        )
    check_is_duckdb(path)
    if path.exists():  # held open by another process? (a new file is created by the step)
        with connect(path, read_only=False):
            pass


class WarehouseBusy(WarehouseError):
    """Another command writes the warehouse now; the message names it."""


def _command_line(argv: list[str]) -> str:
    """This process as the next command names it: `python -m python_ml run`, `dbt build ...`
    (plain dbt holds the lock through its plugin: it read as a python_ml `build`), or the
    program (a Dagster step's worker said only "PID 24697:")."""
    program = Path(argv[0]).name if argv and argv[0] else "python"
    if argv and Path(argv[0]).parts[-2:] == ("python_ml", "__main__.py"):
        program = "python -m python_ml"
    return " ".join([program, *argv[1:]])


class RunLock:
    """One python_ml command that writes the warehouse at a time: a second one says which
    process holds it instead of interleaving its steps with the first one's."""

    # Locks this process holds, by lock file: a step inside `run` (which holds the lock)
    # takes it again without waiting for itself.
    _held: dict[Path, int] = {}

    @staticmethod
    def file(warehouse_path: Path) -> Path:
        """The lock file of a warehouse (beside it: ``warehouse.duckdb.lock``)."""
        return warehouse_path.with_name(warehouse_path.name + ".lock")

    def __init__(self, path: Path) -> None:
        self.path = RunLock.file(path)
        self._handle = None
        self._nested = False
        # What taking the lock made (the lock file, the warehouse's missing folders): removed
        # again when the command leaves no warehouse (`score` on a mistyped MUSIC_WAREHOUSE
        # left a new folder holding a lock file alone).
        self._made: list[Path] = []

    def __enter__(self) -> RunLock:
        import fcntl
        import os

        if self._held.get(self.path):
            self._held[self.path] += 1
            self._nested = True
            return self
        try:
            missing = self.path.parent
            while not missing.exists() and missing != missing.parent:
                self._made.insert(0, missing)
                missing = missing.parent
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                self._made.append(self.path)
            handle = open(self.path, "a+")
        except OSError as exc:
            warehouse = self.path.with_name(self.path.name.removesuffix(".lock"))
            raise WarehouseError(
                f"The warehouse {warehouse} cannot be written: its folder {self.path.parent} "
                f"is not writable ({exc.strerror}). Set MUSIC_WAREHOUSE to a path in a folder "
                "you can write, or fix the folder's permissions."
            ) from None
        try:
            _retry(lambda: fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB), BlockingIOError)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise WarehouseError(
                f"The warehouse {self.path.with_suffix('')} is in use by another command "
                f"({holder}). Wait for it to finish, or stop it, and try again."
            ) from None
        handle.seek(0)
        handle.truncate()
        import sys

        handle.write(f"PID {os.getpid()}: {_command_line(sys.argv)[:200]}")
        handle.flush()
        self._handle = handle
        self._held[self.path] = 1
        return self

    @staticmethod
    def holder(warehouse_path: Path) -> str | None:
        """Which python_ml command holds the warehouse's lock now (None: none). A reader
        that checks first (the app) never opens the file while a run writes it."""
        import fcntl

        path = RunLock.file(warehouse_path)
        if not path.exists():
            return None
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                return handle.read().strip() or "another process"
            fcntl.flock(handle, fcntl.LOCK_UN)
        return None

    def __exit__(self, *exc: object) -> None:
        self._held[self.path] = self._held.get(self.path, 1) - 1
        if self._nested:
            self._nested = False
            return
        if self._handle is not None:
            import fcntl

            warehouse = self.path.with_name(self.path.name.removesuffix(".lock"))
            if self._made and not warehouse.exists():  # removed while still held
                for made in reversed(self._made):
                    with suppress(OSError):  # a folder something else wrote to stays
                        if made == self.path:
                            made.unlink()
                        else:
                            made.rmdir()
            self._made = []
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def has_table(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``schema.name`` exists."""
    schema, name = table.split(".")
    return bool(
        connection.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def require_tables(connection: duckdb.DuckDBPyConnection, *tables: str) -> None:
    """Fail with the missing table names and the command that builds them."""
    existing = {
        f"{schema}.{name}"
        for schema, name in connection.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }
    missing = [t for t in tables if t not in existing]
    if missing:
        raise WarehouseError(
            f"The warehouse has no {', '.join(missing)}. Run `python -m python_ml build` "
            "(dbt build) first."
        )
