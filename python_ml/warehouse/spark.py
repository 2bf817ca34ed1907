"""The Spark engine (optional extra `spark`): sessions with the dbt profile's parameters, and the
champion's scoring on Spark.

The dbt project runs unchanged on Spark with ``--target spark`` (profiles/profiles.yml); it
loads its raw tables itself (macros/load_raw_tables.sql, with python_ml's Spark data source,
warehouse/spark_source.py). Spark's parameters are defined once, in that profile's
``server_side_parameters``: :func:`session` renders them the way dbt does (``env_var``), so
dbt (which loads the raw files) and scoring see the same metastore and warehouse folder under
``MUSIC_SPARK_DIR``.

A session holds the embedded metastore (Derby) while it is open: one process at a time, so
each Spark step runs in its own process (dbt, scoring), or all of them in one process that
shares one session (dbt in-process, then scoring: the tests).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from python_ml.clock import utc_now
from python_ml.errors import UserError
from python_ml.settings import Settings
from python_ml.steps import step

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

TARGET = "spark"


class SparkUnavailable(UserError, RuntimeError):
    """The spark extra or a JVM is missing."""


def check_available() -> None:
    """pyspark and dbt-spark importable and a JVM found, or a SparkUnavailable saying what to do."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable(
            "The Spark engine is not installed in this virtualenv (pyspark and dbt-spark, the "
            "`spark` extra): run `make install-spark`, then the command again (Spark also "
            "needs Java 17 or newer)."
        ) from None
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))):
        if shutil.which("java") is None:
            raise SparkUnavailable(
                "Spark needs Java 17 or newer: install it (Debian: apt-get install "
                "openjdk-17-jre-headless) or set JAVA_HOME."
            )


def parameters(settings: Settings) -> dict[str, str]:
    """The spark target's server_side_parameters from profiles/profiles.yml, rendered as dbt
    renders them (``env_var`` from the environment dbt gets)."""
    import jinja2

    env = settings.dbt_env()

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is None:
            raise SparkUnavailable(f"profiles.yml needs the environment variable {name}")
        return default

    profile = yaml.safe_load((settings.profiles_dir / "profiles.yml").read_text(encoding="utf-8"))
    target = next(iter(profile.values()))["outputs"][TARGET]
    return {
        key: jinja2.Template(str(value)).render(env_var=env_var)
        for key, value in target["server_side_parameters"].items()
    }


@contextmanager
def session(settings: Settings) -> Iterator[SparkSession]:
    """A Spark session with the dbt profile's parameters (stopped at the end). A session
    already running in this process (dbt's, when dbt runs in-process, or a notebook's) is used
    and left running, provided it holds the same warehouse folder; another one is an error."""
    check_available()
    from pyspark.sql import SparkSession

    wanted = parameters(settings)
    running = _running_session()
    if running is not None:
        warehouse = "spark.sql.warehouse.dir"
        held = running.conf.get(warehouse, None)
        if Path(held.removeprefix("file:")).resolve() != Path(wanted[warehouse]).resolve():
            raise SparkUnavailable(
                f"this process already runs a Spark session on the warehouse folder {held}, "
                f"not {wanted[warehouse]} (MUSIC_SPARK_DIR): stop it, or run python_ml in a "
                "process of its own"
            )
        yield running
        return
    settings.spark_dir.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.appName("music-popularity").enableHiveSupport()
    for key, value in wanted.items():
        builder = builder.config(key, value)
    # Python workers (the scoring UDF) run this interpreter, with the project's packages.
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    spark = builder.getOrCreate()  # its log level: the profile's spark.log.level
    try:
        yield spark
    finally:
        spark.stop()
        stop_jvm()


