"""What the analysts' app (``app/``) reads: the prediction marts and the `ml` source, read-only.

Each query opens the warehouse read-only and closes it again (:func:`db.connect`), so
nothing holds the file between queries and ``make run`` can write. While a python_ml command
holds the warehouse (its :class:`db.RunLock`), the app opens nothing and says so.
Results are cached by :func:`stamp` (the warehouse file's modification time and size) and the
champion's run id, so a new run shows as soon as it has finished.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from python_ml.settings import Settings
from python_ml.warehouse import catalog, db


class WarehouseBusy(db.WarehouseError):
    """A python_ml command is writing the warehouse now."""


class WarehouseMissing(db.WarehouseError):
    """No warehouse, or no predictions in it yet."""


def stamp(settings: Settings) -> tuple[int, int]:
    """The warehouse's modification time and size: the cache key of every query. Raises
    :class:`WarehouseBusy` or :class:`WarehouseMissing` with what to do."""
    path = settings.warehouse
    holder = db.RunLock.holder(path)
    if holder is not None:
        raise WarehouseBusy(
            f"The warehouse {path} is being written by another command ({holder}). "
            "This page shows the new results when it has finished: reload it in a minute."
        )
    if not path.exists():
        raise WarehouseMissing(
            f"There is no warehouse at {path} yet. Build it and its predictions with "
            "`make run` (or point MUSIC_WAREHOUSE at yours), then reload this page."
        )
    info = path.stat()
    return info.st_mtime_ns, info.st_size


def query(settings: Settings, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    """One read-only query; the warehouse is closed again before this returns."""
    stamp(settings)
    try:
        with db.connect(settings.warehouse, read_only=True) as con:
            return con.execute(sql, params or []).df()
    except db.WarehouseError as exc:
        if "locked" in str(exc):
            raise WarehouseBusy(f"{exc} Reload this page in a minute.") from None
        raise
    except Exception as exc:  # duckdb.CatalogException: a table not built yet
        if "does not exist" in str(exc):
            # The table's name, not DuckDB's "Catalog Error: Table with name ... does not exist!"
            named = re.search(r"with name (\S+) does not exist", str(exc))
            table = f"{named.group(1)} is not built" if named else "a table is not built"
            raise WarehouseMissing(
                f"The warehouse {settings.warehouse} has no prediction marts yet ({table}): "
                "the main job builds them once a champion is trained and has scored. Run `make "
                "run` (if it stops before scoring, its last lines say why, and how to build "
                "the 2023 songs' marts, which need no tracks champion), then reload this page."
            ) from None
        raise


# --------------------------------------------------------------------------------------------
# overview


@dataclass
class Overview:
    champion: dict[str, Any]
    leaderboard: pd.DataFrame
    class_metrics: pd.DataFrame
    confusion: pd.DataFrame
    calibration: pd.DataFrame
    distribution: pd.DataFrame


def champion_run(settings: Settings) -> dict[str, Any]:
    """The scoring champion, as the prediction marts record it."""
    frame = query(
        settings,
        f"select p.run_id, p.model_label, p.data_origin, max(p.scored_at) as scored_at, "
        f"count(*) as scored_tracks, any_value(l.finished_at) as trained_at, "
        f"any_value(r.reused_at) as reused_at, any_value(l.model_type) as model_type "
        f"from {catalog.FCT_TRACK_PREDICTIONS} as p "
        f"left join {catalog.RPT_MODEL_LEADERBOARD} as l on l.run_id = p.run_id "
        # When a training last reused it: the ml source's, as the marts' build would be older.
        f"left join {catalog.MODEL_RUNS} as r on r.run_id = p.run_id "
        "group by all",
    )
    if frame.empty:
        raise WarehouseMissing(
            f"{catalog.FCT_TRACK_PREDICTIONS} is empty: no champion has scored yet. Run "
            "`make run` (or `python -m python_ml score` and `python -m python_ml marts`)."
        )
    return frame.iloc[0].to_dict()


def champion_problem(settings: Settings) -> str | None:
    """Why the prediction marts' figures are not this data's champion's, or None: the champion
    was trained on other data than the warehouse holds now (a rebuild from other raw files,
    another split seed), or the marts hold another run's predictions than the champion's (a
    `train` not yet scored). The report refuses to draw then, and so do the app's pages of
    the champion's figures (they showed the figures and predictions of the data before)."""
    from python_ml.tracking.champion_files import ChampionUnavailable, warehouse_champion

    shown = champion_run(settings)["run_id"]
    try:
        with_data = warehouse_champion(settings)
    except ChampionUnavailable as exc:
        return (
            f"{exc} The prediction marts still hold the figures of run {shown}, made on the "
            "data before: they are not shown. Then run `python -m python_ml score` and "
            "`python -m python_ml marts` (or `make run`)."
        )
    except db.WarehouseError:  # the tables to tell are missing: the pages say what they lack
        return None
    if with_data["run_id"] != shown:
        return (
            f"The prediction marts hold the predictions of run {shown}, not of the champion "
            f"{with_data['label']} (run {with_data['run_id']}): run `python -m python_ml "
            "score`, then `python -m python_ml marts` (or `make run`)."
        )
    return None


