"""Only what is stale runs: each step of the main job records the versions of its inputs when
it finishes (``pipeline.step_versions`` in the warehouse), and the next run skips a step whose
inputs are the same, saying so:

    ==> score: up to date (same inputs as run 1a2b3c4d at 2026-12-01 20:15 UTC)
    ==> dbt build of the prediction marts: inputs changed (ml tables), running

Inputs are what a step reads: the dbt project's files (models, macros, seeds, tests, vars,
profiles: a macro change counts), the raw files as loaded, the `ml` tables, the champion, the
code of the step's stage, its config file. A step whose outputs are gone runs again. Training
is skipped when its inputs are the same as a whole (without reading the split); otherwise it
decides per experiment (python_ml/tracks/train.py, reuse keys). Loading compares the raw files
with ``raw.load_log``. ``python -m python_ml run --force`` recomputes everything. The record
lives in the warehouse, so a new or rebuilt warehouse starts with everything stale.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from python_ml.clock import utc_now
from python_ml.codebase import LOADER, MODEL_CODE
from python_ml.settings import PROJECT_ROOT, Settings

log = logging.getLogger("python_ml")

TABLE = "pipeline.step_versions"
# The dbt project's nodes: a change here rebuilds the changed nodes and their dependants only
# (state:modified+ against the last build's manifest, orchestration/assets/dbt.py).
DBT_NODE_FILES = ("models", "macros", "seeds", "tests", "analyses")
# Its configuration (vars, materializations, targets): a change here rebuilds everything.
DBT_CONFIG_FILES = ("dbt_project.yml", "profiles/profiles.yml")
DBT_PROJECT_FILES = DBT_NODE_FILES + DBT_CONFIG_FILES
# The libraries that run the dbt project's SQL on DuckDB: a new version may compute a model
# differently (a function's rounding, a cast, an error), so a change rebuilds both dbt halves
# whole, as the libraries of training and the songs study refit their models.
DBT_LIBRARIES = ("dbt-core", "dbt-duckdb", "duckdb")


# The code of each Python step beside its modules (below): what its own "code" input hashes,
# and with its default config its Dagster code version. A change here makes the step unsynced
# in the UI and stale for `run`.
STAGE_CODE = {
    "raw_files": ("python_ml/raw",),
    "raw_tables": (),
    "train": (),
    "score": (),
    "songs": (),
    "report": (),
}
# The config a step runs by default: its own "config" input, and part of its Dagster code
# version (the UI shows the asset unsynced when it changes). It was part of the "code" input
# too, so `status` said "inputs changed (code, config)" for an edit of tracks.yml alone.
STAGE_CONFIG = {
    "train": "python_ml/configs/tracks.yml",
    "songs": "python_ml/configs/songs_2023.yml",
}
# Steps whose code is the modules their module runs under these folders of python_ml
# (python_ml/codebase.py), not whole folders: an edit to predict's or the service's code
# (tracks/predict.py, scorer.py, feature_path.py) left the models and the predictions as they
# were, yet made train and score stale (and every experiment was fitted again). The songs
# study runs modules of python_ml/tracks too (its config's checks, tracks/kinds/params.py),
# which the folders it hashed before (songs, tracking) left out: an edit there left its
# figures current. The report words and draws what the modules of tracks and raw say (the
# reasons, the features' labels, the generated data's notices) and writes the songs study's
# results file (songs/__init__.py): only its folder was hashed, and the app's code was.
STAGE_MODULE = {
    # The loader (each file's load records it in raw.load_log: another version loads again).
    "raw_tables": LOADER,
    "train": ("python_ml.tracks.train", MODEL_CODE),
    "score": ("python_ml.tracks.score", MODEL_CODE),
    "songs": ("python_ml.songs.study", ("songs", *MODEL_CODE)),
    "report": (
        "python_ml.reports.charts",
        ("reports", "songs", "raw", "warehouse", *MODEL_CODE),
    ),
}


def stage_code(step: str, root: Path = PROJECT_ROOT) -> str:
    """A hash of a Python step's code (its "code" input; not its config)."""
    version = files_hash(*STAGE_CODE[step], root=root, suffixes=(".py", ".yml"))
    if step in STAGE_MODULE:
        from python_ml.codebase import code_digest

        package = root / "python_ml"
        name, within, *skip = STAGE_MODULE[step]
        module = code_digest(name, within, package, *skip)
        version = hashlib.sha256(f"{version}{module}".encode()).hexdigest()
    return version


