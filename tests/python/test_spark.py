"""The same dbt project and the champion's scoring on Spark (local[*]), against DuckDB's.

On a copy of the main job's folder as its run left it (small generated data, a champion, DuckDB
predictions), from a copy of the project (its dbt target folder is the copy's):
plain `dbt build --target spark`, run as a user runs it from the project root, loads the raw
files itself (DuckDB's loader inside Spark: the same row counts and load log as DuckDB's) and
builds (every data test must pass, or the command fails); a missing raw file stops the Spark
load with the loader's one line and leaves Spark's tables as they were; the predict split must
hold exactly the track ids DuckDB's does; `score --engine spark` (the executors run DuckDB's
batch function) must call the same classes with the same probabilities and explanations as
DuckDB's scoring; the prediction marts build on Spark. Spark's tables are read back from the
parquet files Spark wrote for them.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import copy_project, main_job_env


def python_ml(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "python_ml", *args],
        env=env,
        cwd=env["PYTHONPATH"],
        capture_output=True,
        text=True,
    )


def user_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` as a user's shell has it with the virtualenv activated (which sets
    DBT_PROFILES_DIR and PYSPARK_PYTHON, and puts the venv's commands first on the PATH)."""
    project = Path(env["PYTHONPATH"])
    bin_dir = Path(sys.executable).parent
    return {
        **env,
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "DBT_PROFILES_DIR": str(project / "profiles"),
        "PYSPARK_PYTHON": sys.executable,
    }


@contextmanager
def as_user(env: dict[str, str]) -> Iterator[Path]:
    """This process with the user's environment and in the project folder, as a command the
    user starts there has them (restored afterwards)."""
    saved, cwd = dict(os.environ), Path.cwd()
    os.environ.clear()
    os.environ.update(user_env(env))
    os.chdir(env["PYTHONPATH"])
    try:
        yield Path(env["PYTHONPATH"])
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)