def overview(settings: Settings) -> Overview:
    champion = champion_run(settings)
    return Overview(
        champion=champion,
        leaderboard=query(
            settings,
            f"select * from {catalog.RPT_MODEL_LEADERBOARD} where is_current "
            "order by leaderboard_rank",
        ),
        class_metrics=query(
            settings, f"select * from {catalog.RPT_CLASS_METRICS} order by class_index"
        ),
        confusion=query(
            settings,
            f"select * from {catalog.RPT_CONFUSION_MATRIX} order by true_index, predicted_index",
        ),
        calibration=query(
            settings,
            f"select * from {catalog.RPT_CALIBRATION} order by class_index, probability_bin",
        ),
        distribution=query(
            settings, f"select * from {catalog.RPT_CLASS_DISTRIBUTION} order by class_index"
        ),
    )


# --------------------------------------------------------------------------------------------
# predictions


def classes(settings: Settings) -> pd.DataFrame:
    """The classes in order, from the seed (their one home)."""
    return query(settings, f"select * from {catalog.POPULARITY_CLASSES} order by class_index")


def year_range(settings: Settings) -> tuple[int, int]:
    row = query(
        settings,
        f"select min(release_year) as lo, max(release_year) as hi "
        f"from {catalog.FCT_TRACK_PREDICTIONS}",
    ).iloc[0]
    return int(row["lo"]), int(row["hi"])


# In the order the predictions page shows them.
PREDICTION_COLUMNS = [
    "track_name",
    "artist_names",
    "release_year",
    "predicted_class",
    "runner_up_class",
    "hit_probability",
    "true_class",
    "true_popularity",
    "is_correct",
    "reasons",
    "track_id",
    "run_id",
    "data_origin",  # a download says which data it is about, as every mart does
]


def _where(
    artist: str, years: tuple[int, int], predicted: list[str], true: list[str], min_hit: float
) -> tuple[str, list[Any]]:
    clauses, params = ["release_year between ? and ?"], [int(years[0]), int(years[1])]
    if artist.strip():
        clauses.append("array_to_string(artist_names, ', ') ilike ?")
        params.append(f"%{artist.strip()}%")
    if predicted:
        clauses.append(f"predicted_class in ({', '.join('?' for _ in predicted)})")
        params += list(predicted)
    if true:
        clauses.append(f"true_class in ({', '.join('?' for _ in true)})")
        params += list(true)
    if min_hit > 0:
        clauses.append("hit_probability >= ?")
        params.append(float(min_hit))
    return " and ".join(clauses), params


# The predictions page shows at most this many of the tracks that match, the likeliest hits
# first (its table and its track picker); its download holds every track that matches.
PREDICTIONS_SHOWN = 5_000


