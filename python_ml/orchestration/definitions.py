"""The main job as one Dagster asset graph, from the raw files to the charts.

    raw_files -> raw.* (dbt sources) -> dbt: staging .. split -> champion_model, ml.model_runs
    -> ml.track_predictions, ml.song_predictions (dbt sources) -> dbt: prediction marts
    -> report (charts), dbt_docs

Every dbt source, seed and model is an asset read from dbt's manifest (dagster-dbt), and dbt's
data tests are asset checks. The python_ml steps are Python assets whose keys are the dbt
sources they write, so the graph closes the loop dbt cannot draw. This module is the one
definition of the pipeline: `python -m python_ml run` materializes it in-process
(:func:`materialize`), `make dagster` serves it in Dagster's UI (``dagster dev -m
python_ml.orchestration.definitions``).
"""

import json
import logging
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.instance.ref import InstanceRef
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from python_ml.raw.generate import REAL_TRACK_ROWS
from python_ml.settings import PROJECT_ROOT, Settings, load_settings
from python_ml.steps import StepFailed, step
from python_ml.warehouse.dbt import PREDICTION_MARTS, dbt_executable, run_dbt

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
log = logging.getLogger("python_ml")

# Where Dagster keeps its run history and the UI's state (`make dagster` uses the same).
MLFLOW_UI = os.environ.get("MUSIC_MLFLOW_UI", "http://127.0.0.1:5000")
MANIFEST_INPUTS = ("models", "macros", "seeds", "tests", "analyses", "dbt_project.yml")


def dagster_home(settings: Settings) -> Path:
    """``$DAGSTER_HOME``, or ``dagster/`` beside the warehouse (``data/dagster``), with a
    ``dagster.yaml`` that keeps Dagster's telemetry off."""
    value = os.environ.get("DAGSTER_HOME")
    home = Path(value).resolve() if value else settings.warehouse.parent / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


def _newest_input(root: Path) -> float:
    newest = 0.0
    for name in MANIFEST_INPUTS:
        path = root / name
        files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
        for file in files:
            newest = max(newest, file.stat().st_mtime)
    return newest


def manifest_path(settings: Settings) -> Path:
    """dbt's manifest for the asset graph: ``target/manifest.json``, parsed again only when a
    project file is newer (any dbt command from the project root also refreshes it)."""
    manifest = settings.project_root / "target" / "manifest.json"
    if not manifest.exists() or manifest.stat().st_mtime < _newest_input(settings.project_root):
        run_dbt(settings, "parse", "--quiet", "--target-path", str(manifest.parent))
    return manifest


SETTINGS = load_settings()
MANIFEST = manifest_path(SETTINGS)
_MANIFEST_DATA = json.loads(MANIFEST.read_text(encoding="utf-8"))


class Translator(DagsterDbtTranslator):
    """dagster-dbt's default keys (a model's name; a source's ``[source, table]``), with groups
    by layer so the UI draws the graph in bands."""

    def get_group_name(self, dbt_resource_props: dict[str, Any]) -> str | None:
        parts = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        if dbt_resource_props["resource_type"] == "source":
            return "ml_outputs" if dbt_resource_props["source_name"] == "ml" else "raw"
        if "ml_outputs" in dbt_resource_props.get("tags", []) or parts[1:3] == ["staging", "ml"]:
            return "prediction_marts"
        return "ml_inputs"


TRANSLATOR = Translator()


def source_key(schema_table: str) -> dg.AssetKey:
    """The asset key of the dbt source whose warehouse table is ``schema.table``."""
    schema, identifier = schema_table.split(".")
    for source in _MANIFEST_DATA["sources"].values():
        if source["schema"] == schema and source["identifier"] == identifier:
            return TRANSLATOR.get_asset_key(source)
    raise KeyError(f"no dbt source reads {schema_table} ({MANIFEST})")


def model_key(name: str) -> dg.AssetKey:
    for node in _MANIFEST_DATA["nodes"].values():
        if node["resource_type"] in ("model", "seed") and node["name"] == name:
            return TRANSLATOR.get_asset_key(node)
    raise KeyError(f"no dbt model or seed {name} ({MANIFEST})")


def _settings() -> Settings:
    """Settings from the environment at run time; dbt (a subprocess) gets the same paths."""
    settings = load_settings()
    os.environ.update(
        {k: v for k, v in settings.dbt_env().items() if k.startswith(("MUSIC_", "DBT_PROF"))}
    )
    return settings


def _writing(settings: Settings):
    from python_ml.warehouse.db import RunLock

    return RunLock(settings.warehouse)


