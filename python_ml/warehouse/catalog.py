"""The one place that knows the warehouse's tables: what the loader writes, what dbt builds
and python_ml reads, the prediction marts, and the `ml` source python_ml writes (their columns
read from the dbt YAML that declares them).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from python_ml.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Tables the loader (python_ml/warehouse/load.py) writes: the raw files as text, rejected
# lines, the log.
LOAD_REJECTS = "raw.load_rejects"
LOAD_LOG = "raw.load_log"
# The columns a load log from an older loader lacks, with what each records: such a log loads
# every file once more (python_ml/warehouse/load.py), and the staging models read them.
LOAD_LOG_NEWER_COLUMNS = {
    "file_sha256": "SHA-256",
    "data_origin": "origin",
    "loader_version": "loader version",
}


def in_words(words: list[str]) -> str:
    """``["a", "b", "c"]`` as ``a, b and c``."""
    return f"{', '.join(words[:-1])} and {words[-1]}" if len(words) > 1 else "".join(words)


def load_log_lacks(con: Any) -> list[str]:
    """What the warehouse's load log does not record because an older loader wrote it (the
    words of LOAD_LOG_NEWER_COLUMNS; empty when it records all, or when there is no log)."""
    present = {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = current_database() and table_schema = 'raw' "
            "and table_name = 'load_log'"
        ).fetchall()
    }
    if not present:
        return []
    return [word for column, word in LOAD_LOG_NEWER_COLUMNS.items() if column not in present]


# Tables dbt builds (models/marts/ml_inputs, seeds) that python_ml reads.
TRAIN_TRACKS = "marts.fct_train_tracks"
PREDICT_TRACKS = "marts.fct_predict_tracks"
PREDICT_TRACK_CLASSES = "marts.fct_predict_track_classes"
SONGS_2023 = "marts.fct_songs_2023"
POPULARITY_CLASSES = "reference.popularity_classes"
# The predict command looks up artist reach for new tracks here (first-listed artist).
ARTISTS = "intermediate.int_artists_validated"

ML_INPUTS_YML = PROJECT_ROOT / "models/marts/ml_inputs/_ml_inputs__models.yml"


@cache
def _yaml(path: Path) -> dict:
    """A YAML file of the project, parsed once per process (libyaml's parser when PyYAML has it:
    these files are read at import by every command that touches the warehouse)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506


def _contract_columns(model: str, data_types: frozenset[str] | None = None) -> list[str]:
    """A model's contract columns (optionally only those of the given data types)."""
    models = _yaml(ML_INPUTS_YML)["models"]
    columns = next(m for m in models if m["name"] == model)["columns"]
    return [c["name"] for c in columns if data_types is None or c["data_type"] in data_types]


# Where the rows of an ML input came from (macro raw_data_origin): a column of each, never a
# feature.
DATA_ORIGIN_COLUMN = "data_origin"
# The feature columns of TRAIN_TRACKS and PREDICT_TRACKS, read from PREDICT_TRACKS' contract
# (every column but the key and the origin): the dbt macro track_feature_columns selects them
# on both sides.
TRACK_FEATURE_COLUMNS = frozenset(_contract_columns("fct_predict_tracks")) - {
    "track_id",
    DATA_ORIGIN_COLUMN,
}
# The numeric columns of SONGS_2023 the songs study may use as features: every number of its
# contract but the targets (streams, log_streams).
SONG_NUMBER_COLUMNS = frozenset(
    _contract_columns("fct_songs_2023", frozenset({"integer", "bigint", "double"}))
) - {"streams", "log_streams"}

# The training split's feature distribution that drift is measured against (built with the
# ML inputs), and the drift of each scoring run (a prediction mart).
FCT_FEATURE_DRIFT_REFERENCE = "marts.fct_feature_drift_reference"
RPT_FEATURE_DRIFT = "marts.rpt_feature_drift"
RPT_FEATURE_IMPORTANCE = "marts.rpt_feature_importance"