def predictions(
    settings: Settings,
    artist: str = "",
    years: tuple[int, int] = (1900, 2100),
    predicted: list[str] | None = None,
    true: list[str] | None = None,
    min_hit: float = 0.0,
    limit: int | None = PREDICTIONS_SHOWN,
) -> tuple[pd.DataFrame, int]:
    """The scored tracks that match the filters (at most ``limit``, most likely hits first;
    all of them when it is None) and how many match in all."""
    where, params = _where(artist, years, predicted or [], true or [], min_hit)
    total = int(
        query(
            settings,
            f"select count(*) as n from {catalog.FCT_TRACK_PREDICTIONS} where {where}",
            params,
        )["n"].iloc[0]
    )
    frame = query(
        settings,
        f"select {', '.join(PREDICTION_COLUMNS)} from {catalog.FCT_TRACK_PREDICTIONS} "
        f"where {where} order by hit_probability desc, track_id"
        + ("" if limit is None else f" limit {int(limit)}"),
        params,
    )
    return frame, total


# A rate of the tracks that match: called the hit class by the decision rule / expected in it
# by the calibrated probabilities / truly in it (NULL: truth unknown).
_RATES = (
    "avg(case when is_predicted_hit then 1.0 else 0.0 end) as predicted_hit_rate, "
    "avg(hit_probability) as expected_hit_rate, "
    "avg(case when true_class is null then null when true_class = ? then 1.0 else 0.0 end) "
    "as actual_hit_rate, count(*) as scored_tracks"
)


def _hit_class(settings: Settings) -> str:
    return str(classes(settings)["class_name"].iloc[-1])


def hit_rate_by_year(settings: Settings, *filters: Any) -> pd.DataFrame:
    """Predicted and actual hit rate per release year of the tracks that match the filters
    (those of :func:`predictions`)."""
    where, params = _where(*filters)
    return query(
        settings,
        f"select release_year, {_RATES} from {catalog.FCT_TRACK_PREDICTIONS} "
        f"where {where} group by release_year order by release_year",
        [_hit_class(settings), *params],
    )


def hit_rate_by_artist(
    settings: Settings, *filters: Any, top: int = 20, min_tracks: int | None = None
) -> pd.DataFrame:
    """Predicted and actual hit rate of the first-listed artists of the tracks that match the
    filters, for artists with at least ``min_tracks`` of them (dbt's var min_artist_tracks,
    as in rpt_hit_rate_by_artist) and at least one called a hit, highest predicted rate
    first."""
    where, params = _where(*filters)
    if min_tracks is None:
        min_tracks = int(catalog.dbt_var("min_artist_tracks"))
    return query(
        settings,
        f"select any_value(primary_artist_name) as primary_artist_name, {_RATES} "
        f"from {catalog.FCT_TRACK_PREDICTIONS} where {where} and primary_artist_id is not null "
        "group by primary_artist_id having count(*) >= ? and bool_or(is_predicted_hit) "
        f"order by predicted_hit_rate desc, scored_tracks desc limit {int(top)}",
        [_hit_class(settings), *params, int(min_tracks)],
    )


def track_explanation(settings: Settings, track_id: str) -> pd.DataFrame:
    """Why one scored track got its class: every feature's value and contribution."""
    return query(
        settings,
        f"select feature, feature_value, contribution, contribution_rank, explained_score, "
        f"explanation_baseline from {catalog.FCT_TRACK_PREDICTION_EXPLANATIONS} "
        "where track_id = ? order by contribution_rank",
        [track_id],
    )


def feature_importance(settings: Settings) -> pd.DataFrame:
    """The scoring run's permutation importance, most important first."""
    return query(
        settings,
        f"select feature, importance_mean, importance_std from {catalog.RPT_FEATURE_IMPORTANCE} "
        f"where run_id = (select any_value(run_id) from {catalog.FCT_TRACK_PREDICTIONS}) "
        "order by importance_rank, feature",
    )


