"""One fast scoring path through the dbt project's own rules.

The dbt models that validate tracks and derive their features (the raw tracks and artists ->
staging -> ``int_tracks_validated`` -> ``int_tracks_enriched``, with the var
``popularity_required`` false: new tracks have no popularity yet) are compiled by dbt once per
version of the project (``scoring/models-<hash>.json`` in dbt's target folder) and executed in
an in-process DuckDB for each batch: the same SQL as the warehouse, from the one definition, in
milliseconds. ``predict``, the app's score page and the HTTP service (``serve``) all use it.

The artists are read once, from the warehouse's built ``int_artists_validated`` (what the
champion's features were built from; its raw artists table, through the same models, before
the first build). A CSV is loaded as the raw tracks table and runs the track models as one
statement. A batch of records (the service, the app) runs them in two: the models up to
``int_tracks_validated`` read nothing but the batch, which is given to them as one JSON text
parameter, so DuckDB plans that statement once per worker and day (it binds and plans again,
on every execution, any statement that reads a table: duckdb/duckdb#17237); the models after
it (the artists' join, the classes) run over its rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import queue
import re
import tempfile
import threading
from collections.abc import Sequence
from datetime import datetime
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from python_ml.errors import UserError
from python_ml.raw.schemas import ARTISTS, TRACK_COLUMNS, TRACKS
from python_ml.settings import Settings

log = logging.getLogger("python_ml")

TARGET_MODEL = "int_tracks_enriched"
# The drift of a batch against the training split (macros/feature_drift.sql), compiled with
# the models: `predict` runs it on each batch it scores.
DRIFT_ANALYSIS = "batch_feature_drift"
VALIDATED_MODEL = "int_tracks_validated"
ARTISTS_MODEL = "int_artists_validated"  # catalog.ARTISTS: copied from the warehouse when built
VARS = "{popularity_required: false}"
# What a new track may lack: it has no popularity yet, and maybe no Spotify ids.
OPTIONAL_COLUMNS = ("popularity", "id", "id_artists")
# What is said of tracks without artist ids (predict, the service).
NO_ARTIST_IDS = (
    "the artist features (followers, genre count) are unknown and imputed, as for a track "
    "whose artist the warehouse does not know; give tracks.csv's id_artists to use them"
)
# What is said of a track whose artist ids are given but whose first artist is not among the
# warehouse's (a new artist, or one its checks reject): the artist features (ARTIST_FEATURES,
# tracks/feature_origin.py) are NULL in int_tracks_enriched then.
UNKNOWN_ARTIST = (
    "the first artist id is not among the warehouse's artists (new to it, or rejected by its "
    "checks): the artist features (followers, genre count) are unknown and imputed"
)
# A track's content, without the id it may lack: what a made-up id is the hash of.
CONTENT_COLUMNS = [c for c in TRACK_COLUMNS if c != "id"]
# dbt seed column types -> DuckDB's.
SEED_TYPES = {"string": "varchar", "text": "varchar"}
# A batch of records as the raw tracks table's rows, from one JSON text parameter: a statement
# that reads no table is planned once (see the module's docstring). The columns as the raw
# table has them (FeaturePath.__init__).
BATCH_ROW_TYPES = {
    "file_line": "BIGINT",
    **dict.fromkeys(TRACK_COLUMNS, "VARCHAR"),
    "_loaded_at": "TIMESTAMP",
}
BATCH_ROWS_SQL = (
    "(select unnest(from_json(cast($1 as varchar), "
    f"'{json.dumps([BATCH_ROW_TYPES])}'), recursive := true))"
)
# The validated rows of a batch, as the models after int_tracks_validated read them.
VALIDATED_ROWS = "batch_validated_rows"
# DuckDB's current_date in the compiled SQL (macro release_year_range): a function whose value
# holds for one query only, so DuckDB plans a statement with it again on each execution. The
# statement of a batch's records has the date written in instead (prepared again each day).
CURRENT_DATE = re.compile(r"\bcurrent_date\b(\s*\(\s*\))?", re.IGNORECASE)


# How alike a name must be to a column to be named as its misspelling (difflib's ratio):
# `energie` for `energy` is 0.77, and was not named at 0.8.
SPELLING_CUTOFF = 0.75


def not_track_columns(names: Sequence[str]) -> list[str]:
    """The names that are not tracks.csv columns, quoted, each with the column it looks like a
    misspelling of (``'id_artist' (did you mean 'id_artists'?)``): such a column or key is not
    scored, so a misspelt optional one (the artist ids) would go unused without a word."""
    import difflib

    described = []
    for name in names:
        if name in TRACK_COLUMNS:
            continue
        close = difflib.get_close_matches(
            str(name).strip().lower(), TRACK_COLUMNS, 1, SPELLING_CUTOFF
        )
        described.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    return described


def misspelt_columns(missing: list[str], given: Sequence[str]) -> str:
    """For the missing columns, the given names that look like misspellings of them, as
    ``" ('danceabilty' for 'danceability'?)"``; empty when none does."""
    import difflib

    # Compared as not_track_columns compares: trimmed, in lower case (`DANCEABILITY` too).
    others = {str(g).strip().lower(): g for g in given if g not in TRACK_COLUMNS}
    guesses = []
    for column in missing:
        close = difflib.get_close_matches(column, list(others), 1, SPELLING_CUTOFF)
        if close:
            guesses.append(f"{others[close[0]]!r} for {column!r}")
    return f" ({', '.join(guesses)}?)" if guesses else ""


class FeaturePathError(UserError, RuntimeError):
    """The project's models could not be compiled or run for scoring; the message says why."""