def plain_dbt(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` as a user runs it from the project root, run in this process by dbt's own
    entry point (what the `dbt` command calls), with its console output captured: every Spark
    command of the module then shares one Spark session (dbt-spark's ``session`` method starts
    it once per process; a JVM each took 10-15 s of the module's 2.5 minutes)."""
    from dbt.cli.main import dbtRunner

    out, err = io.StringIO(), io.StringIO()
    with as_user(env), redirect_stdout(out), redirect_stderr(err):
        try:
            result = dbtRunner().invoke(list(args))
            code = 0 if result.success else (2 if result.exception else 1)
        except BaseException:  # as the command would: the trace on stderr, exit 2
            traceback.print_exc(file=err)
            code = 2
    return subprocess.CompletedProcess(["dbt", *args], code, out.getvalue(), err.getvalue())


def stop_spark() -> None:
    """End this process's Spark session and its JVM (the metastore is free again)."""
    from python_ml.warehouse.spark import _running_session, stop_jvm

    running = _running_session()
    if running is not None:
        running.stop()
    stop_jvm()


def score_on_spark(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python -m python_ml score --engine spark`'s step, in this process: it scores in the
    Spark session dbt started (and leaves it running)."""
    from python_ml.settings import load_settings
    from python_ml.tracks.score import score_step

    err = io.StringIO()
    handler = logging.StreamHandler(err)
    logging.getLogger().addHandler(handler)
    try:
        with as_user(env):
            score_step(load_settings(), "spark")
        return subprocess.CompletedProcess(["score"], 0, "", err.getvalue())
    except Exception:
        traceback.print_exc(file=err)
        return subprocess.CompletedProcess(["score"], 1, "", err.getvalue())
    finally:
        logging.getLogger().removeHandler(handler)


@pytest.fixture(scope="module")
def spark_job(main_job_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("spark") / "job"
    shutil.copytree(main_job_dir.parent / f"{main_job_dir.name}_as_run", folder, symlinks=True)
    project = copy_project(tmp_path_factory.mktemp("spark_project"))
    env = {
        **os.environ,
        **main_job_env(folder),
        "PYTHONPATH": str(project),
        "DBT_TARGET_PATH": "target",  # the copy's own
        "MUSIC_SPARK_DIR": str(folder / "spark"),
        "SPARK_DRIVER_MEMORY": "2g",
        "SPARK_SHUFFLE_PARTITIONS": "2",  # a few thousand rows: two partitions per shuffle
        # The module's JVM lives 2 minutes on a few thousand rows: the quick JIT compiler only, and
        # the serial collector (measured on plain `dbt build --target spark`: the same 57 s,
        # 71 CPU-s instead of 97, which the other test worker gets back). The quick compiler's
        # code cache is 48 MB by default, which two dbt threads' Spark jobs filled once ("Out
        # of space in CodeCache"): the tiered compiler's size.
        "JAVA_TOOL_OPTIONS": (
            "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=240m"
        ),
    }
    try:
        # A record that does not parse: quarantined on Spark as on DuckDB, with its file line.
        with (folder / "raw" / "spotify_600k" / "tracks.csv").open("a", encoding="utf-8") as tracks:
            tracks.write("not,a,whole,track\n")
        # A track whose whole numbers are written with a zero fraction (61.0): the same values
        # on Spark, whose own cast of such text to an integer is NULL (the split, the scores
        # and the marts compared below would miss the track).
        zero_fractions_in_first_row(folder / "raw" / "spotify_600k" / "tracks.csv")
        build = plain_dbt(env, "build", "--target", "spark", "--exclude", "tag:ml_outputs")
        assert build.returncode == 0, failure(build)
        # The load (the macro of dbt build's on-run-start, every file) from a folder whose
        # tracks.csv lost a row and whose 2023 file (the last one loaded) is missing: it must stop
        # before replacing any table (the tests that compare Spark's raw tables with DuckDB's
        # loader on the intact folder read them afterwards).
        broken = folder.parent / "raw_broken"
        shutil.copytree(folder / "raw", broken)
        tracks = broken / "spotify_600k" / "tracks.csv"
        tracks.write_text("".join(tracks.read_text().splitlines(keepends=True)[:-2]))
        (broken / "spotify_2023" / "spotify-2023.csv").unlink()
        # The macro itself, as plain `dbt build --target spark` runs it (no pre-check before it)...
        missing = plain_dbt(
            {**env, "MUSIC_RAW_DIR": str(broken)},
            "run-operation",
            "load_raw_tables",
            "--args",
            "{force: true}",
            "--target",
            "spark",
        )
        # ...and `load --engine spark`, which names the missing file before Spark starts.
        missing_early = python_ml(
            {**env, "MUSIC_RAW_DIR": str(broken)}, "load", "--engine", "spark"
        )
        # A tracks.csv cut off mid-line at half its rows: refused as on DuckDB (Spark's loader
        # had no earlier load to compare it with, and replaced the table with half of it).
        cut_folder = folder.parent / "raw_cut"
        shutil.copytree(folder / "raw", cut_folder)
        cut_tracks = cut_folder / "spotify_600k" / "tracks.csv"
        text = cut_tracks.read_text()
        cut_tracks.write_text(text[: len(text) // 2].rstrip("\n")[:-5])
        cut = plain_dbt(
            {**env, "MUSIC_RAW_DIR": str(cut_folder)},
            "run-operation",
            "load_raw_tables",
            "--target",
            "spark",
        )
        score = score_on_spark(env)
        assert score.returncode == 0, score.stderr[-4000:]
        # The prediction marts by plain dbt, after tracks.csv was touched (the same bytes, modified
        # after the build loaded them) and one line of artists.csv was written with every field
        # quoted (the same values, other bytes): its on-run-start loads artists.csv again, and only
        # that file (the comparisons below read DuckDB's loader on the files as they are then).
        (folder / "raw" / "spotify_600k" / "tracks.csv").touch()
        requote_first_row(folder / "raw" / "spotify_600k" / "artists.csv")
        marts = plain_dbt(
            env, "build", "--target", "spark", "--select", "tag:ml_outputs", "staging.ml"
        )
        assert marts.returncode == 0, failure(marts)
        yield {
            "folder": folder,
            "env": env,
            "build": build,
            "missing": missing,
            "missing_early": missing_early,
            "cut": cut,
            "score": score,
            "marts": marts,
        }
    finally:  # the module's one Spark session (started by the first dbt command) ends here
        stop_spark()


def failure(result: subprocess.CompletedProcess) -> str:
    """A failed dbt command's raw-file loading (its python_ml lines) and the end of its
    output."""
    loading = [line for line in result.stdout.splitlines() if "python_ml" in line]
    return "\n".join([*loading[:20], "...", result.stderr[-3000:], result.stdout[-4000:]])


def zero_fractions_in_first_row(path: Path) -> None:
    """The file's first data row with its integers written as `61.0`: the same values, other
    text."""
    import csv
    import io

    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    (row,) = csv.reader([lines[1]])
    for name in ("popularity", "duration_ms", "explicit", "key", "mode", "time_signature"):
        at = header.index(name)
        assert row[at].isdigit(), (name, row[at])
        row[at] = f"{row[at]}.0"
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(row)
    lines[1] = text.getvalue()
    path.write_text("".join(lines), encoding="utf-8")


def requote_first_row(path: Path) -> None:
    """The file's first data row written with every field quoted: the same values, other
    bytes."""
    import csv
    import io

    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    (row,) = csv.reader([lines[1]])
    quoted = io.StringIO()
    csv.writer(quoted, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(row)
    assert quoted.getvalue() != lines[1]
    lines[1] = quoted.getvalue()
    path.write_text("".join(lines), encoding="utf-8")


def spark_rows(env: dict[str, str], queries: dict[str, str]) -> dict[str, list[tuple]]:
    """The rows of each query over Spark's tables, read from the parquet files Spark wrote
    for them (``<MUSIC_SPARK_DIR>/warehouse/<schema>.db/<table>``: dbt-spark's managed
    tables, ``file_format: parquet``) by DuckDB: what Spark SQL reads, read by another engine
    than the one that wrote it."""
    import re

    warehouse = Path(env["MUSIC_SPARK_DIR"]) / "warehouse"
    tables = sorted({m for q in queries.values() for m in re.findall(r"\b(\w+\.\w+)\b", q)})
    with duckdb.connect() as con:
        for table in tables:
            schema, name = table.split(".")
            # A partitioned table (ml.track_predictions by run_id) keeps the partition's value
            # in its folder's name (run_id=...): read as text, as Spark's column is.
            files = sorted((warehouse / f"{schema}.db" / name).glob("**/*.parquet"))
            assert files, f"Spark wrote no parquet file for {table} under {warehouse}"
            con.execute(f"create schema if not exists {schema}")
            listed = ", ".join(f"'{f}'" for f in files)
            con.execute(
                f"create view {table} as select * from read_parquet([{listed}], "
                "hive_partitioning = true, hive_types_autocast = false)"
            )
        return {key: [tuple(r) for r in con.execute(q).fetchall()] for key, q in queries.items()}


def duck_rows(folder: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


RAW_QUERIES = {
    "raw_counts": (
        "select 'tracks', count(*) from raw.spotify_600k__tracks union all "
        "select 'artists', count(*) from raw.spotify_600k__artists union all "
        "select 'songs', count(*) from raw.spotify_2023__songs"
    ),
    "load_log": (
        "select dataset, table_name, encoding, file_bytes, file_sha256, rows_read, rows_kept, "
        "rows_rejected, data_origin from raw.load_log order by dataset, table_name"
    ),
    "load_rejects": (
        "select dataset, table_name, file_line, error_type, column_name, raw_text "
        "from raw.load_rejects order by dataset, table_name, file_line"
    ),
}


def queries(champion: str) -> dict[str, str]:
    """What the tests compare, by name: each is read from Spark and from DuckDB."""
    return {
        "predict_ids": "select track_id from marts.fct_predict_tracks",
        "train_count": "select count(*) from marts.fct_train_tracks",
        "predictions": (
            "select track_id, run_id, predicted_class, class_probabilities "
            f"from ml.track_predictions where run_id = '{champion}' order by track_id"
        ),
        "explained": (
            "select track_id, reasons, explained_score from ml.track_predictions "
            f"where run_id = '{champion}' order by track_id"
        ),
        "class_metrics": (
            "select class_name, support, predicted_count, true_positives, "
            "round(class_precision, 9), round(class_recall, 9) "
            "from marts.rpt_class_metrics order by class_name"
        ),
        "correct": (
            "select count(*), sum(case when is_correct then 1 else 0 end) "
            "from marts.fct_track_predictions"
        ),
        "leaderboard": (
            "select model_label, leaderboard_rank, is_champion, split_seed "
            "from marts.rpt_model_leaderboard order by model_label"
        ),
        "contributions": (
            "select feature, count(*), round(sum(contribution), 4) "
            "from marts.fct_track_prediction_explanations group by feature order by feature"
        ),
        "importance": (
            "select run_id, feature, importance_rank from marts.rpt_feature_importance "
            "order by 1, 2"
        ),
        # The 2023 songs study's predictions (fitted in DuckDB, copied by Spark's scoring):
        # the songs marts were built empty on Spark.
        "songs": (
            "select song_id, run_id, fold, actual_streams, round(predicted_log_streams, 9) "
            "from marts.fct_song_stream_predictions order by 1, 2, 3"
        ),
        "drift": (
            "select run_id, feature, batch_tracks, round(psi, 9), drift_status, is_current "
            "from marts.rpt_feature_drift order by 1, 2"
        ),
        # What each rejected row says was wrong (the artists file and the record appended to
        # tracks.csv differ between the two runs: left out).
        "rejected": (
            "select source_table, file_line, record_key, rejection_reason, rejection_detail "
            "from marts.rpt_rejected_rows where source_table not like '%artists' "
            "and rejection_reason <> 'unparseable row' order by 1, 2"
        ),
    }


@pytest.fixture(scope="module")
def both(spark_job: dict) -> dict[str, tuple[list[tuple], list[tuple]]]:
    """Each query's rows as (Spark's, DuckDB's): read from the main job's warehouse, and for
    the raw tables (RAW_QUERIES) from DuckDB's loader run on the files Spark loaded."""
    from python_ml.settings import Settings
    from python_ml.warehouse.load import load_into

    folder = spark_job["folder"]
    champion = duck_rows(folder, "select run_id from ml.model_runs where is_champion")[0][0]
    asked = queries(champion)
    spark = spark_rows(spark_job["env"], {**asked, **RAW_QUERIES})
    pairs = {
        key: (spark[key], [tuple(r) for r in duck_rows(folder, sql)]) for key, sql in asked.items()
    }
    project = Path(spark_job["env"]["PYTHONPATH"])
    settings = Settings(project, folder / "raw", folder / "x.duckdb", folder / "m", folder / "r")
    with duckdb.connect() as con:
        load_into(con, settings)
        for key, sql in RAW_QUERIES.items():
            pairs[key] = (spark[key], [tuple(r) for r in con.execute(sql).fetchall()])
    return pairs


def test_dbt_build_on_spark_passes_every_data_test(spark_job: dict) -> None:
    output = spark_job["build"].stdout + spark_job["build"].stderr
    assert "Completed successfully" in output
    assert "WARN=0 ERROR=0 SKIP=0" in output  # every model built, every data test passed
    assert "unique_fct_predict_tracks_track_id" in output
    # Spark's own log at the profile's level (it writes to the process's stderr, beside dbt's
    # lines: a WARN per node dbt ran, 342 of them for the 4,000 tracks, at Spark's default).
    from python_ml.warehouse.spark import _running_session

    session = _running_session()
    assert session is not None  # dbt's, still running for the module's later commands
    logger = session._jvm.org.apache.logging.log4j.LogManager.getRootLogger()
    assert str(logger.getLevel().toString()) == "ERROR"


def test_plain_dbt_build_on_spark_loads_the_raw_files_as_duckdb_does(
    spark_job: dict, both: dict
) -> None:
    """Spark's raw tables, load log and quarantine equal DuckDB's loader's on the same files."""
    assert "python_ml: loaded" in spark_job["build"].stdout
    for key in RAW_QUERIES:
        spark, duck = both[key]
        assert spark and sorted(spark) == sorted(duck), key
    tracks = spark_job["folder"] / "raw" / "spotify_600k" / "tracks.csv"
    line = len(tracks.read_text().splitlines())  # the record appended by spark_job
    assert [r[2:4] for r in both["load_rejects"][0]] == [(line, "MISSING COLUMNS")]


def test_a_missing_raw_file_stops_the_spark_load_and_keeps_the_tables(
    spark_job: dict, both: dict
) -> None:
    for name in ("missing", "missing_early"):
        result = spark_job[name]
        assert result.returncode != 0, name
        output = result.stdout + result.stderr
        assert "spotify-2023.csv is missing. Run `python -m python_ml extract`" in output, name
        assert "Spark's raw tables were left as they were" in output, name
        assert "Traceback" not in output, name
    # The macro read the changed tracks.csv before it found the 2023 file missing.
    assert "python_ml: loading raw.spotify_600k__tracks into Spark" in spark_job["missing"].stdout
    assert "dbt run-operation" not in spark_job["missing_early"].stderr  # Spark never started
    cut = spark_job["cut"].stdout + spark_job["cut"].stderr
    assert spark_job["cut"].returncode != 0 and "tracks.csv looks cut short: it ends" in cut
    assert "Spark's raw tables were left as they were" in cut and "Traceback" not in cut
    spark, duck = both["raw_counts"]  # read after the failed loads: every table still whole
    assert spark and sorted(spark) == sorted(duck)


def test_dbt_on_spark_loads_again_only_the_raw_file_whose_bytes_changed(spark_job: dict) -> None:
    built, marts = spark_job["build"].stdout, spark_job["marts"].stdout
    for table in ("spotify_600k__tracks", "spotify_600k__artists", "spotify_2023__songs"):
        assert f"python_ml: loading raw.{table} into Spark" in built
    # artists.csv changed; tracks.csv was only touched (the same SHA-256): not loaded again.
    assert "python_ml: loading raw.spotify_600k__artists into Spark" in marts
    assert "artists.csv changed since it was loaded" in marts
    assert marts.count("python_ml: loading raw.") == 1 and marts.count("python_ml: loaded") == 1


def test_rejected_rows_say_the_same_on_spark(both: dict) -> None:
    """Every rejection's reason and detail (values, ranges, the line kept for a duplicate) as
    DuckDB words it."""
    spark, duck = both["rejected"]
    assert duck and spark == duck
    # The generated 2023 songs hold a duplicate and an unparseable number; each says what.
    assert {r[3] for r in duck} >= {"duplicate song", "unparseable number"}
    assert all(r[4] for r in duck), duck


def test_the_predict_split_holds_the_same_track_ids(both: dict) -> None:
    spark, duck = both["predict_ids"]
    assert len(duck) > 300 and {r[0] for r in spark} == {r[0] for r in duck}
    spark, duck = both["train_count"]
    assert spark == duck


def test_spark_scoring_matches_duckdb_scoring(both: dict) -> None:
    spark, duck = both["predictions"]
    assert len(duck) > 300 and len(spark) == len(duck)
    assert [r[0] for r in spark] == [r[0] for r in duck]
    assert [r[2] for r in spark] == [r[2] for r in duck]
    difference = np.abs(np.array([r[3] for r in spark]) - np.array([r[3] for r in duck]))
    assert difference.max() <= 1e-6
    # Explained on Spark's executors by the same batch function: the same reasons and scores.
    spark, duck = both["explained"]
    assert [r[1] for r in spark] == [r[1] for r in duck] and all(r[1] for r in spark)
    assert np.abs(np.array([r[2] for r in spark]) - np.array([r[2] for r in duck])).max() <= 1e-9


def test_the_prediction_marts_on_spark_equal_duckdbs(spark_job: dict, both: dict) -> None:
    output = spark_job["marts"].stdout + spark_job["marts"].stderr
    assert "WARN=0 ERROR=0 SKIP=0" in output  # every mart built, every data test passed
    for key in ("class_metrics", "correct", "leaderboard"):
        spark, duck = both[key]
        assert spark == duck, key
    # Why: every track's contributions, and what each run relies on, as in DuckDB.
    for key in ("contributions", "importance", "songs"):
        spark, duck = both[key]
        assert spark and spark == duck, key
    # Whether: each scoring run's drift per feature (features_long, feature_drift), as in DuckDB.
    spark, duck = both["drift"]
    assert len(spark) >= 16 and spark == duck


def test_an_ml_table_made_before_a_column_was_declared_is_widened_on_spark(
    spark_job: dict,
) -> None:
    """Spark's ml.model_runs made before split_seed and reused_at were declared: dbt's
    on-run-start adds them, as on DuckDB (the staging model reads them), and so does score's
    copy of the runs, which fills them. (Last in the module: it makes the table again.)"""
    from python_ml.settings import load_settings
    from python_ml.warehouse import catalog
    from python_ml.warehouse.spark import _running_session, copy_table, spark_type

    env = spark_job["env"]
    spark = _running_session()
    assert spark is not None  # dbt's, as the module's other commands use it
    types = catalog.ml_column_types(catalog.MODEL_RUNS)
    new = {"split_seed", "reused_at"}

    def made_before() -> None:
        spark.sql(f"drop table {catalog.MODEL_RUNS}")
        columns = ", ".join(f"{c} {spark_type(t)}" for c, t in types.items() if c not in new)
        spark.sql(f"create table {catalog.MODEL_RUNS} ({columns}) using parquet")
        assert not new & set(spark.table(catalog.MODEL_RUNS).schema.fieldNames())

    made_before()
    done = plain_dbt(env, "run-operation", "create_ml_source_tables", "--target", "spark")
    assert done.returncode == 0, failure(done)
    assert new <= set(spark.table(catalog.MODEL_RUNS).schema.fieldNames())
    made_before()
    with as_user(env):
        copied = copy_table(load_settings(), spark, catalog.MODEL_RUNS)
    assert copied == len(duck_rows(spark_job["folder"], "select run_id from ml.model_runs"))
    seeds = spark.sql(
        f"select distinct split_seed from {catalog.MODEL_RUNS} where task = 'tracks'"
    ).collect()
    assert [r[0] for r in seeds] == [str(catalog.dbt_var("split_seed"))]