def feature_drift(settings: Settings) -> pd.DataFrame:
    """The current scoring run's drift per feature (of the predict split), largest first."""
    return query(
        settings,
        f"select feature, psi, psi_threshold, drift_status, batch_tracks, scored_at "
        f"from {catalog.RPT_FEATURE_DRIFT} where is_current order by psi desc",
    )


# --------------------------------------------------------------------------------------------
# score a track: the same path as `python -m python_ml predict`


# The tracks.csv columns a person fills in for one track (the rest are left empty).
# The score page's form, its defaults a valid track (a plain artist name is made a list).
TRACK_FIELDS = {
    "name": "A new song",
    "artists": "Some Artist",
    "release_date": "2021-06-01",
    "duration_ms": 210_000,
    "explicit": 0,
    "danceability": 0.6,
    "energy": 0.6,
    "key": 5,
    "loudness": -7.0,
    "mode": 1,
    "speechiness": 0.05,
    "acousticness": 0.2,
    "instrumentalness": 0.0,
    "liveness": 0.15,
    "valence": 0.5,
    "tempo": 120.0,
    "time_signature": 4,
}


def feature_ranges() -> dict[str, str]:
    """The allowed values of each audio feature in words (``0 to 1``, ``one of 0, 1``), as a
    rejection says them, from the dbt macros (their one definition)."""
    return catalog.track_feature_ranges_in_words()


_SCORERS: dict[tuple[str, ...], Any] = {}


def scorer(settings: Settings) -> Any:
    """One :class:`~python_ml.tracks.scorer.Scorer` per warehouse for the app's lifetime (the
    models compiled and the champion loaded once; a new champion is picked up by itself)."""
    from python_ml.tracks.scorer import Scorer

    key = tuple(
        str(p)
        for p in (settings.project_root, settings.warehouse, settings.raw_dir, settings.mlflow_dir)
    )
    if key not in _SCORERS:
        _SCORERS[key] = Scorer(settings)
    else:
        _SCORERS[key].refresh()
    return _SCORERS[key]


def decision_weights(settings: Settings) -> dict[str, float]:
    """The champion's decision-rule weight per class (1.0 each when it has none)."""
    model = scorer(settings).champion.model
    weights = model.decision_weights or [1.0] * len(model.class_names)
    return dict(zip(model.class_names, (float(w) for w in weights), strict=True))


def decision_rule_settings(settings: Settings) -> dict[str, Any]:
    """The champion's ``selection_metric`` and ``max_accuracy_loss`` as its run recorded them
    (ml.model_runs.params_json: tracks.yml when it was trained, not now)."""
    import json

    from python_ml.warehouse import catalog, db

    run_id = scorer(settings).champion.run_id
    try:
        with db.connect(settings.warehouse) as con:
            row = con.execute(
                f"select params_json from {catalog.MODEL_RUNS} where run_id = ?", [run_id]
            ).fetchone()
    except db.WarehouseError:  # written now: the sentence says less, the page goes on
        row = None
    params = json.loads(row[0]) if row and row[0] else {}
    return {k: params.get(k) for k in ("selection_metric", "max_accuracy_loss")}


def decision_rule_sentence(
    weights: dict[str, float],
    labels: dict[str, str],
    selection_metric: str | None,
    max_accuracy_loss: float | None,
    most_probable: str | None = None,
) -> str:
    """How the score page says the class was called, from the champion's own rule: its weights
    and the metric they were tuned for (the page said "chosen for macro-F1, so that rarer
    classes are called ..." under weights of 1 tuned for accuracy). ``most_probable``: the
    most probable class when it is not the one called."""
    metric = selection_metric
    metric_name = {"macro_f1": "macro-F1", "accuracy": "accuracy"}.get(metric or "", metric)
    if all(abs(w - 1.0) < 1e-12 for w in weights.values()):
        why = (
            "the rule maximises accuracy, which the most probable class does"
            if metric == "accuracy"
            else f"no weighting did better for {metric_name} on the validation fold"
            if metric_name
            else "the rule has no weights"
        )
        return f"The class called is the most probable one (plain argmax: {why})."
    rule = ", ".join(f"{labels.get(n, n)} x{w:.2f}" for n, w in weights.items())
    within = (
        f", giving up at most {max_accuracy_loss:g} of plain argmax's accuracy"
        if max_accuracy_loss is not None
        else ""
    )
    here = f" (here {labels.get(most_probable, most_probable)})" if most_probable else ""
    return (
        f"The class called is the one with the highest **weighted** probability (weights "
        f"{rule}, chosen on the validation fold for {metric_name or 'its selection metric'}"
        f"{within}: a class is called when it is likely enough, not only when most likely), "
        f"which is why it can differ from the most probable class{here}."
    )


