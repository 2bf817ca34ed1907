"""Command line: `python -m python_ml <command> --help` for every step.

The main job, `python -m python_ml run`, is what `make run` calls.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from python_ml.errors import UserError
from python_ml.settings import Settings, load_settings
from python_ml.steps import configure_logging, step

log = logging.getLogger("python_ml")


# --------------------------------------------------------------------------------------------
# commands


def cmd_generate(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.raw import generate
    from python_ml.settings import folder_problem

    raw_dir = Path(args.out).resolve() if args.out else settings.raw_dir
    problem = folder_problem(raw_dir)
    if problem:
        where = "--out" if args.out else "MUSIC_RAW_DIR (or --out)"
        raise generate.GenerateError(f"{raw_dir} {problem}: give {where} a folder you can write")
    with step(f"generate missing raw files into {raw_dir}"):
        generate.generate(raw_dir, rows=args.rows, seed=args.seed, overwrite=args.overwrite)


def cmd_extract(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.raw.extract import extract_step

    extract_step(settings, force=args.force, offline=args.offline, seed=args.seed, rows=args.rows)


def cmd_load(settings: Settings, args: argparse.Namespace) -> None:
    if args.engine == "spark":
        from python_ml.warehouse.spark import load_step
    else:
        from python_ml.warehouse.load import files_to_load, load_step

        files = files_to_load(settings, getattr(args, "force", False))  # as `run`: the changed
        if files:
            load_step(settings, files, dbt_vars=args.vars)
        return
    load_step(settings, dbt_vars=args.vars)  # Spark: dbt's run-operation gets them


def cmd_build(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.warehouse.dbt import build_ml_inputs

    if args.engine == "duckdb":  # on Spark, dbt build's on-run-start loads the changed files
        cmd_load(settings, args)
    dbt_vars = ["--vars", json.dumps(args.vars, default=str)] if args.vars else []
    dbt_args = args.dbt_args[1:] if args.dbt_args[:1] == ["--"] else args.dbt_args
    build_ml_inputs(settings, args.engine, *dbt_vars, *dbt_args)


def cmd_train(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.tracks.config import load_tracks_config

    # A config error is named before the training libraries are imported (seconds).
    load_tracks_config(Path(args.config) if args.config else None)
    from python_ml.tracks.train import train_step

    train_step(
        settings, Path(args.config) if args.config else None, only=args.only, force=args.force
    )


def cmd_score(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.tracks.score import score_step

    score_step(settings, args.engine, batch_size=args.batch_size)


def cmd_songs(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.songs.study import songs_step

    print(songs_step(settings, Path(args.config) if args.config else None).table)


def cmd_marts(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.warehouse.dbt import build_prediction_marts

    build_prediction_marts(settings, args.engine)


def cmd_charts(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.reports.charts import charts_step

    charts_step(settings)


def cmd_docs(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.warehouse.dbt import generate_docs

    generate_docs(settings)


def cmd_predict(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.tracks.predict import predict_step

    output = Path(args.output) if args.output else None
    predict_step(settings, Path(args.input), output, overwrite=args.overwrite)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    from python_ml.service import serve

    serve(settings, args.host, args.port, args.workers)


def ensure_manifest_of(settings: Settings) -> None:
    from python_ml.orchestration.manifest import ensure_manifest

    ensure_manifest(settings)


def _in_background(function: Any, *args: Any) -> Any:
    """``function(*args)`` started on a daemon thread; returns a call that waits for it and
    raises what it raised. A daemon, so an interrupt of the command does not wait for it (a dbt
    it started stops with this process: warehouse/dbt.py)."""
    import threading

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=getattr(function, "__name__", "background"))
    thread.daemon = True
    thread.start()

    def wait() -> Any:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    return wait


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    """The main job: the asset graph (python_ml/orchestration), materialized in this process."""
    started = time.perf_counter()
    with step("load the asset graph (Dagster, dbt manifest)"):
        parse = _in_background(ensure_manifest_of, settings)  # dbt's own process, meanwhile
        from python_ml.orchestration.runner import materialize  # Dagster's import, here

        parse()  # the definitions read the manifest: parsed now, not again
    extract = {"offline": args.offline, "force": args.force, "rows": args.rows, "seed": args.seed}
    ops = {"raw_files": {"config": extract}}
    # --force: every step, not only the stale (training too: as the launchpad's `paths` force,
    # the one way both take); --vars: for every dbt command and the loader.
    paths = {"force": args.force, "dbt_vars": json.dumps(args.vars) if args.vars else ""}
    resources = {"paths": {"config": paths}}
    materialize(settings, run_config={"ops": ops, "resources": resources})
    log.info("main job finished in %.1f s", time.perf_counter() - started)


def cmd_status(settings: Settings, args: argparse.Namespace) -> None:
    """What the next `run` recomputes: the steps whose inputs differ from their last run's (the
    comparison `run` makes), then what Dagster's UI shows as unsynced (`--json`: both, as
    ``{"next_run": {step: why}, "dagster_unsynced": {asset: [why]}}``)."""
    import json

    from python_ml.orchestration.runner import unsynced
    from python_ml.orchestration.versions import pending_steps
    from python_ml.warehouse.db import RunLock, WarehouseError, check_is_duckdb

    check_is_duckdb(settings.warehouse)  # before dbt's parse (20 s) for a folder, say
    # A look only: no lock taken (status writes nothing), and no look while a command holds
    # the warehouse (opening it, even to read, could fail that command's next write).
    holder = RunLock.holder(settings.warehouse)
    if holder:
        raise WarehouseError(
            f"The warehouse {settings.warehouse} is in use by another command "
            f"({holder}): what the next run recomputes depends on what it writes. Run "
            "status again when it has finished."
        )
    stale = unsynced(settings)
    from python_ml.orchestration.assets.dbt import rebuilds_nothing

    steps = pending_steps(settings, rebuilds_nothing)
    if args.json:
        print(json.dumps({"next_run": steps, "dagster_unsynced": stale}, indent=1))
        return
    if steps:
        print(f"the next `python -m python_ml run` runs {len(steps)} step(s):")
        for title, why in steps.items():
            print(f"  {title}: {why}")
    else:
        print(
            "the next `python -m python_ml run` runs no step: each has the inputs of its last run"
        )
    if not stale:
        print(
            "Dagster: every asset is up to date with its code and the data it reads"
            # Dagster's versions do not see all that `run` compares (a table or chart deleted
            # by hand, a library's new version): without this, the two lines read as a
            # contradiction.
            + (
                " (by its code and data versions; `run` compares more: the steps above)"
                if steps
                else ""
            )
        )
        return
    # The UI labels the first group; the others only once those are materialized again
    # (unsynced_downstream: "reads X, which will change"). One count said 33 where it showed 2.
    labelled = [k for k, why in stale.items() if not _unsynced_downstream(why)]
    downstream = len(stale) - len(labelled)
    print(
        f"Dagster: {len(labelled)} asset(s) unsynced, as the UI labels them"
        + (f", and {downstream} downstream of them" if downstream else "")
        + " (the UI's *Materialize unsynced*, or `run`):"
    )
    for key, reasons in stale.items():
        print(f"  {key}: {'; '.join(reasons)}")


def _unsynced_downstream(reasons: list[str]) -> bool:
    """Whether runner.unsynced's reasons say the asset is only downstream of unsynced ones."""
    from python_ml.orchestration.runner import DOWNSTREAM_OF_UNSYNCED

    return all(r.startswith(DOWNSTREAM_OF_UNSYNCED) for r in reasons)