# The prediction marts dbt builds over the `ml` source: the charts and the app read them.
FCT_TRACK_PREDICTIONS = "marts.fct_track_predictions"
FCT_TRACK_PREDICTION_EXPLANATIONS = "marts.fct_track_prediction_explanations"
FCT_SONG_STREAM_PREDICTIONS = "marts.fct_song_stream_predictions"
RPT_MODEL_LEADERBOARD = "marts.rpt_model_leaderboard"
RPT_CLASS_METRICS = "marts.rpt_class_metrics"
RPT_CONFUSION_MATRIX = "marts.rpt_confusion_matrix"
RPT_CALIBRATION = "marts.rpt_calibration"
# Its bins with fewer tracks are left out as noise, wherever they are drawn or read: the
# report's reliability chart, the model card's largest gaps and the app's calibration curve.
CALIBRATION_MIN_BIN_TRACKS = 20
RPT_CLASS_DISTRIBUTION = "marts.rpt_class_distribution"
# What became of every raw row, per source (built with the ML inputs): `build` prints it.
RPT_SOURCE_ROW_COUNTS = "marts.rpt_source_row_counts"
# The raw sources, as rpt_source_row_counts names them.
RAW_SOURCE_TABLES = ("spotify_600k.tracks", "spotify_600k.artists", "spotify_2023.songs")
# Where dbt keeps the rows a warn-severity singular test returned (tests/singular/warn_*.sql:
# store_failures, schema='audit'), each with a `hint`; the build logs them.
AUDIT_SCHEMA = "audit"
# Which dbt command built the train split (its invocation id and start: the split's post-hook,
# macro record_train_build): scoring compares the feature models of that build with its own.
TRAIN_BUILD = f"{AUDIT_SCHEMA}.train_tracks_build"
# An exploration report (built with the ML inputs) the report page draws.
RPT_FEATURE_CORRELATIONS = "marts.rpt_feature_correlations"

# The champion's predictions and figures, which the report and the app both show.
CHAMPION_MARTS = (
    "marts.fct_track_predictions",
    "marts.fct_track_prediction_explanations",
    "marts.fct_song_stream_predictions",
    "marts.rpt_model_leaderboard",
    "marts.rpt_class_metrics",
    "marts.rpt_confusion_matrix",
    "marts.rpt_calibration",
    "marts.rpt_class_distribution",
    "marts.rpt_feature_importance",
    "marts.rpt_feature_drift",
)
# Everything the report (`python -m python_ml charts`: the charts, the page and the model
# card) reads: its Dagster asset's upstream, and the dbt exposure popularity_charts' depends_on
# (models/exposures.yml; a test keeps the two the same).
REPORT_READS = (
    "reference.popularity_classes",
    "marts.fct_train_tracks",
    "marts.fct_predict_tracks",  # the split's share as built (SPLIT_COUNTS_SQL)
    "marts.rpt_source_row_counts",
    "marts.rpt_feature_correlations",
    "ml.model_runs",
    *CHAMPION_MARTS,
)

# What scoring new tracks reads (predict, the app's score page, the service): the artists the
# features join, the train split the champion must match, its run, the drift reference, the
# load log its data origin comes from, and the classes (the service's page names them). The dbt
# exposure scoring_service depends on exactly these.
SCORING_READS = (
    "reference.popularity_classes",
    "intermediate.int_artists_validated",
    "marts.fct_train_tracks",
    "marts.fct_feature_drift_reference",
    "ml.model_runs",
    "raw.load_log",
)

# What the Streamlit app reads (app/, python_ml/reports/app_data.py), its score page's scoring
# included. The dbt exposure popularity_app depends on exactly these.
APP_READS = (
    "marts.rpt_source_row_counts",  # how many rows of the 2023 songs file the study kept
    "marts.fct_predict_tracks",  # the split's share as built (SPLIT_COUNTS_SQL)
    *CHAMPION_MARTS,
    *SCORING_READS,
)

# Tables python_ml writes; dbt declares them as the `ml` source, with their columns, and
# creates them (models/staging/ml/_ml__sources.yml, macros/create_ml_source_tables.sql).
MODEL_RUNS = "ml.model_runs"
TRACK_PREDICTIONS = "ml.track_predictions"
TRACK_EXPLANATIONS = "ml.track_explanations"
FEATURE_IMPORTANCE = "ml.feature_importance"
SONG_PREDICTIONS = "ml.song_predictions"
ML_SOURCES_YML = PROJECT_ROOT / "models/staging/ml/_ml__sources.yml"


@cache
def ml_columns(table: str) -> tuple[str, ...]:
    """The columns of an `ml` table (e.g. ``ml.model_runs``), read from their one definition,
    the dbt source YAML."""
    return tuple(ml_column_types(table))


SPOTIFY_600K_SOURCES_YML = PROJECT_ROOT / "models/staging/spotify_600k/_spotify_600k__sources.yml"


def raw_column_descriptions(table: str) -> dict[str, str]:
    """The columns of a raw Kaggle 600k file (``tracks``, ``artists``) as the dbt source
    describes them (their one description, also in dbt docs)."""
    sources = _yaml(SPOTIFY_600K_SOURCES_YML)["sources"]
    columns = next(t for s in sources for t in s["tables"] if t["name"] == table)["columns"]
    return {c["name"]: " ".join(str(c.get("description", "")).split()) for c in columns}


def ml_column_types(table: str) -> dict[str, str]:
    """The columns of an `ml` table with their declared (DuckDB) data types, in order."""
    schema, name = table.split(".")
    sources = _yaml(ML_SOURCES_YML)["sources"]
    for source in sources:
        if source["name"] == schema:
            for entry in source["tables"]:
                if entry["name"] == name:
                    return {c["name"]: c["data_type"] for c in entry["columns"]}
    raise KeyError(f"{table} is not declared in {ML_SOURCES_YML}")