def explanation_method(settings: Settings) -> str:
    """How the champion's kind explains a score (tracks/kinds), for the score page."""
    return str(explanation_of(scorer(settings).champion.model.kind))


def explanation_of(model_type: Any) -> str | None:
    """How a model kind (``model_type``, as ml.model_runs records it) computes each feature's
    contribution, and so its units (logits, raw scores, log probabilities); None for a kind
    this code does not know."""
    from python_ml.tracks.kinds import KINDS

    kind = KINDS.get(str(model_type))
    return kind.explanation if kind is not None else None


def lead_in_words(called: str, runner_up: str, lead: float, baseline: float) -> str:
    """Where the called class's lead over the runner-up comes from: the baseline (before any
    feature) and the features together. Listed reasons can all be against the class called
    while the baseline carries it (16% of the lukewarm calls at 1x)."""
    features = lead - baseline
    text = (
        f"{called}'s score {'led' if lead >= 0 else 'trailed'} {runner_up}'s by {abs(lead):.2f} "
        f"(before calibration): {baseline:+.2f} from the baseline (what the model gives before "
        f"it looks at a track's features) and {features:+.2f} from this track's features."
    )
    if lead >= 0 and features < 0:
        text += f" The features held {called} back; the baseline carried it."
    if lead < 0:
        text += (
            f" {called} was called although behind: the decision rule's weights call a rarer "
            "class when it is likely enough."
        )
    return text


def as_artist_list(value: Any) -> Any:
    """An artists field as tracks.csv writes it (``['A', 'B']``): a plain name typed in the
    form (``Some Artist``) becomes a list of one."""
    text = str(value or "").strip()
    if not text or text.startswith("["):
        return value
    return repr([text])


@dataclass
class ArtistMatch:
    """The artist the model's artist features come from (the first one listed, as in
    ``int_tracks_enriched``), looked up by name among the warehouse's valid artists."""

    name: str
    artist_id: str | None = None  # None: no artist of that name
    followers: float | None = None
    genre_count: int | None = None
    namesakes: int = 0  # valid artists with this name (the one with most followers is used)
    artists: int = 0  # valid artists in the warehouse


def first_artist_name(value: Any) -> str:
    """The first artist of an artists field (``['A', 'B']`` as tracks.csv writes it, or a
    plain name as typed in the form); empty when there is none."""
    import ast

    text = str(value or "").strip()
    if text.startswith("["):
        try:
            names = ast.literal_eval(text)
        except (ValueError, SyntaxError):  # not a list after all: the text as typed
            return text
        return str(names[0]).strip() if isinstance(names, list) and names else ""
    return text


def find_artist(settings: Settings, artists: Any) -> ArtistMatch:
    """The form's first artist among the warehouse's valid artists (``int_artists_validated``),
    by name, ignoring case; when several share the name, the one with the most followers."""
    name = first_artist_name(artists)
    try:
        found = _artist_rows(settings, name)
    except WarehouseMissing:  # no artists model: the features are imputed, as the path does
        return ArtistMatch(name)
    if found.empty:
        return ArtistMatch(name)
    row = found.iloc[0]
    if not name or not bool(row["matches"]):
        return ArtistMatch(name, artists=int(row["artists"]))
    return ArtistMatch(
        str(row["artist_name"]),  # as the warehouse writes it
        artist_id=str(row["artist_id"]),
        followers=None if pd.isna(row["followers"]) else float(row["followers"]),
        genre_count=None if pd.isna(row["genre_count"]) else int(row["genre_count"]),
        namesakes=int(row["namesakes"]),
        artists=int(row["artists"]),
    )