def _table_rows(settings: Settings, tables: Sequence[str]) -> dict[str, int]:
    from python_ml.warehouse import db

    counts = {}
    with db.connect(settings.warehouse) as con:
        for table in tables:
            try:
                counts[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
            except Exception:  # a table the step did not create: no figure rather than a guess
                continue
    return counts


def _mlflow_link(run_id: str, experiment_id: str) -> dg.MetadataValue:
    # workflowType: MLflow 3.17's UI opens in its GenAI view otherwise (the experiment tag
    # only sets the kind shown inside an experiment).
    return dg.MetadataValue.url(
        f"{MLFLOW_UI}/#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"
    )


# --------------------------------------------------------------------------------------------
# raw files


class ExtractConfig(dg.Config):
    """The options of `python -m python_ml extract` (and `run`)."""

    offline: bool = False
    force: bool = False
    rows: int = REAL_TRACK_ROWS
    seed: int = 42


RAW_SOURCES = [
    TRANSLATOR.get_asset_key(s) for s in _MANIFEST_DATA["sources"].values() if s["schema"] == "raw"
]


@dg.asset(
    group_name="raw",
    description="The three Kaggle CSVs in $MUSIC_RAW_DIR: downloaded when Kaggle credentials "
    "exist, built-in generated data otherwise (marked as such everywhere downstream).",
    retry_policy=dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL),
    kinds={"csv"},
)
def raw_files(context: dg.AssetExecutionContext, config: ExtractConfig) -> dg.MaterializeResult:
    from python_ml.raw import extract, origin

    settings = _settings()
    try:
        with step(f"extract raw data into {settings.raw_dir}"):
            report = extract.extract(
                settings.raw_dir,
                force=config.force,
                offline=config.offline,
                seed=config.seed,
                rows=config.rows,
            )
    except extract.DownloadError:
        raise  # the retry policy tries the download again
    except extract.ExtractError as exc:
        # Not a network problem: retrying would give the same answer.
        raise dg.Failure(str(exc), allow_retries=False) from exc
    if report.used_builtin_data:
        log.warning("running on BUILT-IN generated data, not the Kaggle datasets")
    files = report.present + report.downloaded + report.generated
    return dg.MaterializeResult(
        metadata={
            "data_origin": origin.tracks_origin(settings.raw_dir),
            "files": dg.MetadataValue.md(
                "\n".join(f"- `{p}` ({p.stat().st_size:,} bytes)" for p in sorted(files))
            ),
            "downloaded": len(report.downloaded),
            "generated": len(report.generated),
        }
    )


@dg.multi_asset(
    specs=[dg.AssetSpec(key, deps=[raw_files], kinds={"duckdb"}) for key in RAW_SOURCES],
    group_name="raw",
    description="`python -m python_ml load`: each raw file read into schema raw as text; rows "
    "that do not parse are quarantined in raw.load_rejects with their file line.",
)
def raw_tables(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    from python_ml.warehouse.catalog import LOAD_LOG, LOAD_REJECTS
    from python_ml.warehouse.load import load_raw

    settings = _settings()
    with _writing(settings), step(f"load the raw files from {settings.raw_dir} into schema raw"):
        loaded = load_raw(settings)
    by_table = {f.raw.raw_table: f for f in loaded}
    counts = _table_rows(settings, [LOAD_REJECTS, LOAD_LOG])
    for source in _MANIFEST_DATA["sources"].values():
        if source["schema"] != "raw":
            continue
        table = f"{source['schema']}.{source['identifier']}"
        metadata: dict[str, Any] = {"table": table}
        if table in by_table:
            f = by_table[table]
            metadata.update(
                {
                    "file": dg.MetadataValue.path(str(f.path)),
                    "rows_read": f.rows_read,
                    "dagster/row_count": f.rows_kept,
                    "rows_rejected": f.rows_rejected,
                    "encoding": f.encoding,
                }
            )
        elif table in counts:
            metadata["dagster/row_count"] = counts[table]
        yield dg.MaterializeResult(asset_key=TRANSLATOR.get_asset_key(source), metadata=metadata)


# --------------------------------------------------------------------------------------------
# dbt


def _dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=str(PROJECT_ROOT),
        profiles_dir=str(PROJECT_ROOT / "profiles"),
        dbt_executable=dbt_executable(),
    )


