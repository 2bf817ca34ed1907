"""The raw files as a Spark data source (``music_raw``), so that plain ``dbt build --target
spark`` loads them itself, with DuckDB's loader: the same checks, quarantine and file lines as
``python -m python_ml load`` on DuckDB, from one definition (warehouse/load.py).

Spark 4 registers, in every session, the ``DefaultSource`` of each installed top-level module
named ``pyspark_*`` (``pyspark_music_popularity.py`` at the project root points here), so dbt's
own Spark session knows ``music_raw`` without any Python of ours running in dbt's process. The
dbt macro ``load_raw_tables`` (macros/load_raw_tables.sql, run by ``on-run-start`` and by
``python -m python_ml load --engine spark``) reads it as temporary views:

| option ``part`` | rows                                                                     |
|-----------------|--------------------------------------------------------------------------|
| ``stale``       | (dataset, table_name, raw_table, reason) of each raw file whose Spark    |
|                 | tables need loading; options ``logged`` (raw.load_log's rows as JSON,    |
|                 | loaded_at in microseconds since 1970 UTC) and ``tables``, or ``force``   |
|                 | true: every raw file                                                     |
| ``log``         | the file's ``raw.load_log`` row, or one row whose ``error`` says why it  |
|                 | cannot be loaded (a missing file, a bad header, too many rejected rows,  |
|                 | a file cut short: options ``rows_before`` and ``loaded_before``, its     |
|                 | last load's rows and time, in microseconds since 1970 UTC)               |
| ``rows``        | the file's kept rows: ``file_line``, its header's columns as text,       |
|                 | ``_loaded_at``                                                           |
| ``rejects``     | its ``raw.load_rejects`` rows                                            |

``log``, ``rows`` and ``rejects`` take ``dataset``, ``table`` and ``loaded_at`` (ISO, UTC);
each reads the file with DuckDB in memory in Spark's Python worker, stamped with the same
``loaded_at`` (the macro checks that the rows written are the rows the log counted: a file
changed in between stops the load). Every part takes ``raw_dir``, the raw folder of the dbt
command (its ``MUSIC_RAW_DIR``, an absolute path: the workers run in a folder of their own);
without it, the workers' own environment's. The log and reject columns are those of DuckDB's
loader tables (warehouse/load.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition

NAME = "music_raw"

SPARK_TYPES = {"VARCHAR": "string", "BIGINT": "bigint", "TIMESTAMP": "timestamp"}


def loader_columns(table: str) -> str:
    """The columns of DuckDB's ``raw.<table>`` (load_log, load_rejects) in Spark's words."""
    import duckdb

    from python_ml.warehouse.load import create_log_tables

    with duckdb.connect() as con:
        create_log_tables(con)
        described = con.execute(f"describe raw.{table}").fetchall()
    return ", ".join(f"{name} {SPARK_TYPES[kind]}" for name, kind, *_ in described)


def part_schema(part: str) -> str:
    if part == "stale":
        return "dataset string, table_name string, raw_table string, reason string"
    if part == "log":
        return f"{loader_columns('load_log')}, error string"
    if part == "rejects":
        return loader_columns("load_rejects")
    raise ValueError(f"{NAME}: option part must be one of stale, log, rows, rejects")


def _raw_file(options: dict[str, str]) -> Any:
    from python_ml.raw.schemas import RAW_FILES

    dataset, table = options.get("dataset"), options.get("table")
    for raw in RAW_FILES:
        if (raw.dataset, raw.table) == (dataset, table):
            return raw
    known = ", ".join(f"{r.dataset}/{r.table}" for r in RAW_FILES)
    raise ValueError(f"{NAME}: no raw file {dataset}/{table}; the raw files are {known}")


def raw_dir(options: dict[str, str]) -> Path:
    """The raw folder the dbt command named (option ``raw_dir``), else the environment's."""
    from python_ml.settings import load_settings

    return Path(options["raw_dir"]) if options.get("raw_dir") else load_settings().raw_dir


def header(options: dict[str, str]) -> list[str]:
    """The columns of the raw file's header (the Kaggle ones when the file is missing: its
    load then fails with the loader's message)."""
    from python_ml.raw.extract import find_raw_file, read_header

    raw = _raw_file(options)
    path = find_raw_file(raw_dir(options), raw)
    return read_header(path, raw.encodings) if path is not None else list(raw.columns)


def rows_schema(options: dict[str, str]) -> str:
    """The raw table's columns: its file line, the header's columns (text), the load time."""
    columns = ", ".join("`" + name.replace("`", "``") + "` string" for name in header(options))
    return f"file_line bigint, {columns}, _loaded_at timestamp"