def _running_session() -> SparkSession | None:
    """The Spark session this process already runs (any thread's), or None."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is None:
        return None
    try:
        return SparkSession.active()  # the thread's active session, else the default one
    except Exception:  # PySparkRuntimeError: none
        return None


def stop_jvm() -> None:
    """End the JVM pyspark started, so the embedded metastore (Derby) is free for the next
    process (dbt) and a later session in this process starts afresh."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is None:
        return
    process = getattr(gateway, "proc", None)
    gateway.shutdown()
    if process is not None:
        process.stdin.close()  # the JVM exits when its stdin closes
        try:
            process.wait(timeout=30)
        except Exception:
            process.kill()
    SparkContext._gateway = None
    SparkContext._jvm = None


# --------------------------------------------------------------------------------------------
# scoring


def spark_type(declared: str) -> str:
    """A declared DuckDB column type (``varchar not null``, ``double[]``) in Spark's words, as
    the macro spark_type writes it for the tables dbt creates."""
    base = declared.lower()
    for clause in (" primary key", " not null", " default false"):
        base = base.replace(clause, "")
    base = base.strip()
    if base.endswith("[]"):
        return f"array<{spark_type(base[:-2])}>"
    return {"varchar": "string", "integer": "int"}.get(base, base)


def _partitioned_by_run(spark: SparkSession, table: str) -> None:
    """An `ml` table that scoring writes (ml.track_predictions, ml.track_explanations) is
    partitioned by run_id on Spark, so a run's rows are replaced as one partition (the other
    runs' rows are never rewritten)."""
    from python_ml.warehouse import catalog

    types = {c: spark_type(t) for c, t in catalog.ml_column_types(table).items()}
    # A partition column comes last in Spark's table: the others keep their declared order.
    columns = [c for c in types if c != "run_id"] + ["run_id"]
    if spark.catalog.tableExists(table):
        existing = spark.catalog.listColumns(table)
        partitions = [c.name for c in existing if c.isPartition]
        if partitions == ["run_id"]:
            added = [c for c in columns if c not in {e.name for e in existing}]
            if added:  # declared since the table was made: widen it, as dbt does on DuckDB
                spark.sql(
                    f"alter table {table} add columns "
                    f"({', '.join(f'{c} {types[c]}' for c in added)})"
                )
            return
        if spark.table(table).limit(1).count():
            raise RuntimeError(f"{table} on Spark holds rows but is not partitioned by run_id")
        spark.sql(f"drop table {table}")
    spark.sql("create database if not exists ml")
    spark.sql(
        f"create table {table} ({', '.join(f'{c} {types[c]}' for c in columns)}) "
        "using parquet partitioned by (run_id)"
    )


def _scored_batches(champion: dict[str, Any], scored_at: Any, part: str) -> Any:
    """The function each executor runs over its batches of predict tracks (``mapInPandas``):
    the champion read from its logged folder once per task, then per batch the same rows as
    DuckDB's scoring (tracks/batch.py): ``predictions`` or ``explanations``."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        from python_ml.tracking.champion_files import read_model_folder
        from python_ml.tracks.batch import prediction_batch

        model = read_model_folder(
            Path(champion["path"]),
            champion["run_id"],
            champion["kind"],
            champion["temperature"],
            champion["weights"],
        )
        for batch in batches:
            predictions, explanations = prediction_batch(
                model, batch, champion["run_id"], scored_at, champion["data_origin"]
            )
            yield (predictions if part == "predictions" else explanations).to_pandas()

    return run


def _champion_record(settings: Settings) -> dict[str, Any]:
    """The warehouse's champion and where its logged model is (ml.model_runs)."""
    import json

    from python_ml.tracking.champion_files import ChampionUnavailable, warehouse_champion
    from python_ml.warehouse import catalog, db

    recorded = warehouse_champion(settings)
    with db.connect(settings.warehouse) as con:
        kind, temperature, weights, path, data_origin = con.execute(
            f"select model_type, temperature, decision_weights, model_path, data_origin "
            f"from {catalog.MODEL_RUNS} where run_id = ?",
            [recorded["run_id"]],
        ).fetchone()
    if not path:
        raise ChampionUnavailable(
            f"the champion (run {recorded['run_id']}) was recorded before its model folder was "
            "kept: run `python -m python_ml train --force` to fit and register it again"
        )
    return {
        "run_id": recorded["run_id"],
        "fingerprint": recorded["fingerprint"],
        "version": recorded["version"],
        "kind": kind,
        "temperature": temperature,
        "weights": json.loads(weights) if isinstance(weights, str) else weights,
        "path": str(settings.mlflow_dir / path),
        "data_origin": str(data_origin or ""),  # the reasons mark a generated feature by it
    }