def project_version(settings: Settings) -> str:
    """The version of the dbt project's files (their hash, 16 characters)."""
    from python_ml.orchestration.versions import DBT_PROJECT_FILES, dbt_files_hash

    return dbt_files_hash(*DBT_PROJECT_FILES, root=settings.project_root)[:16]


def compiled_models(settings: Settings) -> dict[str, Any]:
    """The compiled SQL of the models upstream of ``int_tracks_enriched`` (and the seeds they
    read), in build order: compiled by dbt once per version of the project's files."""
    from python_ml.warehouse.dbt import DbtError, check_target_dir, run_dbt

    # (2: with the models' manifest entries, which edited_since_build compares)
    cache = settings.target_dir / "scoring" / f"models-2-{project_version(settings)}.json"
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    check_target_dir(settings)  # where the compiled models are kept, before compiling them
    with tempfile.TemporaryDirectory(prefix="music-compile-") as tmp:
        scratch = Path(tmp)
        # A scratch warehouse: compiling never opens (or waits for) the project's own.
        # Named as the project's, so the models' database is the same in both manifests.
        scratch_settings = dataclasses.replace(
            settings, warehouse=scratch / settings.warehouse.name
        )
        try:
            run_dbt(
                scratch_settings,
                "compile",
                "--select",
                f"+{TARGET_MODEL},resource_type:model",
                f"+{TARGET_MODEL},resource_type:seed",
                DRIFT_ANALYSIS,
                "--vars",
                VARS,
                "--quiet",
                capture=True,
                scratch=scratch,
            )
        except DbtError as exc:
            raise FeaturePathError(f"the dbt project's models do not compile: {exc}") from None
        manifest = json.loads((scratch / "target" / "manifest.json").read_text(encoding="utf-8"))
    compiled = _from_manifest(manifest, settings.project_root)
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".models-", dir=cache.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(compiled, out, indent=1)
    os.replace(tmp_name, cache)
    return compiled


def _from_manifest(manifest: dict[str, Any], project_root: Path) -> dict[str, Any]:
    nodes = manifest["nodes"]
    target = next(u for u, n in nodes.items() if n["name"] == TARGET_MODEL)
    upstream, todo = {target}, [target]
    while todo:
        for parent in manifest["parent_map"][todo.pop()]:
            if parent not in upstream:
                upstream.add(parent)
                todo.append(parent)
    graph = {u: set(manifest["parent_map"][u]) & upstream for u in upstream}
    order = list(TopologicalSorter(graph).static_order())
    tracks_source = next(
        u
        for u in upstream
        if u.startswith("source.") and manifest["sources"][u]["identifier"].endswith("__tracks")
    )
    per_batch = {tracks_source}
    for unique_id in order:
        if graph[unique_id] & per_batch:
            per_batch.add(unique_id)
    entries = []
    for unique_id in order:
        node = manifest["sources"].get(unique_id) or nodes[unique_id]
        entry = {
            "name": node["name"],
            "resource_type": node["resource_type"],
            "database": node["database"],
            "schema": node["schema"],
            "identifier": node.get("identifier") or node.get("alias") or node["name"],
            "per_batch": unique_id in per_batch,
        }
        if node["resource_type"] == "model":
            entry["sql"] = node["compiled_code"]
        elif node["resource_type"] == "seed":
            entry["path"] = str(project_root / node["original_file_path"])
            entry["column_types"] = node["config"].get("column_types") or {}
        entries.append(entry)
    drift = next(n for n in nodes.values() if n["name"] == DRIFT_ANALYSIS)
    return {
        "database": nodes[target]["database"],
        "nodes": entries,
        "drift_sql": drift["compiled_code"],
        "manifest": _entries_of(manifest, upstream),
    }


def _entries_of(manifest: dict[str, Any], upstream: set[str]) -> dict[str, Any]:
    """The part of ``manifest`` dbt_state.modified_upstream compares for the scoring models:
    their nodes and sources, their parents, and the macros they use (and those call)."""
    from python_ml.orchestration.dbt_state import reachable

    every = manifest["macros"]
    called = reachable(
        [
            m
            for u in upstream
            for m in ((manifest["nodes"].get(u) or {}).get("depends_on") or {}).get("macros", [])
        ],
        lambda name: (every.get(name) or {}).get("depends_on", {}).get("macros", []),
    )
    macros = {name: every[name] for name in called if name in every}
    return {
        "nodes": {u: manifest["nodes"][u] for u in upstream if u in manifest["nodes"]},
        "sources": {u: manifest["sources"][u] for u in upstream if u in manifest["sources"]},
        "parent_map": {u: manifest["parent_map"][u] for u in upstream},
        "macros": macros,
        "target": next(
            u for u in upstream if manifest["nodes"].get(u, {}).get("name") == TARGET_MODEL
        ),
    }