# --------------------------------------------------------------------------------------------
# parser


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, got {text!r}")
    return int(text)


def _path_text(text: str) -> str:
    if not text.strip():  # `--input ""` is not the current folder
        raise argparse.ArgumentTypeError("an empty path: give one")
    return text


def _dbt_vars(text: str) -> dict:
    """dbt's --vars: a YAML mapping of the project's vars to their values."""
    from python_ml.warehouse.catalog import DbtVarsError, parse_dbt_vars

    try:
        return parse_dbt_vars(text)
    except DbtVarsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_vars_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--vars",
        type=_dbt_vars,
        default={},
        metavar="YAML",
        help=f"dbt vars for {what}, as dbt's --vars: '{{max_rejected_share: 0.05}}' lets up to "
        "5%% of a raw file's rows not parse (default: dbt_project.yml's vars)",
    )


def _seed(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) >= 2**32:
        raise argparse.ArgumentTypeError(f"a whole number from 0 to 4294967295, got {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a port number from 1 to 65535, got {text!r}")
    return int(text)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    from python_ml.raw.schemas import REAL_TRACK_ROWS

    parser.add_argument(
        "--rows",
        type=int,
        default=REAL_TRACK_ROWS,
        help="tracks to generate when built-in data is used (default: %(default)s)",
    )
    parser.add_argument("--seed", type=_seed, default=42, help="generator seed (default: 42)")