def spark_train_fingerprint(settings: Settings, files: list[str]) -> str:
    """The fingerprint of Spark's train split (``files``: its parquet files), by the one
    definition DuckDB's champion check uses (tracks/data.py ``train_fingerprint``), each column
    cast to the DuckDB warehouse's type (a hash depends on the type)."""
    import duckdb

    from python_ml.tracks.data import train_fingerprint
    from python_ml.warehouse import catalog, db

    schema, table = catalog.TRAIN_TRACKS.split(".")
    with db.connect(settings.warehouse) as warehouse:
        types = warehouse.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    columns = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in types)
    paths = [f.removeprefix("file://").removeprefix("file:") for f in files]
    listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    with duckdb.connect() as con:
        con.execute(f"create schema {schema}")
        con.execute(
            f"create view {catalog.TRAIN_TRACKS} as select {columns} from read_parquet([{listed}])"
        )
        return train_fingerprint(con)


def score_tracks(settings: Settings) -> dict[str, Any]:
    """The champion scores and explains Spark's predict table where the data is: every
    executor runs the same batch function as DuckDB's scoring (tracks/batch.py) over its
    rows (``mapInPandas``), into Spark's ``ml.track_predictions`` and ``ml.track_explanations``
    (this run's partition of each replaced). Training stays on one machine (README, "Spark")."""
    import time

    from pyspark.sql import functions as F

    from python_ml.warehouse import catalog, db

    champion = _champion_record(settings)
    run_id = champion["run_id"]
    features = ["track_id", *_champion_features(champion)]
    scored_at = utc_now()
    with session(settings) as spark:
        if not spark.catalog.tableExists(catalog.PREDICT_TRACKS):
            raise db.WarehouseError(
                f"Spark has no {catalog.PREDICT_TRACKS} under {settings.spark_dir}. Build it "
                "first: `python -m python_ml build --engine spark`."
            )
        # The champion is of the DuckDB warehouse's train split (_champion_record): Spark's
        # tables must hold the same split, or its scores describe other data.
        from python_ml.tracking.champion_files import ChampionUnavailable

        if spark.catalog.tableExists(catalog.TRAIN_TRACKS):
            files = spark.table(catalog.TRAIN_TRACKS).inputFiles()
            spark_split = spark_train_fingerprint(settings, files) if files else ""
        else:
            spark_split = ""
        if spark_split != champion["fingerprint"]:
            raise ChampionUnavailable(
                f"Spark's train split (under {settings.spark_dir}, fingerprint "
                f"{spark_split[:12] or 'none'}) is not the one the champion was trained on "
                f"({champion['fingerprint'][:12]}): its scores would describe other data. Build "
                "Spark from the DuckDB warehouse's raw files (`python -m python_ml build --engine "
                "spark` with the same MUSIC_RAW_DIR), or train on Spark's files (`python -m "
                "python_ml run`)."
            )
        spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
        for table in (catalog.TRACK_PREDICTIONS, catalog.TRACK_EXPLANATIONS):
            _partitioned_by_run(spark, table)
        started = time.perf_counter()
        tracks = spark.table(catalog.PREDICT_TRACKS).select(
            "track_id", *[F.col(f).cast("double").alias(f) for f in features[1:]]
        )
        for table, part in (
            (catalog.TRACK_PREDICTIONS, "predictions"),
            (catalog.TRACK_EXPLANATIONS, "explanations"),
        ):
            schema = spark.table(table).schema
            rows = tracks.mapInPandas(_scored_batches(champion, scored_at, part), schema)
            rows.select(*schema.fieldNames()).write.insertInto(table, overwrite=True)
        seconds = time.perf_counter() - started
        rows = spark.table(catalog.TRACK_PREDICTIONS).where(F.col("run_id") == run_id).count()
        for table in (catalog.MODEL_RUNS, catalog.FEATURE_IMPORTANCE, catalog.SONG_PREDICTIONS):
            copy_table(settings, spark, table)
    log.info(
        "champion: run %s (version %d) scored and explained %s tracks on Spark in %.1f s "
        "(%s rows/s)",
        run_id,
        champion["version"],
        f"{rows:,}",
        seconds,
        f"{rows / max(seconds, 1e-9):,.0f}",
    )
    return {"run_id": run_id, "rows": rows, "seconds": seconds}