def code_version(step: str, root: Path = PROJECT_ROOT) -> str:
    """The Dagster code version of a Python step: :func:`stage_code` and its default config
    (:data:`STAGE_CONFIG`), short."""
    version = stage_code(step, root)
    if step in STAGE_CONFIG:
        config = files_hash(STAGE_CONFIG[step], root=root, suffixes=(".yml",))
        version = hashlib.sha256(f"{version}{config}".encode()).hexdigest()
    return version[:16]


def raw_files_version(settings: Settings) -> str:
    """The raw CSVs' content (each one's name and SHA-256): the data version of the raw_files
    asset, from which every downstream asset's version is derived. A file the load log holds
    as loaded and untouched since is not read again: its logged SHA-256 (hashing 1 GB of
    tracks took 10 s of every run at 10x, when nothing had changed)."""
    from python_ml.raw.origin import file_sha256
    from python_ml.warehouse import catalog
    from python_ml.warehouse.db import WarehouseError
    from python_ml.warehouse.load import untouched_since

    try:
        rows = _query(
            settings,
            f"select file_path, file_bytes, loaded_at, file_sha256 from {catalog.LOAD_LOG}",
        )
    except WarehouseError:  # held by another program now: every file is read instead
        rows = None
    logged = {path: (size, at, sha) for path, size, at, sha in rows or []}
    raw_dir = settings.raw_dir
    digest = hashlib.sha256()
    for file in sorted(raw_dir.rglob("*")) if raw_dir.exists() else []:
        if not file.is_file() or not file.name.endswith((".csv", ".csv.gz")):
            continue
        size, loaded_at, sha = logged.get(str(file), (None, None, None))
        if not (sha and untouched_since(file, size, loaded_at)):
            sha = file_sha256(file)
        digest.update(file.relative_to(raw_dir).as_posix().encode())
        digest.update(sha.encode())
    return digest.hexdigest()[:16]


# The files dbt reads under its paths (tests/ also holds the pytest suite, which it does not).
DBT_FILE_SUFFIXES = (".sql", ".yml", ".yaml", ".csv", ".md")


def dbt_files_hash(*relpaths: str, root: Path = PROJECT_ROOT) -> str:
    """:func:`files_hash` of the files dbt reads under these paths."""
    return files_hash(*relpaths, root=root, suffixes=DBT_FILE_SUFFIXES)