class RawFileSource(DataSource):
    """``spark.read.format("music_raw").option("part", ...)``; see the module doc."""

    @classmethod
    def name(cls) -> str:
        return NAME

    def schema(self) -> str:
        part = self.options.get("part", "")
        if part == "rows":
            return rows_schema(dict(self.options))
        return part_schema(part)

    def reader(self, schema: Any) -> DataSourceReader:
        return RawFileReader(dict(self.options))


class RawFileReader(DataSourceReader):
    def __init__(self, options: dict[str, str]) -> None:
        self.options = options

    def partitions(self) -> list[InputPartition]:
        return [InputPartition(0)]  # one file, read whole: its rows keep the file's order

    def read(self, partition: InputPartition) -> Iterator[Any]:
        part = self.options["part"]
        if part == "stale":
            yield from stale(self.options)
            return
        yield from loaded(self.options, part)


def stale(options: dict[str, str]) -> Iterator[tuple]:
    from python_ml.raw.schemas import RAW_FILES
    from python_ml.warehouse.load import stale_reasons

    if options.get("force", "").lower() == "true":
        for raw in RAW_FILES:
            yield raw.dataset, raw.table, raw.raw_table, "every raw file is loaded again"
        return
    logged = [
        (d, t, path, int(size), _from_micros(int(at)), sha, version)
        for d, t, path, size, at, sha, version in json.loads(options.get("logged") or "[]")
    ]
    tables = {name.lower() for name in json.loads(options.get("tables") or "[]")}
    for raw, reason in stale_reasons(raw_dir(options), RAW_FILES, logged, tables):
        yield raw.dataset, raw.table, raw.raw_table, reason


def _from_micros(micros: int) -> datetime:
    """A load time read back from Spark (microseconds since 1970, UTC) as the loader keeps it:
    UTC without a time zone."""
    return datetime.fromtimestamp(micros / 1_000_000, UTC).replace(tzinfo=None)


def _utc(row: tuple) -> tuple:
    """A row for Spark: its times (UTC without a zone, as DuckDB keeps them) marked UTC, or
    Spark would read them in the worker's local time zone."""
    return tuple(v.replace(tzinfo=UTC) if isinstance(v, datetime) else v for v in row)


def loaded(options: dict[str, str], part: str) -> Iterator[Any]:
    """The file loaded by DuckDB's loader into an in-memory database, and the ``part`` of it."""
    import duckdb
    import pyarrow as pa

    from python_ml.settings import load_settings
    from python_ml.warehouse import catalog
    from python_ml.warehouse.load import (
        LOAD_LOG_COLUMNS,
        REJECTED_SHARE_VAR,
        LoadError,
        create_log_tables,
        load_into,
    )

    raw = _raw_file(options)
    loaded_at = datetime.fromisoformat(options["loaded_at"])
    # The dbt command's var (its --vars, else dbt_project.yml's), as its singular test reads it.
    share = options.get(REJECTED_SHARE_VAR)
    with duckdb.connect() as con:
        if options.get("rows_before"):
            # Spark's last load of the file, which DuckDB's loader compares the file with (a
            # file cut short, with far fewer rows, is refused): its log had none to compare.
            create_log_tables(con)
            con.execute(
                f"insert into {catalog.LOAD_LOG} (dataset, table_name, file_path, encoding, "
                "file_bytes, rows_read, rows_kept, rows_rejected, loaded_at) "
                "values (?, ?, '', '', 0, ?, 0, 0, ?)",
                [
                    raw.dataset,
                    raw.table,
                    int(options["rows_before"]),
                    _from_micros(int(options["loaded_before"])),
                ],
            )
        try:
            load_into(
                con,
                replace(load_settings(), raw_dir=raw_dir(options)),
                [raw],
                loaded_at=loaded_at,
                dbt_vars={REJECTED_SHARE_VAR: share} if share is not None else None,
            )
        except LoadError as exc:
            if part == "log":
                yield (raw.dataset, raw.table, *([None] * (len(LOAD_LOG_COLUMNS) - 2)), str(exc))
                return
            raise
        if part == "log":
            for row in con.execute(f"select * from {catalog.LOAD_LOG}").fetchall():
                yield (*_utc(row), None)
        elif part == "rejects":
            for row in con.execute(f"select * from {catalog.LOAD_REJECTS}").fetchall():
                yield _utc(row)
        else:
            names = ["file_line", *header(options), "_loaded_at"]
            select = ", ".join('"' + name.replace('"', '""') + '"' for name in names)
            # Spark reads a timestamp as an instant: the load time is UTC.
            utc = pa.timestamp("us", tz="UTC")
            for batch in con.sql(f"select {select} from {raw.raw_table}").to_arrow_reader():
                columns = [*batch.columns[:-1], batch.column(-1).cast(utc)]
                yield pa.RecordBatch.from_arrays(columns, names=names)