def _champion_features(champion: dict[str, Any]) -> list[str]:
    """The features the champion's logged model reads, in its order (its MLmodel signature)."""
    import json

    import yaml

    spec = yaml.safe_load((Path(champion["path"]) / "MLmodel").read_text(encoding="utf-8"))
    return [column["name"] for column in json.loads(spec["signature"]["inputs"])]


def copy_table(settings: Settings, spark: SparkSession, table: str) -> int:
    """What is fitted on one machine, in DuckDB (the record of training: ml.model_runs,
    ml.feature_importance; the 2023 songs study's predictions: ml.song_predictions), copied
    whole to Spark's table of that name, so the prediction marts there name the champion,
    its figures and what it relies on, and the songs marts hold the study's predictions (they
    were built empty on Spark). A table the warehouse does not hold yet (the songs study not
    run) leaves Spark's as it is; the rows copied."""
    import pandas as pd

    from python_ml.warehouse import catalog, db

    with db.connect(settings.warehouse) as con:
        if not db.has_table(con, table):
            log.warning(
                "the warehouse %s has no %s yet: Spark's is left as it is (run `python -m "
                "python_ml run`, then score on Spark again)",
                settings.warehouse,
                table,
            )
            return 0
        runs = con.execute(f"select * from {table}").df()
    types = {c: spark_type(t) for c, t in catalog.ml_column_types(table).items()}
    present = set(spark.table(table).schema.fieldNames())
    added = [c for c in types if c not in present and c in runs.columns]
    if added:  # declared since Spark's table was made: widen it, as dbt does
        spark.sql(
            f"alter table {table} add columns ({', '.join(f'{c} {types[c]}' for c in added)})"
        )
    schema = spark.table(table).schema

    def plain(value: Any) -> Any:
        if value is None or (not isinstance(value, list | tuple) and pd.isna(value)):
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
        return value.item() if hasattr(value, "item") else value

    rows = [
        tuple(plain(record[field.name]) for field in schema.fields)
        for record in runs.to_dict("records")
    ]
    spark.createDataFrame(rows, schema).write.mode("overwrite").saveAsTable(table)
    return len(rows)


def load_step(settings: Settings, dbt_vars: dict[str, Any] | None = None) -> None:
    """The `load --engine spark` step: every raw file again into Spark's schema ``raw``, by
    the dbt macro that plain ``dbt build --target spark`` runs for the changed ones
    (macros/load_raw_tables.sql: DuckDB's loader inside Spark, warehouse/spark_source.py),
    with the command's dbt ``--vars`` (``dbt_vars``)."""
    import json

    from python_ml.warehouse.dbt import run_dbt
    from python_ml.warehouse.load import LoadError, plan

    check_available()
    with step(f"load the raw files from {settings.raw_dir} into Spark's schema raw"):
        # A missing or unreadable file is named before Spark starts (a JVM: seconds), as the
        # macro would name it; the macro checks every file again before replacing a table.
        try:
            plan(settings.raw_dir)
        except LoadError as exc:
            raise LoadError(f"{exc} Spark's raw tables were left as they were.") from None
        run_dbt(
            settings,
            "run-operation",
            "load_raw_tables",
            "--args",
            "{force: true}",
            "--target",
            TARGET,
            *(["--vars", json.dumps(dbt_vars, default=str)] if dbt_vars else []),
        )