def _artist_rows(settings: Settings, name: str) -> pd.DataFrame:
    return query(
        settings,
        "select artist_id, artist_name, followers, genre_count, "
        "count(*) filter (where lower(artist_name) = lower(?)) over () as namesakes, "
        "count(*) over () as artists, lower(artist_name) = lower(?) as matches "
        f"from {catalog.ARTISTS} where rejection_reason is null "
        "order by matches desc, followers desc nulls last, artist_id limit 1",
        [name, name],
    )


def train_year_range(settings: Settings) -> tuple[int, int]:
    """The first and last release years of the training split (the years the model saw)."""
    row = query(
        settings,
        f"select min(release_year) as lo, max(release_year) as hi from {catalog.TRAIN_TRACKS}",
    ).iloc[0]
    return int(row["lo"]), int(row["hi"])


def score_tracks(settings: Settings, rows: pd.DataFrame) -> pd.DataFrame:
    """Score rows with the columns of tracks.csv (popularity and the ids optional) through the
    fast path `predict` and the service share (the dbt models' rules and features, then the
    champion); one output row per input row, in order, rejected ones with the pipeline's reason
    and the columns it names, and the run, version and data origin that scored them."""
    frame = rows.copy()
    if "artists" in frame.columns:
        frame["artists"] = frame["artists"].map(as_artist_list)
    for column in ("id", "id_artists", "popularity"):
        if column in frame.columns:  # an empty optional field is a missing one
            frame[column] = frame[column].map(lambda v: None if str(v).strip() == "" else v)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    from python_ml.tracks.feature_origin import reasons_in_words
    from python_ml.tracks.scorer import NOT_OUTPUT_COLUMNS

    champion, scored = scorer(settings).score_records(records)
    # The page says which artist it used, and whether the year is after the training data's.
    scored = scored.drop(columns=list(NOT_OUTPUT_COLUMNS))
    origin = champion.data_origin  # a generated feature is marked, as predict marks it
    scored["reasons"] = scored["reasons"].map(lambda entries: reasons_in_words(entries, origin))
    scored.insert(scored.columns.get_loc("predicted_class"), "run_id", champion.run_id)
    scored.insert(scored.columns.get_loc("predicted_class"), "model_version", champion.version)
    scored.insert(scored.columns.get_loc("predicted_class"), "data_origin", champion.data_origin)
    return scored


def score_csv(settings: Settings, data: bytes, name: str) -> pd.DataFrame:
    """An uploaded tracks CSV scored exactly as `python -m python_ml predict --input` scores a
    file (tracks/predict.py: the loader reads it as it is, every line comes back under its own
    number, scored or with its reason); errors name the upload, not a scratch copy."""
    import tempfile
    from pathlib import Path

    from python_ml.tracks.predict import PredictInputError, score_file

    safe = Path(name).name or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="music-upload-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        try:
            _, result = score_file(settings, path, scorer(settings))
        except PredictInputError as exc:
            raise PredictInputError(str(exc).replace(str(path), safe)) from None
    # What was said of the file (lines that do not parse, columns not scored), naming the
    # upload: the page shows it above the table.
    result.attrs["warnings"] = [w.replace(str(path), safe) for w in result.attrs["warnings"]]
    return result