def _not_built(entries: dict[str, Any], selected: list[str]) -> list[str]:
    """The models and seeds the scoring path runs (``entries``: _entries_of) that a dbt command
    with this selection did not build."""
    return sorted(
        uid
        for uid, node in entries["nodes"].items()
        if node.get("resource_type") in ("model", "seed") and uid not in set(selected)
    )


def edited_since_build(settings: Settings, con: Any, compiled: dict[str, Any]) -> str | None:
    """What scoring would derive differently from the build of the warehouse's train split,
    said in a sentence; None when nothing. The split's post-hook records which dbt command
    built it (``audit.train_tracks_build``); that command's manifest is kept by python_ml
    (``dbt_state/<warehouse>/train_build``, after a build of the whole ML-inputs half) or is
    dbt's own in its target folder (a plain `dbt build`, until the next dbt command there).
    The models upstream of the features and their macros are compared with those compiled
    now (dbt_state.modified_upstream: their SQL, as dbt's state:modified does). Not checked
    (None, and a warning) when neither manifest is of that command, nor on a warehouse built
    before 2026-12-06."""
    from python_ml.orchestration.dbt_state import TRAIN_BUILD, modified_upstream, state_dir
    from python_ml.warehouse import catalog, db

    if not db.has_table(con, catalog.TRAIN_BUILD):
        return None
    columns = {
        d[0] for d in con.execute(f"select * from {catalog.TRAIN_BUILD} limit 0").description
    }
    row = con.execute(
        f"select invocation_id, started_at, "
        f"{'selected_resources' if 'selected_resources' in columns else 'null'} "
        f"from {catalog.TRAIN_BUILD}"
    ).fetchone()
    if row is None:
        return None
    invocation, started, selected = row
    now = compiled["manifest"]
    built: dict[str, Any] | None = None
    unbuilt: list[str] = []
    for path, whole_half in (
        (state_dir(settings, TRAIN_BUILD) / "manifest.json", True),
        (settings.target_dir / "manifest.json", False),
    ):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (manifest.get("metadata") or {}).get("invocation_id") != invocation:
            continue
        # A plain dbt command that built the split but not every model it comes from (a
        # selection): those tables may be older than the manifest's SQL (python_ml keeps
        # only whole builds, where state:modified+ rebuilt whatever changed).
        unbuilt = [] if whole_half or selected is None else _not_built(now, json.loads(selected))
        if not unbuilt:
            built = manifest
        break
    if built is None:
        why = (
            f"it built only some of the models the features come from (not "
            f"{', '.join(u.split('.')[-1] for u in unbuilt[:3])}"
            f"{' ...' if len(unbuilt) > 3 else ''}: their tables may be older than its SQL)"
            if unbuilt
            else "its manifest is not kept (a plain dbt build, or a selection of nodes)"
        )
        log.warning(
            "not checked whether the models the features come from changed since the train "
            "split was built by dbt invocation %s (%s UTC): %s. `python -m python_ml build` "
            "builds the split again and keeps its manifest.",
            invocation,
            f"{started:%Y-%m-%d %H:%M}",
            why,
        )
        return None
    changed = modified_upstream(built, now, [now["target"]])
    if not changed:
        return None
    named = []
    for unique_id in changed:
        entry = (
            now["macros"].get(unique_id)
            or now["nodes"].get(unique_id)
            or now["sources"].get(unique_id)
            or {}
        )
        kind = unique_id.split(".")[0]
        where = entry.get("original_file_path") or "the project"
        named.append(f"{where} ({kind} {unique_id.split('.')[-1]})")
    named = list(dict.fromkeys(named))
    shown = ", ".join(named[:4]) + (f" and {len(named) - 4} more" if len(named) > 4 else "")
    return (
        f"The models that derive the features changed since the warehouse's train split was "
        f"built (at {started:%Y-%m-%d %H:%M} UTC): {shown}. The champion learnt the features "
        "as they were built then, and scoring would derive them with the edited SQL. Build and "
        "train with the change (`python -m python_ml run`), or undo it."
    )


def _relation(node: dict[str, Any]) -> str:
    return f'"{node["schema"]}"."{node["identifier"]}"'


# The columns tracks.csv writes as 0/1: a JSON true/false is read as 1/0 there (elsewhere it is
# the text true/false, which a number column rejects, naming it: danceability true is no 1.0).
FLAG_COLUMNS = ("explicit", "mode")