def files_hash(
    *relpaths: str, root: Path = PROJECT_ROOT, suffixes: tuple[str, ...] | None = None
) -> str:
    """A hash of the files under these paths (names and bytes), only those ending in one of
    ``suffixes`` when given."""
    digest = hashlib.sha256()
    for rel in relpaths:
        path = root / rel
        files = [path] if path.is_file() else sorted(path.rglob("*")) if path.exists() else []
        for file in files:
            if suffixes is not None and not file.name.endswith(suffixes):
                continue
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(file.relative_to(root).as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def _query(settings: Settings, sql: str, params: list[Any] | None = None) -> list[tuple] | None:
    """Rows of a read-only query; None when a table it reads does not exist yet."""
    import duckdb

    from python_ml.warehouse import db

    if not settings.warehouse.exists():
        return None
    with db.connect(settings.warehouse) as con:
        try:
            return con.execute(sql, params or []).fetchall()
        except duckdb.Error:  # a table or column not there yet: the step is stale and runs
            return None


def _jsonable(rows: list[tuple] | None) -> Any:
    return None if rows is None else json.loads(json.dumps(rows, default=str))


# Inputs named only when there is something to say (a run's --vars, tables or files missing,
# the UIs' links moved, the study's MLflow runs gone): absent from a record, they were not
# there, not unrecorded (a unit test holds every input added under a condition to these).
DBT_VARS = "dbt vars"
TABLES_MISSING = "tables missing"
PAGE_FILES_MISSING = "files the page shows, missing"
UI_LINKS = "UI links"
STUDY_RUNS_GONE = "study runs in MLflow"
OCCASIONAL = frozenset({DBT_VARS, TABLES_MISSING, PAGE_FILES_MISSING, UI_LINKS, STUDY_RUNS_GONE})


def vars_input(dbt_vars: dict[str, Any] | None) -> dict[str, Any]:
    """The dbt ``--vars`` a dbt step (or the loader) ran with, as one of its inputs: none when
    it ran with dbt_project.yml's (so records made before `run --vars` existed still match)."""
    return {DBT_VARS: dbt_vars} if dbt_vars else {}


def dbt_libraries() -> dict[str, str]:
    """The installed versions of :data:`DBT_LIBRARIES` (an input of both dbt halves)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in DBT_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def missing_tables(settings: Settings, step: str, wanted: Any = ()) -> dict[str, Any]:
    """A dbt half's tables and views the warehouse lacks (dropped by hand, or lost), as an
    input named only when there are some: the half is stale and builds whole. The half's
    tables are those its last build recorded (:func:`record`'s ``tables``) and ``wanted`` (the
    Dagster asset's, from the manifest of now), so `run`, `status` and the step commands see a
    mart dropped by hand alike (it was "up to date", and stayed missing under the report)."""
    tables = set(wanted) | set(recorded_tables(settings, step) or ())
    rows = _query(
        settings, "select table_schema || '.' || table_name from information_schema.tables"
    )
    if rows is None or not tables:  # no warehouse yet: the half has no earlier run and builds
        return {}
    gone = sorted(tables - {name for (name,) in rows})
    return {TABLES_MISSING: gone} if gone else {}


def recorded_tables(settings: Settings, step: str) -> list[str] | None:
    """A dbt half's tables and views as its last build recorded them (None: none recorded)."""
    rows = _query(settings, f"select tables_json from {TABLE} where step = ?", [step])
    return json.loads(rows[0][0]) if rows and rows[0][0] else None


def record_tables(settings: Settings, step: str, tables: list[str]) -> None:
    """Record a dbt half's tables beside its last run's inputs (a record made before tables
    were recorded, of a half that is up to date), changing nothing else."""
    from python_ml.warehouse import db

    with db.RunLock(settings.warehouse), db.connect(settings.warehouse, read_only=False) as con:
        con.execute(f"alter table {TABLE} add column if not exists tables_json varchar")
        con.execute(
            f"update {TABLE} set tables_json = ? where step = ?",
            [json.dumps(sorted(tables)), step],
        )


def ml_inputs_inputs(settings: Settings) -> dict[str, Any]:
    from python_ml.warehouse import catalog

    return {
        "dbt project": dbt_files_hash(*DBT_NODE_FILES),
        "dbt configuration": dbt_files_hash(*DBT_CONFIG_FILES),
        "dbt libraries": dbt_libraries(),
        "raw files": _jsonable(
            _query(
                settings,
                # The content, not where it lies: a moved raw folder is the same input.
                "select dataset, table_name, file_sha256, file_bytes, rows_read, loaded_at "
                f"from {catalog.LOAD_LOG} order by all",
            )
        ),
        "outputs": _jsonable(
            _query(
                settings,
                f"select (select count(*) from {catalog.TRAIN_TRACKS}), "
                f"(select count(*) from {catalog.PREDICT_TRACKS}), "
                f"(select count(*) from {catalog.SONGS_2023})",
            )
        ),
        **missing_tables(settings, "dbt_ml_inputs"),
    }


def train_inputs(settings: Settings, config_path: Path | None) -> dict[str, Any]:
    """What training reads, without reading the train table: the ML inputs as the run that
    last changed them left them, the config, the code and the libraries. Equal inputs, and
    every experiment would be reused (same reuse keys): the step is skipped without loading
    the split. Any other change goes to the per-experiment reuse keys (tracks/train.py)."""
    from python_ml.tracking.runs import library_versions
    from python_ml.warehouse import catalog

    config = config_path or PROJECT_ROOT / STAGE_CONFIG["train"]
    champion = _query(
        settings,
        f"select model_path from {catalog.MODEL_RUNS} where task = 'tracks' and is_champion "
        "order by finished_at desc limit 1",
    )
    path = champion[0][0] if champion and champion[0][0] else None
    return {
        # The champion's model files still where its run logged them (an MLflow folder
        # removed or replaced makes training run, and find out what it can reuse).
        "champion files": bool(path and (settings.mlflow_dir / path / "MLmodel").exists()),
        "ml inputs": data_version(settings, "dbt_ml_inputs"),
        "config": hashlib.sha256(config.read_bytes()).hexdigest() if config.is_file() else None,
        "code": stage_code("train"),
        "libraries": library_versions(),
        "outputs": _jsonable(
            _query(
                settings,
                f"select count(*), max(case when is_champion then run_id end) "
                f"from {catalog.MODEL_RUNS} where task = 'tracks' and status = 'FINISHED'",
            )
        ),
    }


def score_inputs(settings: Settings) -> dict[str, Any]:
    from python_ml.tracking.champion_files import ChampionUnavailable, warehouse_champion
    from python_ml.warehouse import catalog

    try:
        champion = warehouse_champion(settings)["run_id"]
    except (ChampionUnavailable, Exception):  # no champion yet: the step runs and says so
        champion = None
    return {
        "champion": champion,
        "predict split": _jsonable(
            _query(
                settings,
                # Every row's hash, summed (any order): md5 of the rows as text, in order,
                # took 3-8 s at 10x on every run.
                f"select count(*), sum(hash(t))::varchar from {catalog.PREDICT_TRACKS} as t",
            )
        ),
        "code": stage_code("score"),
        "outputs": _jsonable(
            _query(
                settings,
                f"select count(*) from {catalog.TRACK_PREDICTIONS} where run_id = ?",
                [champion],
            )
        ),
    }


def songs_inputs(settings: Settings, config_path: Path | None) -> dict[str, Any]:
    from python_ml.tracking.runs import library_versions
    from python_ml.warehouse import catalog

    config = config_path or PROJECT_ROOT / STAGE_CONFIG["songs"]
    return {
        # Its models' libraries, as training's (a new scikit-learn refitted the tracks models
        # and left the study's figures, fitted with the old one, as current).
        "libraries": library_versions(),
        # The study's runs still in the MLflow folder, said only when they are not (an MLflow
        # folder removed: training logged its runs again, the study's stayed lost).
        **({} if _songs_runs_kept(settings) else {STUDY_RUNS_GONE: False}),
        "songs": _jsonable(
            _query(
                settings,
                f"select md5(string_agg(t::varchar, ',' order by t.song_key)) "
                f"from {catalog.SONGS_2023} as t",
            )
        ),
        "config": hashlib.sha256(config.read_bytes()).hexdigest() if config.is_file() else None,
        "code": stage_code("songs"),
        # Its predictions. (Its results file, which the report page links, is the report's
        # output too: a new reports folder gets it from the warehouse, without a new study.)
        "outputs": {
            "predictions": _jsonable(
                _query(settings, f"select count(*) from {catalog.SONG_PREDICTIONS}")
            ),
        },
    }


def _songs_runs_kept(settings: Settings) -> bool:
    """Whether every run of the study's current predictions has its folder in the MLflow
    folder's artifacts (each run logs its figures there: python_ml/tracking/registry.py)."""
    from python_ml.warehouse import catalog

    runs = _query(settings, f"select distinct run_id from {catalog.SONG_PREDICTIONS}") or []
    return all((settings.mlflow_dir / "artifacts" / run_id).is_dir() for (run_id,) in runs)


def ml_tables(settings: Settings) -> Any:
    from python_ml.warehouse import catalog

    return _jsonable(
        _query(
            settings,
            f"select (select count(*) || ':' || coalesce(max(finished_at)::varchar, '') "
            f"|| ':' || coalesce(max(case when is_champion then run_id end), '') "
            f"from {catalog.MODEL_RUNS}), "
            # Which run of each model a training last fitted or reused (the leaderboard's
            # current runs): a training that reused a run older than the model's latest fit
            # changes it, one that reused every current run again changes nothing.
            f"(select coalesce(string_agg(run_id, ',' order by run_id), '') from (select "
            f"arg_max(run_id, coalesce(reused_at, finished_at)) as run_id from "
            f"{catalog.MODEL_RUNS} group by task, model_name, model_type, feature_set, "
            f"data_fingerprint)), "
            f"(select count(*) || ':' || coalesce(max(scored_at)::varchar, '') "
            f"from {catalog.TRACK_PREDICTIONS}), "
            f"(select count(*) || ':' || coalesce(max(scored_at)::varchar, '') "
            f"from {catalog.SONG_PREDICTIONS})",
        )
    )


def marts_inputs(settings: Settings) -> dict[str, Any]:
    from python_ml.warehouse import catalog

    return {
        "dbt project": dbt_files_hash(*DBT_NODE_FILES),
        "dbt configuration": dbt_files_hash(*DBT_CONFIG_FILES),
        "dbt libraries": dbt_libraries(),
        # What the ML inputs were built from (a change of the project alone is the line above).
        "ml inputs": recorded_inputs(settings, "dbt_ml_inputs").get("raw files"),
        "ml tables": ml_tables(settings),
        "outputs": _jsonable(
            _query(settings, f"select count(*) from {catalog.FCT_TRACK_PREDICTIONS}")
        ),
        **missing_tables(settings, "dbt_prediction_marts"),
    }


def report_inputs(settings: Settings) -> dict[str, Any]:
    page = settings.reports_dir / "index.html"
    return {
        "prediction marts": data_version(settings, "dbt_prediction_marts"),
        # The data-quality table and the feature correlations (catalog.REPORT_READS) are built
        # with the ML inputs: a change to those alone left the page as it was.
        "ML inputs": data_version(settings, "dbt_ml_inputs"),
        "code": stage_code("report"),
        "raw files' origin": files_hash("origin.json", root=settings.raw_dir),
        "outputs": page.stat().st_mtime if page.exists() else None,  # the page
        # A chart, the model card or the songs study's results file the page shows or links,
        # deleted since: named only when one is, so a whole report's record is as before (a
        # deleted PNG was "up to date", and the page showed a broken image until the marts
        # changed). The results file is linked only when the report wrote it.
        **({PAGE_FILES_MISSING: gone} if (gone := missing_beside(page)) else {}),
        # The docs and MLflow addresses the page links to, named only when not make's defaults
        # (so records made before stay as they were): `make run MLFLOW_PORT=5101` on an
        # up-to-date project left the page linking port 5000.
        **({UI_LINKS: links} if (links := report_links()) != report_links(defaults=True) else {}),
    }


def report_links(defaults: bool = False) -> dict[str, str]:
    """The browser UIs the report page links to (python_ml/reports/charts.py), at today's
    addresses or make's defaults."""
    from python_ml.settings import UI_ADDRESSES, ui_address

    names = ("docs", "mlflow")
    if defaults:
        return {name: UI_ADDRESSES[name][1] for name in names}
    return {name: ui_address(name) for name in names}


def missing_beside(page: Path) -> list[str]:
    """The files beside ``page`` that it shows or links by a bare name (``src="x.png"``,
    ``href="model_card.html"``) and that are not there (none when the page is not)."""
    import re

    try:
        text = page.read_text(encoding="utf-8")
    except OSError:
        return []
    names = set(re.findall(r'(?:src|href)="([\w.-]+\.\w+)"', text))
    return sorted(name for name in names if not (page.parent / name).is_file())


def docs_inputs(settings: Settings) -> dict[str, Any]:
    from python_ml.warehouse.dbt import docs_page

    site = docs_page(settings)  # the page the report links (dbt docs generate --static)
    return {
        "dbt project": dbt_files_hash(*DBT_PROJECT_FILES),
        "prediction marts": data_version(settings, "dbt_prediction_marts"),
        "outputs": site.stat().st_mtime if site.exists() else None,
    }


def _signature(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def _last(settings: Settings, step: str) -> tuple[str, dict[str, Any], str, Any] | None:
    rows = _query(
        settings,
        f"select signature, inputs_json, run_id, finished_at from {TABLE} where step = '{step}'",
    )
    if not rows:
        return None
    signature, inputs, run_id, finished_at = rows[0]
    return signature, json.loads(inputs), run_id, finished_at


def recorded_inputs(settings: Settings, step: str) -> dict[str, Any]:
    """The inputs the step last finished with ({} when it never did on this warehouse)."""
    last = _last(settings, step)
    return last[1] if last else {}


def changed_inputs(settings: Settings, step: str, inputs: dict[str, Any]) -> set[str] | None:
    """The names of the inputs that differ from the step's last finished run (None: no run)."""
    last = _last(settings, step)
    if last is None:
        return None
    now = json.loads(json.dumps(inputs, default=str))
    return {k for k in set(now) | set(last[1]) if last[1].get(k) != now.get(k)}


def changed_in_words(settings: Settings, step: str, changed: set[str]) -> str:
    """The inputs ``changed`` names, sorted, each one the last run did not record said so (an
    input the record has gained since: after an upgrade, "libraries" read as if a library had
    changed when none had), but those named only when there is something to say."""
    recorded = recorded_inputs(settings, step)
    return ", ".join(
        name if name in recorded or name in OCCASIONAL else f"{name} (not recorded before)"
        for name in sorted(changed)
    )


def up_to_date(settings: Settings, step: str, title: str, inputs: dict[str, Any]) -> bool:
    """True (and one log line saying so) when the step last finished with these inputs;
    otherwise one line naming what changed, and False."""
    last = _last(settings, step)
    if last is not None and last[0] == _signature(inputs):
        log.info(
            "==> %s: up to date (same inputs as %s at %s UTC)",
            title,
            _run_named(last[2]),
            f"{last[3]:%Y-%m-%d %H:%M}",
        )
        return True
    if last is None:
        log.info("==> %s: no earlier run on this warehouse, running", title)
    else:
        changed = changed_in_words(settings, step, changed_inputs(settings, step, inputs) or set())
        log.info("==> %s: inputs changed (%s), running", title, changed or "record")
    return False


COMMAND_RUN = "command "  # a step run on its own (`python -m python_ml <command>`), not by run


def command_inputs(
    settings: Settings, command: str, config: Path | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The step a command runs, and its inputs now (None: a command that is not a step):
    taken before it runs, and again after (:func:`record_command`)."""
    inputs = {
        "build": lambda: ("dbt_ml_inputs", ml_inputs_inputs(settings)),
        "train": lambda: ("train", train_inputs(settings, config)),
        "songs": lambda: ("songs", songs_inputs(settings, config)),
        "score": lambda: ("score", score_inputs(settings)),
        "marts": lambda: ("dbt_prediction_marts", marts_inputs(settings)),
        "charts": lambda: ("report", report_inputs(settings)),
        "docs": lambda: ("dbt_docs", docs_inputs(settings)),
    }.get(command)
    return inputs() if inputs else None


def record_command(
    settings: Settings,
    command: str,
    config: Path | None = None,
    started: dict[str, Any] | None = None,
) -> None:
    """After a step command finished on its own (`python -m python_ml marts`, ...): the inputs
    it ran on, as `run`'s asset records them, so the next `run` does not do it again (it did:
    `marts` then `run` built the marts twice). ``config``: the command's --config;
    ``started``: its inputs as it started (:func:`command_inputs`). A command that did not
    run its whole step (train --only, a build of a dbt selection, another engine) records
    nothing, and `run` decides as before."""
    import uuid

    now = command_inputs(settings, command, config)
    if now is None:
        return
    step, inputs = now
    record(settings, step, inputs, f"{COMMAND_RUN}{command} {uuid.uuid4().hex[:8]}", True, started)


def _run_named(run_id: str) -> str:
    """A recorded run as the log names it: Dagster's run id (8 characters), or the command."""
    if run_id.startswith(COMMAND_RUN):
        return f"`python -m python_ml {run_id.removeprefix(COMMAND_RUN).split(' ')[0]}`"
    return f"run {run_id[:8]}"


# The inputs a person edits (files), as they were when the step started: an edit made while
# it ran is not what it ran on (a learning rate changed 20 s into `train` was recorded as
# trained, and `status` said training was up to date).
AS_STARTED = ("config", "code", "dbt project", "dbt configuration", "libraries", "dbt libraries")


def record(
    settings: Settings,
    step: str,
    inputs: dict[str, Any],
    run_id: str,
    data_changed: bool = True,
    started: dict[str, Any] | None = None,
    tables: list[str] | None = None,
) -> None:
    """After the step finished: the inputs it ran on (its outputs are part of them, read
    again now that it wrote them; the files of :data:`AS_STARTED` as in ``started``, the
    inputs taken as it started). ``data_changed`` False (a dbt half that rebuilt no node)
    keeps the run that last changed its outputs, which is what the steps reading them compare
    (:func:`data_version`). ``tables``: a dbt half's tables and views (``schema.name``), which
    :func:`missing_tables` looks for; None keeps those recorded before."""
    from python_ml.warehouse import db

    if started:
        inputs = {**inputs, **{k: started[k] for k in AS_STARTED if k in started}}

    with db.RunLock(settings.warehouse), db.connect(settings.warehouse, read_only=False) as con:
        con.execute("create schema if not exists pipeline")
        con.execute(
            f"create table if not exists {TABLE} (step varchar primary key, signature varchar, "
            "inputs_json varchar, run_id varchar, finished_at timestamp)"
        )
        con.execute(f"alter table {TABLE} add column if not exists data_run_id varchar")
        con.execute(f"alter table {TABLE} add column if not exists tables_json varchar")
        previous = con.execute(
            f"select data_run_id, tables_json from {TABLE} where step = ?", [step]
        ).fetchone()
        data_run_id = run_id if data_changed or not previous or not previous[0] else previous[0]
        kept = json.dumps(sorted(tables)) if tables is not None else previous and previous[1]
        con.execute(
            f"insert or replace into {TABLE} "
            "(step, signature, inputs_json, run_id, finished_at, data_run_id, tables_json) "
            "values (?, ?, ?, ?, ?, ?, ?)",
            [
                step,
                _signature(inputs),
                json.dumps(inputs, default=str),
                run_id,
                utc_now(),
                data_run_id,
                kept or None,
            ],
        )


def data_version(settings: Settings, step: str) -> str | None:
    """The run that last changed the step's outputs (None: it never ran on this warehouse)."""
    rows = _query(settings, f"select data_run_id from {TABLE} where step = ?", [step])
    return rows[0][0] if rows else None


# Each step's name in the log (`==> <title>: up to date ...`) and in `status`.
TITLES = {
    "extract": "extract raw data",
    "load": "load the raw files",
    "dbt_ml_inputs": "dbt build (staging, cleaning, split)",
    "songs": "2023 songs study (cross-validated)",
    "train": "train the tracks models",
    "score": "score the predict split with the champion",
    "dbt_prediction_marts": "dbt build of the prediction marts",
    "report": "charts",  # the log adds "into <reports folder>"
    "dbt_docs": "dbt docs generate",
}

# The steps of `run` that compare their inputs with their last run's, in run order: (step,
# its inputs now, the steps whose outputs it reads).
STEPS: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("dbt_ml_inputs", ml_inputs_inputs, ("load",)),
    ("songs", lambda s: songs_inputs(s, None), ("dbt_ml_inputs",)),
    ("train", lambda s: train_inputs(s, None), ("dbt_ml_inputs",)),
    ("score", score_inputs, ("dbt_ml_inputs", "train")),
    ("dbt_prediction_marts", marts_inputs, ("dbt_ml_inputs", "songs", "train", "score")),
    ("report", report_inputs, ("dbt_prediction_marts",)),
    ("dbt_docs", docs_inputs, ("dbt_prediction_marts",)),
)


def pending_steps(
    settings: Settings, rebuilds_nothing: Callable[[Settings, str, set[str]], bool] | None = None
) -> dict[str, str]:
    """What the next `run` (default configs) runs, by the comparison `run` itself makes: the
    raw files the warehouse does not hold as they are, the steps whose recorded inputs differ
    from today's (a step command run on its own, e.g. `score`, changes what the steps after it
    read), and the steps after them, whose inputs may change. ``rebuilds_nothing``
    (assets/dbt.rebuilds_nothing): whether a dbt half whose only change is the project's nodes
    has none of its own to rebuild, while nothing before it runs; `run` then records it without
    starting dbt (a mart's SQL edited: the ML inputs' half), and it is not counted, nor the
    steps after it. Title -> why."""
    from python_ml.warehouse import db
    from python_ml.warehouse.load import stale_files

    pending: dict[str, str] = {}
    if not settings.warehouse.exists():  # every step: said as `run` will run them
        first = {"load": "no warehouse yet"}
        first |= {step: "no earlier run on this warehouse" for step, _, _ in STEPS}
        return {TITLES[step]: why for step, why in first.items()}
    from python_ml.raw.generate import make_again

    remade = make_again(settings.raw_dir, dry_run=True) if settings.raw_dir.is_dir() else []
    if remade:
        names = ", ".join(p.name for p in remade)
        pending["extract"] = f"the generator changed since {names} were made: made again"
    with db.connect(settings.warehouse) as con:
        stale = stale_files(con, settings)
    if stale:
        pending["load"] = "; ".join(dict.fromkeys(reason for _, reason in stale))
    elif remade:
        pending["load"] = "reads what extract raw data may change"
    for step, inputs, upstream in STEPS:
        changed = changed_inputs(settings, step, inputs(settings))
        if changed is None:
            pending[step] = "no earlier run on this warehouse"
        elif (
            changed
            and rebuilds_nothing is not None
            and step in ("dbt_ml_inputs", "dbt_prediction_marts")
            and not any(u in pending for u in upstream)
            and rebuilds_nothing(settings, step, changed)
        ):
            continue  # recorded by `run` without starting dbt: nothing after it changes
        elif changed:
            pending[step] = f"inputs changed ({changed_in_words(settings, step, changed)})"
        elif any(u in pending for u in upstream):
            before = ", ".join(TITLES[u] for u in upstream if u in pending)
            pending[step] = f"reads what {before} may change"
    return {TITLES[step]: why for step, why in pending.items()}