def with_class_labels(scored: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """Scored rows with every class by its label, as the app's pages show classes: the class
    called, the runner-up and the runner-up the reasons name (``over ice_cold: ...`` ->
    ``over ice-cold: ...``). predict's own output (the download) keeps the class names."""

    def label(value: Any) -> Any:
        return labels.get(value, value) if isinstance(value, str) else value

    def reasons(value: Any) -> Any:
        if not isinstance(value, str) or not value.startswith("over "):
            return value
        over, sep, listed = value[len("over ") :].partition(": ")
        return f"over {label(over)}{sep}{listed}"

    labelled = scored.copy()
    for column in ("predicted_class", "runner_up_class"):
        if column in labelled.columns:
            labelled[column] = labelled[column].map(label)
    if "reasons" in labelled.columns:
        labelled["reasons"] = labelled["reasons"].map(reasons)
    return labelled


def rejected_fields(row: pd.Series) -> list[str]:
    """The form fields a rejected row's reason names (e.g. ``danceability, tempo``)."""
    if row.get("status") != "rejected":
        return []
    detail = str(row.get("rejection_detail") or "")
    reason = str(row.get("rejection_reason") or "")
    if reason in ("unparseable release date", "release date out of range"):
        return ["release_date"]
    # "danceability 50.0 (allowed: 0 to 1); tempo 400.0 (...)", or "danceability, tempo"
    named = (part.strip().split(" ", 1)[0] for part in re.split(r"[;,]", detail))
    return [name for name in named if name in TRACK_FIELDS]


def field_detail(row: pd.Series, field: str) -> str:
    """What a rejected row's detail says of one field ("danceability 50.0 (allowed: 0 to 1)"),
    or the field's name when the detail names it only. A release date's detail is the date's
    alone ("1850-02-03 (allowed: 1900 to 2027)", "no release date"): all of it."""
    detail = str(row.get("rejection_detail") or "")
    if field == "release_date" and detail and "release date" in str(row.get("rejection_reason")):
        return detail
    return next(
        (p.strip() for p in detail.split(";") if p.strip().split(" ", 1)[0] == field), field
    )


# --------------------------------------------------------------------------------------------
# 2023 songs


def predict_share(settings: Settings) -> str:
    """The predict split's share as built ("10%"), as the report and the card say it."""
    counts = query(settings, catalog.SPLIT_COUNTS_SQL)
    row = tuple(int(v) for v in counts.iloc[0]) if not counts.empty else None
    return catalog.predict_share_in_words(row)


def source_rows(settings: Settings, source: str) -> tuple[int, int, int]:
    """A raw source's rows read, kept and rejected (``spotify_2023.songs``: as
    marts.rpt_source_row_counts names it)."""
    rows = query(
        settings,
        f"select any_value(rows_read) as n_read, any_value(rows_kept) as n_kept, "
        f"any_value(rows_rejected) as n_rejected from {catalog.RPT_SOURCE_ROW_COUNTS} "
        "where source_table = ?",
        [source],
    ).iloc[0]
    return tuple(0 if pd.isna(v) else int(v) for v in rows)


def songs_study(settings: Settings) -> pd.DataFrame:
    """The latest study's runs: one row per task and feature set, with the cross-validated
    figures (mean and spread over the repeated folds)."""
    runs = query(
        settings,
        f"select task, model_type, feature_set, split_kind, data_origin, finished_at, "
        "metrics_json "
        f"from {catalog.MODEL_RUNS} where task like 'songs%' and status = 'FINISHED' "
        "qualify row_number() over (partition by task, feature_set order by finished_at desc) "
        "= 1 order by task, feature_set",
    )
    metrics = pd.DataFrame([json.loads(m or "{}") for m in runs.pop("metrics_json")])
    return pd.concat([runs.reset_index(drop=True), metrics], axis=1)


def song_predictions(settings: Settings, feature_set: str) -> pd.DataFrame:
    return query(
        settings,
        f"select track_name, artist_names, released_year, actual_streams, predicted_streams, "
        f"actual_log_streams, predicted_log_streams, log_residual "
        f"from {catalog.FCT_SONG_STREAM_PREDICTIONS} where feature_set = ? "
        "order by actual_streams desc",
        [feature_set],
    )