def _add_extract_options(
    parser: argparse.ArgumentParser, force_help: str = "download again even if present"
) -> None:
    _add_data_options(parser)
    parser.add_argument("--force", action="store_true", help=force_help)
    parser.add_argument(
        "--offline",
        action="store_true",
        help="never contact Kaggle: use built-in data for whatever is missing",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        # The command as it was typed: the installed script (music-popularity) or the module.
        prog=(
            "music-popularity"
            if Path(sys.argv[0]).name == "music-popularity"
            else "python -m python_ml"
        ),
        description="music-popularity: data, dbt build, training and scoring.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = sub.add_parser(
        "generate",
        help="write built-in (synthetic) raw data",
        description="Write the three raw files with the Kaggle schemas and "
        "quirks. Existing files are kept unless --overwrite; a tracks file "
        "without artists.csv gets an artists.csv made for it.",
    )
    _add_data_options(p)
    p.add_argument(
        "--out", type=_path_text, help="raw-data folder (default: $MUSIC_RAW_DIR or data/raw)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "extract",
        help="download the Kaggle datasets (or use built-in data)",
        description="Download the missing Kaggle datasets when credentials "
        "exist; otherwise write built-in data. Checks every file's header.",
    )
    _add_extract_options(p)
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser(
        "load",
        help="load the raw files into the warehouse (schema raw)",
        description="Read each raw file with DuckDB into schema raw; rows that do not parse "
        "as CSV are quarantined in raw.load_rejects with their file line. Stops (and changes "
        "nothing) when a file's rejected share is above the dbt var max_rejected_share. Only "
        "the files the raw tables do not hold as they are now are read (as `run` does).",
    )
    add_engine_option(p)
    p.add_argument("--force", action="store_true", help="read every raw file again, changed or not")
    add_vars_option(p, "the loader")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser(
        "build",
        help="load the raw files, then dbt build of the ML inputs (staging to split)",
        description="`load`, then dbt build of everything but the prediction marts (on Spark, "
        "dbt build loads the new or changed raw files itself).",
    )
    add_engine_option(p)
    add_vars_option(p, "the loader and dbt build")
    p.add_argument("dbt_args", nargs=argparse.REMAINDER, help="extra arguments for dbt")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "train",
        help="train the tracks models, pick the champion",
        description="Train every experiment of the tracks config on the split; "
        "each is an MLflow run and a row of ml.model_runs. The champion rule: the best "
        "validation figure sets the bar, and the simplest model within its bootstrap noise "
        "is registered as the champion of this data (alias champion_<fingerprint>); with "
        "--only, the runs a full training would reuse of the other experiments are weighed "
        "beside this training's by the same rule.",
    )
    p.add_argument(
        "--config",
        type=_path_text,
        help="tracks config YAML (default: python_ml/configs/tracks.yml)",
    )
    p.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="only these experiments (model name or model/feature_set)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="fit every experiment again, even one whose finished run has the same data, "
        "config, code and seed (reused otherwise)",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "score",
        help="score the predict split with the champion",
        description="Write ml.track_predictions for the champion run in one "
        "transaction, then evaluate it against the true classes (holdout).",
    )
    p.add_argument(
        "--batch-size",
        type=_positive,
        default=200_000,
        help="rows per scoring batch (default: %(default)s)",
    )
    add_engine_option(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "marts",
        help="dbt build of the prediction marts (after scoring)",
        description="dbt build --select tag:ml_outputs staging.ml",
    )
    add_engine_option(p)
    p.set_defaults(func=cmd_marts)

    p = sub.add_parser(
        "charts",
        help="draw the charts and the HTML page",
        description="PNG charts and reports/index.html, read from the marts.",
    )
    p.set_defaults(func=cmd_charts)

    p = sub.add_parser(
        "docs",
        help="dbt docs generate --static (target/static_index.html)",
        description="dbt docs generate --static: the docs site as one page, "
        "target/static_index.html, which opens as a file (`make docs-serve` serves the site).",
    )
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser(
        "songs",
        help="the 2023 songs study (streams regression, top 10%%)",
        description="Repeated cross-validated log(streams) regression and top-10% "
        "classification on the 2023 songs, for each feature set of the study config; "
        "out-of-fold "
        "predictions go to ml.song_predictions.",
    )
    p.add_argument(
        "--config",
        type=_path_text,
        help="study config (default: python_ml/configs/songs_2023.yml)",
    )
    p.set_defaults(func=cmd_songs)

    p = sub.add_parser(
        "predict",
        help="score a CSV of new tracks with the champion",
        description="Score a CSV with the columns of Kaggle's tracks.csv and "
        "write a CSV with the predicted class and a probability per class.",
    )
    p.add_argument(
        "--input",
        required=True,
        type=_path_text,
        help="CSV of tracks (tracks.csv columns; popularity, id and id_artists optional)",
    )
    p.add_argument(
        "--output",
        type=_path_text,
        help="where to write (default: new.csv -> new.predictions.csv)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "serve",
        help="HTTP scoring service (FastAPI): POST /predict, GET /model, /health, /docs",
        description="Serve the champion over HTTP: tracks go through the dbt project's own "
        "validation and feature rules, as with predict. A new champion is picked up without a "
        "restart. Limits: MUSIC_SERVE_MAX_TRACKS tracks (default 10000) and "
        "MUSIC_SERVE_MAX_BYTES bytes (default 20 MiB) per request.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument("--port", type=_port, default=8000, help="port (default: %(default)s)")
    p.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="processes sharing the port, e.g. one per core (default: %(default)s)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "run",
        help="the main job, end to end",
        description="The main job's asset graph (Dagster), in this order: extract -> load -> "
        "dbt build (staging to split) -> the 2023 songs study -> train -> score -> dbt build of "
        "the prediction marts -> docs -> charts, stopping at the first failure. A step whose "
        "inputs are those of its last run is skipped, saying so (`status` lists what will run).",
    )
    _add_extract_options(p, "recompute everything: download again, fit every experiment again")
    add_vars_option(p, "the loader and every dbt command of the run")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "status",
        help="what the next `run` recomputes and why; what Dagster's UI shows as unsynced",
        description="The steps whose inputs differ from their last run's (the comparison `run` "
        "makes: a step command run on its own counts), then the assets whose code or inputs "
        "changed since `run` last materialized them (Dagster's code and data versions, as the "
        "UI's *unsynced* label).",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='print both as JSON: {"next_run": {step: why}, "dagster_unsynced": {asset: [why]}}',
    )
    p.set_defaults(func=cmd_status)
    return parser


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# Commands that write the warehouse: checked first, and one at a time per warehouse.
WRITES_WAREHOUSE = {"run", "load", "build", "train", "score", "songs", "marts", "docs"}
# Commands that read it for seconds (charts keeps it open while it draws): one at a time with
# the writers too, as DuckDB lets no process write a file another one has open (a `marts`
# failed part-way on a dbt model while `charts` read the warehouse).
READS_WAREHOUSE = {"charts"}