def _run_dbt_build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, title: str, target: str
) -> Iterator[Any]:
    settings = _settings()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    events = []
    with _writing(settings), step(title):
        invocation = dbt.cli(
            ["build"],
            context=context,
            target_path=settings.project_root / "target" / "dagster" / target,
            raise_on_error=False,
        )
        events = list(invocation.stream())
        if not invocation.is_successful():
            raise StepFailed(
                f"{title} failed; its output above names the model or test. Fix it and run "
                "the step again"
            )
    # Row counts after dbt has released the warehouse (DuckDB allows one writer).
    tables = {}
    for event in events:
        if isinstance(event, dg.Output):
            key = context.assets_def.keys_by_output_name[event.output_name]
            name = context.assets_def.metadata_by_key.get(key, {}).get("dagster/table_name")
            if name:
                tables[event.output_name] = ".".join(str(name).split(".")[-2:])
    counts = _table_rows(settings, sorted(set(tables.values())))
    for event in events:
        if isinstance(event, dg.Output) and tables.get(event.output_name) in counts:
            event = event.with_metadata(
                {**event.metadata, "dagster/row_count": counts[tables[event.output_name]]}
            )
        yield event


@dbt_assets(
    manifest=MANIFEST,
    exclude=" ".join(PREDICTION_MARTS),
    name="dbt_ml_inputs",
    dagster_dbt_translator=TRANSLATOR,
)
def dbt_ml_inputs(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """dbt build of staging, cleaning, quality and exploration reports and the 90/10 split."""
    yield from _run_dbt_build(context, dbt, "dbt build (staging, cleaning, split)", "ml_inputs")


@dbt_assets(
    manifest=MANIFEST,
    select=" ".join(PREDICTION_MARTS),
    name="dbt_prediction_marts",
    dagster_dbt_translator=TRANSLATOR,
)
def dbt_prediction_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """dbt build of the prediction marts over the `ml` source."""
    yield from _run_dbt_build(context, dbt, "dbt build of the prediction marts", "marts")


# --------------------------------------------------------------------------------------------
# python_ml: train, score, songs


def _ml_key(table_constant: str) -> dg.AssetKey:
    return source_key(table_constant)


class TrainConfig(dg.Config):
    """The options of `python -m python_ml train`."""

    config: str | None = None  # tracks config YAML (default: python_ml/configs/tracks.yml)
    only: list[str] | None = None  # only these experiments (model or model/feature_set)


def _train_specs() -> list[dg.AssetSpec]:
    from python_ml.warehouse.catalog import MODEL_RUNS, POPULARITY_CLASSES, TRAIN_TRACKS

    inputs = [model_key(TRAIN_TRACKS.split(".")[1]), model_key(POPULARITY_CLASSES.split(".")[1])]
    return [
        dg.AssetSpec(
            "champion_model",
            deps=inputs,
            description="The champion: the registered MLflow model (alias `champion`) with its "
            "decision rule, chosen on the validation fold.",
            kinds={"mlflow", "tensorflow", "scikitlearn"},
        ),
        dg.AssetSpec(_ml_key(MODEL_RUNS), deps=inputs, kinds={"duckdb"}),
    ]


@dg.multi_asset(specs=_train_specs(), group_name="ml", name="train")
def train(context: dg.AssetExecutionContext, config: TrainConfig) -> Iterator[Any]:
    """`python -m python_ml train`: every experiment of the tracks config, then the champion."""
    from python_ml.cli import log_training_table
    from python_ml.tracking.registry import TRACKS_EXPERIMENT, champion_model_dir, setup_mlflow
    from python_ml.tracks.config import load_tracks_config
    from python_ml.tracks.train import train_tracks
    from python_ml.warehouse.catalog import MODEL_RUNS

    settings = _settings()
    tracks_config = load_tracks_config(Path(config.config) if config.config else None)
    with _writing(settings), step("train the tracks models"):
        results = train_tracks(settings, tracks_config, only=config.only)
    log_training_table(results)
    experiment_id = setup_mlflow(settings, TRACKS_EXPERIMENT)
    version, path = champion_model_dir(settings)
    champion = next((r for r in results if r.run_id == version.run_id), None)
    metadata: dict[str, Any] = {
        "champion_run_id": version.run_id,
        "champion_version": int(version.version),
        "mlflow_run": _mlflow_link(version.run_id, experiment_id),
        "model_path": dg.MetadataValue.path(str(path)),
        "promoted_by_this_run": champion is not None,
    }
    if champion is not None:
        val = champion.metrics["validation"]
        metadata.update(
            {
                "champion": champion.experiment.label,
                "validation_accuracy": round(val["accuracy"], 4),
                "validation_macro_f1": round(val["macro_f1"], 4),
                "validation_log_loss": round(val["log_loss"], 4),
                "validation_ece": round(val["ece"], 4),
            }
        )
    yield dg.MaterializeResult(asset_key="champion_model", metadata=metadata)
    yield dg.MaterializeResult(
        asset_key=_ml_key(MODEL_RUNS),
        metadata={
            "runs_this_time": len(results),
            "dagster/row_count": _table_rows(settings, [MODEL_RUNS]).get(MODEL_RUNS, 0),
        },
    )


def _score_specs() -> list[dg.AssetSpec]:
    from python_ml.warehouse.catalog import PREDICT_TRACK_CLASSES, PREDICT_TRACKS, TRACK_PREDICTIONS

    inputs = [model_key(t.split(".")[1]) for t in (PREDICT_TRACKS, PREDICT_TRACK_CLASSES)]
    return [
        dg.AssetSpec(
            _ml_key(TRACK_PREDICTIONS),
            deps=["champion_model", *inputs],
            kinds={"duckdb"},
        )
    ]


@dg.multi_asset(specs=_score_specs(), group_name="ml", name="score")
def score(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """`python -m python_ml score`: the champion scores the predict split (one transaction),
    then its holdout figures are computed."""
    from python_ml.tracking.registry import TRACKS_EXPERIMENT, setup_mlflow
    from python_ml.tracks.score import score_tracks
    from python_ml.warehouse.catalog import TRACK_PREDICTIONS

    settings = _settings()
    with _writing(settings), step("score the predict split with the champion"):
        scored = score_tracks(settings)
    holdout = scored["holdout"]
    experiment_id = setup_mlflow(settings, TRACKS_EXPERIMENT)
    return dg.MaterializeResult(
        asset_key=_ml_key(TRACK_PREDICTIONS),
        metadata={
            "dagster/row_count": scored["rows"],
            "champion_run_id": scored["run_id"],
            "mlflow_run": _mlflow_link(scored["run_id"], experiment_id),
            "rows_per_second": round(scored["rows"] / max(scored["seconds"], 1e-9)),
            "holdout_accuracy": round(holdout["accuracy"], 4),
            "holdout_macro_f1": round(holdout["macro_f1"], 4),
            "holdout_log_loss": round(holdout["log_loss"], 4),
            "holdout_ece": round(holdout["ece"], 4),
        },
    )


class SongsConfig(dg.Config):
    config: str | None = None  # study config (default: python_ml/configs/songs_2023.yml)


def _songs_specs() -> list[dg.AssetSpec]:
    from python_ml.warehouse.catalog import SONG_PREDICTIONS, SONGS_2023

    return [
        dg.AssetSpec(
            _ml_key(SONG_PREDICTIONS),
            deps=[model_key(SONGS_2023.split(".")[1])],
            kinds={"duckdb", "scikitlearn"},
        )
    ]


@dg.multi_asset(specs=_songs_specs(), group_name="ml", name="songs")
def songs(context: dg.AssetExecutionContext, config: SongsConfig) -> dg.MaterializeResult:
    """`python -m python_ml songs`: the 2023 songs study's out-of-fold predictions."""
    from python_ml.cli import write_songs_report
    from python_ml.songs.study import load_songs_config, results_table, run_study
    from python_ml.warehouse.catalog import SONG_PREDICTIONS

    settings = _settings()
    study = load_songs_config(Path(config.config) if config.config else None)
    with _writing(settings), step("2023 songs study (cross-validated)"):
        results = run_study(settings, study)
    table = results_table(results)
    write_songs_report(settings, table)
    return dg.MaterializeResult(
        asset_key=_ml_key(SONG_PREDICTIONS),
        metadata={
            "dagster/row_count": _table_rows(settings, [SONG_PREDICTIONS]).get(SONG_PREDICTIONS, 0),
            "results": dg.MetadataValue.md(table),
        },
    )


# --------------------------------------------------------------------------------------------
# charts and docs

PREDICTION_MART_KEYS = sorted(dbt_prediction_marts.keys, key=lambda k: k.to_user_string())


@dg.asset(
    deps=PREDICTION_MART_KEYS,
    group_name="report",
    description="`python -m python_ml charts`: PNG charts and the HTML report page "
    "(reports/index.html), logged to the champion's MLflow run.",
    kinds={"html", "matplotlib"},
)
def report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    from python_ml.reports.charts import draw_all

    settings = _settings()
    with step(f"charts into {settings.reports_dir}"):
        charts = draw_all(settings)
    page = settings.reports_dir / "index.html"
    log.info("open %s", page)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(page)),
            "charts": dg.MetadataValue.md("\n".join(f"- {c.file}: {c.title}" for c in charts)),
        }
    )