def _as_text(value: Any, column: str | None = None) -> str | None:
    """A JSON value as tracks.csv writes it: numbers as they are, booleans as 1/0 in a flag
    column (else as the text true/false), a list of names or ids as its Python literal
    (``['a', 'b']``)."""
    if type(value) is str:  # most values: the common case first
        return value if value.strip() else None  # an empty field is a missing one
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value != value:  # NaN: a missing value
        return None
    if isinstance(value, bool):
        if column in FLAG_COLUMNS:
            return "1" if value else "0"
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return repr([str(v) for v in value])
    return str(value)


def gives_artist_ids(value: Any) -> bool:
    """Whether an ``id_artists`` value names an artist: not missing, empty or an empty list."""
    return "".join((_as_text(value) or "").split()) not in ("", "[]")


def record_id(record: dict[str, Any]) -> str:
    """The id a record is scored under: its own as the dbt rules read it (trimmed: " a" and
    "a" are one track), or :func:`made_up_id` when it has none."""
    own = _as_text(record.get("id"))
    return own.strip() if own is not None else made_up_id(record)


def made_up_id(record: dict[str, Any]) -> str:
    """An id for a track that has none: 22 characters from its content (equal content, equal
    id), marked with a leading ``new``."""
    content = json.dumps([_as_text(record.get(c), c) for c in CONTENT_COLUMNS])
    return "new" + hashlib.sha256(content.encode()).hexdigest()[:19]


def _say_duplicates(rows: Any, made_up: set[str], where: Any) -> None:
    """A track rejected as a ``duplicate id`` names the track kept for its id by
    ``where(line)`` ("tracks[3]" for a batch of records; the dbt rules say "line 4", a line of
    a file): the id's first track, "the same id as tracks[3]". One whose id was made up (it had
    none) is the same track as that one: its detail says so, not the made-up id, which the
    user never gave. ``rows``: :class:`DerivedTracks` rows."""
    duplicate = rows["rejection_reason"] == "duplicate id"
    if not duplicate.any():
        return
    kept = rows[rows["rejection_reason"].isna()].groupby("id")["line"].min()

    def detail(track_id: str, said: Any) -> Any:
        first = where(int(kept[track_id])) if track_id in kept.index else None
        if track_id in made_up:
            return (
                f"the same values as {first or 'an earlier track'} "
                "(no id given: the id is made from the values)"
            )
        return f"{track_id} (the same id as {first})" if first else said

    rows.loc[duplicate, "rejection_detail"] = [
        detail(track_id, said)
        for track_id, said in zip(
            rows.loc[duplicate, "id"], rows.loc[duplicate, "rejection_detail"], strict=True
        )
    ]


def _json_text(rows: list[dict[str, Any]]) -> str:
    """``rows`` as one JSON text: control characters escaped (a SQL literal of it holds no NUL;
    ``from_json`` reads them back as they were). A value with a lone surrogate ("\\ud800",
    which no table can hold) raises UnicodeEncodeError, which the service answers with a 422
    naming the value."""
    import orjson  # 0.4-0.6 ms for 1,000 tracks, json.dumps 7-9 ms

    try:
        return orjson.dumps(rows).decode()
    except TypeError:  # orjson refuses a lone surrogate, and says so in a TypeError
        text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        text.encode("utf-8")  # the UnicodeEncodeError the service turns into its 422
        return text


@dataclasses.dataclass
class DerivedTracks:
    """What the dbt models make of a batch of tracks: one row per input row (``rows``: line,
    id, name, rejection reason and detail, in input order) and the features of the rows that
    pass (``features``: ``track_id`` and one column per feature)."""

    rows: pd.DataFrame
    features: pd.DataFrame
    inputs: pd.DataFrame | None = None  # a CSV's values as read, per line (derive_csv)
    warnings: list[str] = dataclasses.field(default_factory=list)  # what the log said of it