def add_engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="where the tables live: the DuckDB warehouse, or Spark (the `spark` extra; dbt's "
        "spark target, tables under MUSIC_SPARK_DIR) (default: %(default)s)",
    )


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
    signal.signal(signal.SIGTERM, _terminated)  # stop like Ctrl-C: dbt children stop too
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    args = build_parser().parse_args(argv)
    configure_logging(logging.DEBUG if args.verbose else logging.INFO)
    for handler in logging.getLogger().handlers:  # Dagster's events: in its run history
        handler.addFilter(lambda record: not record.name.startswith("dagster"))
    for noisy in ("matplotlib", "PIL", "urllib3", "alembic", "absl", "markdown_it", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    try:
        settings = load_settings()
        if getattr(args, "engine", "duckdb") == "spark":  # the extra and Java, before anything
            from python_ml.warehouse.spark import check_available

            check_available()
        if args.command in WRITES_WAREHOUSE | READS_WAREHOUSE:
            from python_ml.warehouse.db import RunLock, check_is_duckdb, preflight

            # Before the lock: a file refused as no warehouse got a .lock file beside it.
            check_is_duckdb(settings.warehouse)
            with RunLock(settings.warehouse):
                if args.command in WRITES_WAREHOUSE:
                    preflight(settings.warehouse)
                started = _step_inputs(settings, args)
                args.func(settings, args)
                _record_step(settings, args, started)
        else:
            started = _step_inputs(settings, args)
            args.func(settings, args)
            _record_step(settings, args, started)
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as exc:
        if _interrupted(exc):
            log.error("interrupted")
            return 130
        if isinstance(exc, UserError):  # says what and where: the message alone
            log.error("%s", exc)
            return 1
        damaged = _damaged_warehouse(exc) or _disk_full(exc)
        if damaged:
            log.error("%s", damaged)
            return 1
        if isinstance(exc, PermissionError) and exc.filename:  # a file of the user's setup
            log.error(
                "%s: permission denied: this command reads or writes it. Give your user access "
                "to it (`ls -ld` shows its owner and mode), or point the variable that names "
                "it (MUSIC_WAREHOUSE, MUSIC_RAW_DIR, MUSIC_MLFLOW_DIR, MUSIC_REPORTS_DIR, "
                "DAGSTER_HOME, DBT_TARGET_PATH) at a folder you can write.",
                exc.filename,
            )
            return 1
        # unexpected: one line, the stack trace only with -v
        log.error("%s: %s", type(exc).__name__, exc)
        if args.verbose:
            log.exception("stack trace")
        else:
            log.error("run again with -v for the stack trace")
        return 1
    return 0


def _step_inputs(settings: Settings, args: argparse.Namespace) -> dict[str, Any] | None:
    """A step command's inputs as it starts, when it will record them (:func:`_record_step`)."""
    if args.command not in STEP_COMMANDS or not _whole(args):
        return None
    from python_ml.orchestration.versions import command_inputs

    config = getattr(args, "config", None)
    now = command_inputs(settings, args.command, Path(config) if config else None)
    return now[1] if now else None


def _whole(args: argparse.Namespace) -> bool:
    """The command runs its whole step on DuckDB (not train --only, a dbt selection, Spark)."""
    return (
        getattr(args, "engine", "duckdb") == "duckdb"
        and not getattr(args, "dbt_args", None)
        and not getattr(args, "vars", None)
        and not getattr(args, "only", None)
    )


def _record_step(
    settings: Settings, args: argparse.Namespace, started: dict[str, Any] | None
) -> None:
    """A step command that ran whole on DuckDB records its inputs as `run` does (so the next
    `run` does not do it again); the Dagster run history knows only `run`'s."""
    if args.command not in STEP_COMMANDS or not _whole(args):
        return
    from python_ml.orchestration.versions import record_command

    config = getattr(args, "config", None)
    record_command(settings, args.command, Path(config) if config else None, started)


STEP_COMMANDS = {"build", "train", "songs", "score", "marts", "charts", "docs"}


def _interrupted(exc: BaseException) -> bool:
    """Whether the error is Ctrl-C (or SIGTERM) arriving while DuckDB ran a query: DuckDB
    stops the query and raises its own error for the signal (``RuntimeError: Query
    interrupted`` from its Python binding, ``duckdb.InterruptException`` from the engine),
    which was reported as an unexpected error with exit code 1 (`load`, `build`'s load,
    `predict`)."""
    duckdb = sys.modules.get("duckdb")
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RuntimeError) and str(seen) == "Query interrupted":
            return True
        if duckdb is not None and isinstance(seen, duckdb.InterruptException):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _disk_full(exc: BaseException) -> str | None:
    """What to do when a disk filled up part-way (errors.disk_full), or None."""
    from python_ml.errors import disk_full

    return disk_full(str(exc), getattr(exc, "errno", None))


def _damaged_warehouse(exc: BaseException) -> str | None:
    """What to do about a DuckDB file cut short (DuckDB finds it only when a query reads the
    missing part: "Could not read enough bytes from file ..."), or None."""
    import re

    match = re.search(r'Could not read enough bytes from file "([^"]+)"', str(exc))
    if not match:
        return None
    return (
        f"The warehouse {match.group(1)} is damaged (cut short: a copy or a disk that filled "
        "up). Put a good copy back, or move it away and run `make run` to build a new one from "
        "the raw files (they are kept)."
    )


if __name__ == "__main__":
    sys.exit(main())