@dg.asset(
    deps=PREDICTION_MART_KEYS,
    group_name="report",
    description="`dbt docs generate`: the docs site (target/index.html) with the warehouse's "
    "catalog, after the prediction marts are built.",
    kinds={"dbt"},
)
def dbt_docs(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = _settings()
    with _writing(settings), step("dbt docs generate"):
        run_dbt(settings, "docs", "generate")
    site = settings.project_root / "target" / "index.html"
    log.info("docs site: %s (serve with `make docs-serve`)", site)
    return dg.MaterializeResult(metadata={"site": dg.MetadataValue.path(str(site))})


# --------------------------------------------------------------------------------------------
# jobs, schedule, sensor

main_job = dg.define_asset_job(
    "main_job",
    selection=dg.AssetSelection.all(),
    description="The main job, end to end (what `python -m python_ml run` runs).",
)

daily = dg.ScheduleDefinition(
    name="daily_main_job",
    job=main_job,
    cron_schedule="0 6 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="The main job every day at 06:00 (off until turned on in the UI).",
)


def raw_files_signature(raw_dir: Path) -> dict[str, list[float]]:
    """Each raw CSV's size and modification time: a change means new data."""
    if not raw_dir.exists():
        return {}
    return {
        str(p.relative_to(raw_dir)): [p.stat().st_size, p.stat().st_mtime]
        for p in sorted(raw_dir.rglob("*.csv*"))
        if p.is_file()
    }


@dg.sensor(
    job=main_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the main job when a raw CSV in $MUSIC_RAW_DIR is added or changed "
    "(off until turned on in the UI).",
)
def new_raw_files(context: dg.SensorEvaluationContext) -> Iterator[Any]:
    signature = raw_files_signature(load_settings().raw_dir)
    cursor = json.dumps(signature, sort_keys=True)
    if not signature:
        yield dg.SkipReason("no raw files yet")
        return
    if context.cursor == cursor:
        yield dg.SkipReason("no new or changed raw files")
        return
    previous = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(k for k in signature if previous.get(k) != signature[k])
    context.update_cursor(cursor)
    yield dg.RunRequest(
        run_key=cursor,
        tags={"music/changed_files": ", ".join(changed)[:200]},
    )


defs = dg.Definitions(
    assets=[
        raw_files,
        raw_tables,
        dbt_ml_inputs,
        train,
        score,
        songs,
        dbt_prediction_marts,
        report,
        dbt_docs,
    ],
    jobs=[main_job],
    schedules=[daily],
    sensors=[new_raw_files],
    resources={"dbt": _dbt_resource()},
)


# --------------------------------------------------------------------------------------------
# running the graph from python_ml


def materialize(
    settings: Settings,
    run_config: dict[str, Any] | None = None,
    selection: Sequence[str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize the main job (or the assets ``selection`` names, e.g. ``["report"]``)
    in this process, recorded in the Dagster instance the UI shows. Stops at the first failed
    asset and raises :class:`StepFailed` naming it."""

    home = dagster_home(settings)
    started = time.perf_counter()
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    job = defs.resolve_job_def("main_job")
    config = {
        # The steps log their own timed lines; Dagster's event log is in the UI's run history.
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
        **(run_config or {}),
    }
    asset_selection = (
        [dg.AssetKey.from_user_string(s) for s in selection] if selection is not None else None
    )
    with instance:
        result = job.execute_in_process(
            run_config=config,
            instance=instance,
            raise_on_error=False,
            asset_selection=asset_selection,
            tags={"music/launched_by": "python -m python_ml run"},
        )
    log.debug("asset graph run %s in %.1f s", result.run_id, time.perf_counter() - started)
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        ran = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
        skipped = sorted({n.name for n in result.job_def.nodes} - ran)
        messages = []
        for event in failures:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None and "Dagster" in error.cls_name:
                error = error.cause
            text = (error.message if error else "failed").strip()
            messages.append(f"{event.step_key}: {text.split(': ', 1)[-1].strip().rstrip('.')}")
        raise StepFailed(
            "the main job stopped: "
            + "; ".join(messages or ["a step failed"])
            + (f" (not run: {', '.join(skipped)})" if skipped else "")
            + f". Run history: `make dagster`, run {result.run_id[:8]}."
        )
    return result