FEATURE_RANGES_MACRO = PROJECT_ROOT / "macros" / "track_feature_ranges.sql"


@cache
def track_feature_ranges() -> dict[str, str]:
    """Each audio feature's allowed values as SQL (``'between 0 and 1'``), read from their one
    definition, the dbt macro ``track_feature_ranges`` that int_tracks_validated applies."""
    text = FEATURE_RANGES_MACRO.read_text(encoding="utf-8")
    body = text[text.index("macro track_feature_ranges()") : text.index("endmacro")]
    return dict(re.findall(r"\(\s*'(\w+)'\s*,\s*'([^']+)'\s*\)", body))


def track_feature_ranges_in_words() -> dict[str, str]:
    """Each audio feature's allowed values in words, as a rejection's detail says them
    (``'0 to 1'``, ``'one of 0, 1'``): the ranges of :func:`track_feature_ranges` through the
    macro ``allowed_in_words`` of the same file (rendered by Jinja, as dbt renders it)."""
    import jinja2

    words = jinja2.Environment().from_string(FEATURE_RANGES_MACRO.read_text(encoding="utf-8"))
    in_words = words.module.allowed_in_words
    ranges = track_feature_ranges()
    return {name: str(in_words(allowed)).strip() for name, allowed in ranges.items()}


def dbt_var(name: str, project_root: Path = PROJECT_ROOT) -> object:
    """A var of dbt_project.yml (its one definition), for the Python that must agree with it."""
    import yaml

    project = yaml.safe_load((project_root / "dbt_project.yml").read_text(encoding="utf-8"))
    variables = project.get("vars") or {}
    if name not in variables:
        raise KeyError(f"dbt_project.yml declares no var {name!r}")
    return variables[name]


class DbtVarsError(UserError, ValueError):
    """dbt ``--vars`` that are not a mapping of the project's vars: the message says which."""


def parse_dbt_vars(text: str, project_root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """dbt's ``--vars`` as python_ml's commands take them (`load`, `build`, `run`, and the
    ``dbt_vars`` of a run launched from Dagster's UI): a YAML mapping of vars to values, each a
    var dbt_project.yml declares (dbt itself takes any name, so a misspelt one was ignored
    without a word, and the build ran with the default)."""
    import yaml

    try:
        given = yaml.safe_load(text)
    except yaml.YAMLError:
        given = None
    if not isinstance(given, dict):
        raise DbtVarsError(
            f"dbt vars are a YAML mapping of vars to values, e.g. '{{max_rejected_share: 0.05}}', "
            f"not {text!r}"
        )
    project = yaml.safe_load((project_root / "dbt_project.yml").read_text(encoding="utf-8"))
    declared = list(project.get("vars") or {})
    unknown = [name for name in given if name not in declared]
    if unknown:
        import difflib

        named = []
        for name in unknown:
            var, colon, value = str(name).partition(":")
            if colon and var.strip() in declared and given[name] is None:
                # `{predict_share:0.2}`: YAML reads one key; a value needs ": " before it.
                named.append(f"{name!r} (YAML needs a space after the colon: '{var}: {value}')")
                continue
            close = difflib.get_close_matches(str(name), declared, 1, 0.7)
            named.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise DbtVarsError(
            f"dbt_project.yml declares no var {', '.join(named)}: its vars are "
            f"{', '.join(declared)}"
        )
    return given


# The split's two sides, counted: what predict_share_in_words says of a built split.
SPLIT_COUNTS_SQL = (
    f"select (select count(*) from {TRAIN_TRACKS}) as train_tracks, "
    f"(select count(*) from {PREDICT_TRACKS}) as predict_tracks"
)


def predict_share_in_words(counts: tuple[int, int] | None = None) -> str:
    """The predict split's share of the tracks as a percentage (``"10%"``): of the split as
    built, from its tables' row ``counts`` (train, predict) when given (a `build --vars
    '{predict_share: 0.2}'`, or a dbt_project.yml edited since, said 10% beside a 20% split),
    else the dbt var predict_share that int_tracks_split holds out by."""
    if counts and sum(counts):
        return f"{100 * counts[1] / sum(counts):.0f}%"
    return f"{float(dbt_var('predict_share')) * 100:g}%"


def built_predict_share(con: Any) -> str:
    """:func:`predict_share_in_words` of the split in the open warehouse ``con``."""
    try:
        counts = con.execute(SPLIT_COUNTS_SQL).fetchone()
    except Exception:  # duckdb.CatalogException: no split built yet
        counts = None
    return predict_share_in_words(counts)