class FeaturePath:
    """The compiled models in an in-process DuckDB, ready for batches (thread-safe: batches of
    records run side by side, one per core; a CSV at a time)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.compiled = compiled_models(settings)
        self._lock = threading.Lock()  # the shared connection: a CSV, the drift
        self._query_lock = threading.Lock()
        self.con = duckdb.connect()
        database = self.compiled["database"]
        self.con.execute(f"attach ':memory:' as \"{database}\"")
        self.con.execute(f'use "{database}"')
        for schema in sorted({n["schema"] for n in self.compiled["nodes"]} | {"raw"}):
            self.con.execute(f'create schema if not exists "{schema}"')
        built_artists = self._load_artists()
        columns = ", ".join(f'"{c}" varchar' for c in TRACK_COLUMNS)
        self.con.execute(
            f"create or replace table raw.{TRACKS.dataset}__{TRACKS.table} "
            f"(file_line bigint, {columns}, _loaded_at timestamp)"
        )
        # The models upstream of the tracks (artists, seeds) are tables built now; the tracks'
        # own run for each batch as one statement, each model a CTE of it (one query plan,
        # not one per model).
        self.per_batch = []
        for node in self.compiled["nodes"]:
            if node["resource_type"] == "seed":
                self._load_seed(node)
            elif node["resource_type"] == "model" and not node["per_batch"]:
                self.con.execute(f"create or replace table {_relation(node)} as {node['sql']}")
                if built_artists is not None and node["name"] == ARTISTS_MODEL:
                    self.con.register("warehouse_artists", built_artists)
                    self.con.execute(
                        f"create or replace table {_relation(node)} as "
                        "select * from warehouse_artists"
                    )
                    self.con.unregister("warehouse_artists")
            elif node["resource_type"] == "model":
                self.per_batch.append(node)
        self._queries: dict[tuple[str, str], str] = {}
        self._prepared_names: dict[int, dict[str, str]] = {}  # per worker cursor: query -> name
        self._split = self._split_at_validated()
        self._validated_query: dict[str, str] = {}  # per day
        self._prepared_validated: dict[int, tuple[str, str]] = {}  # per worker: (day, name)
        # Batches of records (the service, the app) run side by side, one per core: each worker
        # is a cursor of the same in-memory database with a raw tracks table of its own.
        self._workers: queue.SimpleQueue[tuple[Any, str]] = queue.SimpleQueue()
        for worker in range(max(1, min(4, os.cpu_count() or 1))):
            table = f"{TRACKS.dataset}__{TRACKS.table}__worker{worker}"
            self.con.execute(
                f'create or replace table raw."{table}" as '
                f"select * from raw.{TRACKS.dataset}__{TRACKS.table} limit 0"
            )
            cursor = self.con.cursor()
            cursor.execute(f'use "{database}"')
            self._workers.put((cursor, table))

    @property
    def records_planned_once(self) -> bool:
        """Whether a batch of records runs the models up to int_tracks_validated from one JSON
        text (a statement DuckDB plans once per worker and day), not over a worker's table."""
        return self._split is not None

    def _renamed(self, source: str | None = None) -> dict[str, str]:
        """Each per-batch model's relation in the compiled SQL -> its CTE's name; the raw
        tracks table's -> ``source`` when given."""
        database = self.compiled["database"]
        names = {f'"{database}".{_relation(n)}': f'"batch__{n["name"]}"' for n in self.per_batch}
        if source is not None:
            names[f'"{database}"."raw"."{TRACKS.dataset}__{TRACKS.table}"'] = source
        return names

    @staticmethod
    def _ctes(nodes: list[dict[str, Any]], names: dict[str, str]) -> list[str]:
        ctes = []
        for node in nodes:
            sql = node["sql"]
            for relation, cte in names.items():
                sql = sql.replace(relation, cte)
            ctes.append(f'"batch__{node["name"]}" as (\n{sql}\n)')
        return ctes

    def _check_replaced(self, ctes: list[str], raw_replaced: bool) -> None:
        left = [_relation(n) for n in self.per_batch]
        if raw_replaced:  # a worker must never read the shared (empty) raw table
            left.append(f'"raw"."{TRACKS.dataset}__{TRACKS.table}"')
        for relation in left:
            if any(relation in c for c in ctes):  # a reference left unreplaced
                raise FeaturePathError(
                    f"the compiled SQL refers to {relation} in a form the scoring path "
                    "does not recognise; run `make clean` and score again"
                )

    @staticmethod
    def _final_select(features: list[str]) -> str:
        """Every row's rejection and the passing rows' features, from the validated and
        enriched models' CTEs."""
        selected = ", ".join(f"cast(e.{f} as double) as {f}" for f in features)
        return (
            "select v.source_row_number + 1 as line, v.track_id as id, v.track_name as name, "
            "v.rejection_reason, v.rejection_detail, e.track_id as feature_track_id, "
            f"{selected} "
            f'from "batch__{VALIDATED_MODEL}" as v left join "batch__{TARGET_MODEL}" as e '
            "on v.rejection_reason is null and e.track_id = v.track_id order by line"
        )

    def _batch_query(self, features: list[str], source: str | None = None) -> str:
        """One statement from the batch's raw rows (the raw tracks table, or ``source``: a
        worker's copy of it) to every row's rejection and the passing rows' features: the
        per-batch models' compiled SQL as CTEs, in build order."""
        key = (",".join(features), source or "")
        if key in self._queries:
            return self._queries[key]
        raw = None if source is None else f'"{self.compiled["database"]}"."raw"."{source}"'
        ctes = self._ctes(self.per_batch, self._renamed(raw))
        self._check_replaced(ctes, raw_replaced=source is not None)
        query = "with " + ",\n".join(ctes) + "\n" + self._final_select(features)
        self._queries[key] = query
        return query

    def _split_at_validated(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """The per-batch models up to ``int_tracks_validated`` and those after it, when the
        first read no table but the raw tracks and each other, and the others read no model
        of theirs but ``int_tracks_validated`` (nor the raw tracks); else None (a batch of
        records then runs as one statement over a worker's raw table, as a CSV does)."""
        names = [n["name"] for n in self.per_batch]
        if VALIDATED_MODEL not in names or names[-1] != TARGET_MODEL:
            return None
        cut = names.index(VALIDATED_MODEL) + 1
        head, tail = self.per_batch[:cut], self.per_batch[cut:]
        database = self.compiled["database"]
        elsewhere = [
            f'"{database}".{_relation(n)}' for n in self.compiled["nodes"] if not n["per_batch"]
        ]
        # After the split the raw tracks table is the shared one, empty: never to be read.
        earlier = [
            f'"{database}"."raw"."{TRACKS.dataset}__{TRACKS.table}"',
            *(f'"{database}".{_relation(n)}' for n in head[:-1]),
        ]
        if any(r in n["sql"] for n in head for r in elsewhere) or any(
            r in n["sql"] for n in tail for r in earlier
        ):
            return None
        return head, tail

    def _validated_sql(self, day: str) -> str:
        """The statement from a batch's rows (one JSON text: BATCH_ROWS_SQL) to its validated
        rows, with ``day`` as the current date."""
        if day not in self._validated_query:
            head, _ = self._split  # type: ignore[misc]
            ctes = self._ctes(head, self._renamed(BATCH_ROWS_SQL))
            self._check_replaced(ctes, raw_replaced=True)
            query = "with " + ",\n".join(ctes) + f'\nselect * from "batch__{VALIDATED_MODEL}"'
            self._validated_query = {day: CURRENT_DATE.sub(f"date '{day}'", query)}
        return self._validated_query[day]

    def _enriched_sql(self, features: list[str]) -> str:
        """The statement from a batch's validated rows (registered as VALIDATED_ROWS) to every
        row's rejection and the passing rows' features."""
        key = (",".join(features), VALIDATED_ROWS)
        if key not in self._queries:
            _, tail = self._split  # type: ignore[misc]
            ctes = [
                f'"batch__{VALIDATED_MODEL}" as (select * from {VALIDATED_ROWS})',
                *self._ctes(tail, self._renamed()),
            ]
            self._check_replaced(ctes, raw_replaced=False)
            self._queries[key] = "with " + ",\n".join(ctes) + "\n" + self._final_select(features)
        return self._queries[key]

    def _derived_records(self, cursor: Any, rows: str, features: list[str]) -> pd.DataFrame:
        """A batch's rows (a JSON text) through the split models on a worker's ``cursor``."""
        day = cursor.execute("select current_date").fetchall()[0][0].isoformat()
        with self._query_lock:
            validated = self._validated_sql(day)
            enriched = self._enriched_sql(features)
        prepared = self._prepared_validated.get(id(cursor))
        if prepared is None or prepared[0] != day:
            if prepared is not None:
                cursor.execute(f"deallocate {prepared[1]}")
            prepared = (day, f"batch_validated_{day.replace('-', '')}")
            cursor.execute(f"prepare {prepared[1]} as {validated}")
            self._prepared_validated[id(cursor)] = prepared
        literal = "'" + rows.replace("'", "''") + "'"
        rows_validated = cursor.sql(f"execute {prepared[1]}({literal})").to_arrow_table()
        cursor.register(VALIDATED_ROWS, rows_validated)
        try:
            return cursor.execute(enriched).df()
        finally:
            cursor.unregister(VALIDATED_ROWS)

    def _prepared(self, cursor: Any, query: str) -> str:
        """The name under which ``query`` is prepared on ``cursor`` (a worker's own connection,
        used by one batch at a time), preparing it the first time. Parsing the statement (about
        22,000 characters) took 5 of the 30 ms of a single track's query; DuckDB still binds it
        again on each ``EXECUTE``, so each execution reads the batch's rows as they are now."""
        names = self._prepared_names.setdefault(id(cursor), {})
        name = names.get(query)
        if name is None:
            name = f"batch_query_{len(names)}"
            cursor.execute(f"prepare {name} as {query}")
            names[query] = name
        return name

    def _load_artists(self) -> Any:
        """The artists the champion's features were built from: the warehouse's built
        ``int_artists_validated`` (returned, to stand in for the model's in-memory build),
        not its raw artists table, which a `load` alone (or a build that failed after it)
        makes newer than the train split: scoring then used follower counts the champion
        never learnt from. A warehouse without it (not built yet) gives its raw artists,
        through the same models; one without either, none: the artist features are missing
        and imputed, as in the warehouse."""
        from python_ml.warehouse import catalog, db

        columns = ", ".join(f'"{c}" varchar' for c in ARTISTS.columns)
        self.con.execute(
            f"create or replace table {ARTISTS.raw_table} "
            f"(file_line bigint, {columns}, _loaded_at timestamp)"
        )
        with db.connect(self.settings.warehouse) as warehouse:
            # The models as the champion's data was built, or no scoring (a read of the
            # warehouse the artists need anyway).
            edited = edited_since_build(self.settings, warehouse, self.compiled)
            if edited:
                raise FeaturePathError(edited)
            if db.has_table(warehouse, catalog.ARTISTS):
                return warehouse.cursor().sql(f"select * from {catalog.ARTISTS}").to_arrow_table()
            artists = (
                warehouse.cursor().sql(f"select * from {ARTISTS.raw_table}").to_arrow_table()
                if db.has_table(warehouse, ARTISTS.raw_table)
                else None
            )
        if artists is not None:
            self.con.register("warehouse_artists", artists)
            self.con.execute(
                f"create or replace table {ARTISTS.raw_table} as select * from warehouse_artists"
            )
            self.con.unregister("warehouse_artists")
            return None
        log.warning(
            "the warehouse %s has no table %s: the artist features of the scored tracks are "
            "missing (imputed). Run `python -m python_ml build` to load the raw files.",
            self.settings.warehouse,
            ARTISTS.raw_table,
        )
        return None

    def _load_seed(self, node: dict[str, Any]) -> None:
        types = {k: SEED_TYPES.get(v.lower(), v) for k, v in node["column_types"].items()}
        frame = pd.read_csv(node["path"], dtype=str, keep_default_na=False)
        self.con.register("seed_rows", frame)
        selected = ", ".join(
            f'cast(nullif("{c}", \'\') as {types.get(c, "varchar")}) as "{c}"'
            for c in frame.columns
        )
        self.con.execute(
            f"create or replace table {_relation(node)} as select {selected} from seed_rows"
        )
        self.con.unregister("seed_rows")

    def derive_records(
        self, records: Sequence[dict[str, Any]], features: list[str]
    ) -> DerivedTracks:
        """A batch of tracks as JSON-like records (tracks.csv's columns; popularity, id and
        id_artists optional: a track with no id gets :func:`made_up_id`)."""
        import pyarrow as pa

        # A text value as it is (nearly all of them: no call per value), any other by _as_text.
        texts = {
            c: [
                v if type(v) is str and v.strip() else _as_text(v, c)
                for v in [record.get(c) for record in records]
            ]
            for c in TRACK_COLUMNS
        }
        ids = texts["id"]
        made_up = set()
        for i, value in enumerate(ids):
            if not (value or "").strip():
                ids[i] = made_up_id(records[i])
                made_up.add(ids[i])
        # No known artist: the artist features are imputed.
        texts["id_artists"] = ["[]" if v is None else v for v in texts["id_artists"]]
        cursor, table = self._workers.get()  # waits while every worker is busy
        try:
            if self._split is not None:
                loaded_at = datetime.now().isoformat(sep=" ")
                rows = _json_text(
                    [
                        {
                            "file_line": line,
                            **{c: texts[c][line - 1] for c in TRACK_COLUMNS},
                            "_loaded_at": loaded_at,
                        }
                        for line in range(1, len(records) + 1)
                    ]
                )
                result = self._derived_records(cursor, rows, features)
                derived = self._derived(features, load_rejects=False, result=result)
            else:
                frame = pa.table(
                    {
                        "file_line": pa.array(range(1, len(records) + 1), pa.int64()),
                        **{c: pa.array(texts[c], pa.string()) for c in TRACK_COLUMNS},
                    }
                )
                cursor.execute(f'delete from raw."{table}"')
                cursor.register("batch_rows", frame)
                cursor.execute(f'insert into raw."{table}" select *, now() from batch_rows')
                cursor.unregister("batch_rows")
                derived = self._derived(features, load_rejects=False, con=cursor, source=table)
            _say_duplicates(derived.rows, made_up, lambda line: f"tracks[{line - 1}]")
            return derived
        finally:
            self._workers.put((cursor, table))

    def derive_csv(
        self,
        path: Path,
        features: list[str],
        header: list[str] | None = None,
        shown_as: Path | None = None,
    ) -> DerivedTracks:
        """A tracks CSV, staged as the raw tracks file of a folder of its own, through the
        loader: rows that do not parse as CSV are listed as ``unparseable row`` with their
        line. ``header``: the file's columns, when it may lack the optional ones (added after
        loading: no popularity, no artist ids, an id made from each row's content, as
        :func:`made_up_id` makes it). ``shown_as``: the file the user gave, which the log
        names instead of the staged copy."""
        from python_ml.warehouse.load import load_into

        raw = TRACKS
        if header is not None:
            raw = dataclasses.replace(TRACKS, columns=[c for c in TRACK_COLUMNS if c in header])
        scratch_settings = dataclasses.replace(self.settings, raw_dir=path.parent.parent)
        with self._lock:
            (loaded,) = load_into(
                self.con,
                scratch_settings,
                [raw],
                enforce_threshold=False,
                log_results=False,
                shown_as=shown_as,
            )
            made_up = self._add_optional_columns()
            unparseable = None
            if shown_as is None:
                loaded.log()
            elif loaded.rows_rejected:
                unparseable = (
                    f"{shown_as}: {loaded.rows_rejected} of {loaded.rows_read:,} rows do not "
                    "parse as CSV; they are in the output as 'unparseable row' with their "
                    f"line, e.g. {'; '.join(loaded.examples)}"
                )
                log.warning("%s", unparseable)
            derived = self._derived(features, load_rejects=True)
            if unparseable:
                derived.warnings.append(unparseable)
            if made_up:
                _say_duplicates(derived.rows, made_up, lambda line: f"line {line}")
            derived.inputs = self.con.execute(
                f"select file_line as line, * exclude (file_line, _loaded_at) "
                f"from raw.{TRACKS.dataset}__{TRACKS.table} order by file_line"
            ).df()
            return derived

    def _add_optional_columns(self) -> set[str]:
        """The optional columns a loaded CSV lacks: popularity empty, no artist ids (``[]``:
        the artist features are imputed), and an id made from the content of each row without
        one (no id column, or an empty id cell: as the service makes them). The ids made up."""
        import pyarrow as pa

        table = TRACKS.raw_table
        present = [d[0] for d in self.con.execute(f"select * from {table} limit 0").description]
        if "id" not in present:
            self.con.execute(f"alter table {table} add column id varchar")
        content = [c for c in CONTENT_COLUMNS if c in present]
        selected = ", ".join(f'"{c}"' for c in content)
        rows = self.con.execute(
            f"select rowid, {selected} from {table} where nullif(trim(id), '') is null"
        ).fetchall()
        made = [made_up_id(dict(zip(content, r[1:], strict=True))) for r in rows]
        if rows:
            ids = pa.table(
                {
                    "row": pa.array([r[0] for r in rows], pa.int64()),
                    "id": pa.array(made, pa.string()),
                }
            )
            self.con.register("made_ids", ids)
            self.con.execute(
                f"update {table} as t set id = m.id from made_ids as m where t.rowid = m.row"
            )
            self.con.unregister("made_ids")
        if "popularity" not in present:
            self.con.execute(f"alter table {table} add column popularity varchar")
        if "id_artists" not in present:
            self.con.execute(f"alter table {table} add column id_artists varchar default '[]'")
        return set(made)

    def _derived(
        self,
        features: list[str],
        load_rejects: bool,
        con: Any = None,
        source: str | None = None,
        result: pd.DataFrame | None = None,
    ) -> DerivedTracks:
        """The rows and features of a batch: ``result`` (from :meth:`_derived_records`), or the
        one statement over the raw tracks table (``source``: a worker's, on its cursor ``con``)."""
        from python_ml.warehouse import catalog, db

        for feature in features:
            db.check_identifier(feature)
        if result is None:
            with self._query_lock:  # the query text is built once per feature list and source
                query = self._batch_query(features, source)
            if con is None:
                result = self.con.execute(query).df()
            else:  # a worker's cursor: the statement is parsed once
                result = con.execute(f"execute {self._prepared(con, query)}").df()
        rows = result[["line", "id", "name", "rejection_reason", "rejection_detail"]]
        if load_rejects:  # lines the loader could not parse as CSV
            quarantined = self.con.execute(
                "select file_line as line, null as id, null as name, "
                "'unparseable row' as rejection_reason, "
                # The line's text (its start), so the row can be found: it has no columns.
                "lower(error_type) || ': ' || error_message || coalesce(' Line: ' || "
                "case when length(raw_text) > 120 then left(raw_text, 120) || '...' "
                "else raw_text end, '') as rejection_detail "
                f"from {catalog.LOAD_REJECTS} where table_name = 'tracks'"
            ).df()
            if not quarantined.empty:
                rows = pd.concat([rows, quarantined.astype(rows.dtypes.to_dict())])
                rows = rows.sort_values("line", kind="stable")
        passing = result[result["feature_track_id"].notna()]
        derived = (
            passing[["feature_track_id", *features]]
            .rename(columns={"feature_track_id": "track_id"})
            .sort_values("track_id", kind="stable")
        )
        return DerivedTracks(rows.reset_index(drop=True), derived.reset_index(drop=True))

    def drift(self, features: pd.DataFrame, called: Any, reference: pd.DataFrame) -> pd.DataFrame:
        """:func:`batch_drift` on this path's connection."""
        with self._lock:
            return batch_drift(self.con, self.compiled["drift_sql"], features, called, reference)


def batch_drift(
    con: Any, drift_sql: str, features: pd.DataFrame, called: Any, reference: pd.DataFrame
) -> pd.DataFrame:
    """A batch's drift against the training split, by the project's own SQL (the compiled
    analysis batch_feature_drift): per feature (and ``predicted_class``, the called-class mix)
    the tracks, the population stability index and ``drift`` / ``stable`` / ``too few
    tracks``. ``features`` holds the drift features, ``called`` the class index called per
    row, ``reference`` the warehouse's fct_feature_drift_reference."""
    batch = features.assign(batch_id="batch", class_index=np.asarray(called, dtype=np.int64))
    con.register("batch_features", batch)
    con.register("drift_reference", reference)
    try:
        return con.execute(drift_sql).df()
    finally:
        con.unregister("batch_features")
        con.unregister("drift_reference")
