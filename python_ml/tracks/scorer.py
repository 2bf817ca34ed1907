"""Scoring new tracks with the warehouse's champion, through the one fast feature path
(tracks/feature_path.py): what ``predict``, the app's score page and the HTTP service share.

A :class:`Scorer` holds the champion and the compiled models; :meth:`Scorer.refresh` picks up a
new champion (checked against ``ml.model_runs``) without a restart, and every result names the
run that scored it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from python_ml.raw.schemas import ARTISTS
from python_ml.reports.tables import rounded_shares
from python_ml.settings import Settings
from python_ml.tracks.explain import CONTRIBUTION_DECIMALS, explain
from python_ml.tracks.feature_origin import ARTIST_FEATURES, with_generated_flags
from python_ml.tracks.feature_path import (
    NO_ARTIST_IDS,
    UNKNOWN_ARTIST,
    DerivedTracks,
    FeaturePath,
    FeaturePathError,
    project_version,
    record_id,
)

log = logging.getLogger(__name__)

SCORED = "scored"
REJECTED = "rejected"
# What the outputs (predict, the service, the app) round probabilities to: each track's add
# to exactly 1 at that precision (reports/tables.py: rounded_shares).
PROBABILITY_DECIMALS = 6


# Why each scored row got its class (tracks/explain.py), as the marts name them: the features
# that moved the called class ahead of the runner-up most (``{"feature", "value",
# "contribution", "over", "generated"}``, largest first; ``generated``: the feature's values
# are the built-in generated data, tracks/feature_origin.py), the runner-up, the baseline of
# the called class's score minus the runner-up's, and that difference (baseline plus every
# contribution).
EXPLANATION_COLUMNS = ("reasons", "runner_up_class", "explanation_baseline", "explained_score")


@dataclasses.dataclass(frozen=True)
class Champion:
    """The model that scores, as the warehouse records it."""

    run_id: str
    version: int
    label: str
    model: Any  # python_ml.tracks.models.FittedModel
    details: dict[str, Any]  # trained-at, data origin, decision rule, holdout figures

    @property
    def data_origin(self) -> str:
        return str(self.details.get("data_origin") or "unknown")


def _import_model_libraries() -> None:
    """What reading a fitted model imports (tracks/models.py: scikit-learn), ahead of time. A
    failure is left to the import that needs it, which reports it."""
    try:
        import python_ml.tracks.kinds
        import python_ml.tracks.models  # noqa: F401
    except Exception:  # noqa: BLE001, S110 (reported by the import that needs it)
        pass


def load_scoring_champion(settings: Settings) -> Champion:
    """The warehouse's champion, its fitted model and its ``ml.model_runs`` record; the model
    read from its logged folder directly (tracking/champion_files.py, no MLflow import), or
    through MLflow for a run recorded before its folder was."""
    from python_ml.tracking.champion_files import read_model_folder, warehouse_champion
    from python_ml.warehouse import catalog, db

    # scikit-learn's import (about a second) while DuckDB reads the champion's record and its
    # train table's fingerprint (without the GIL): with the fingerprint's own speed-up,
    # `predict --input` of 5 rows at 1x went from 1.96-2.00 s to 1.76-1.89 s.
    threading.Thread(target=_import_model_libraries, name="import-models", daemon=True).start()
    recorded = warehouse_champion(settings)
    names = (
        "model_name feature_set trained_at data_origin data_fingerprint n_train "
        "decision_weights holdout_accuracy holdout_macro_f1 holdout_log_loss holdout_ece "
        "model_type temperature model_path"
    ).split()
    with db.connect(settings.warehouse) as con:
        # A warehouse built before model_path was declared has no such column until its next
        # `dbt build` widens ml.model_runs: its champion is loaded through MLflow meanwhile.
        has_path = con.execute(
            "select count(*) from information_schema.columns where table_schema = 'ml' "
            "and table_name = 'model_runs' and column_name = 'model_path'"
        ).fetchone()[0]
        row = con.execute(
            "select model_name, feature_set, finished_at, data_origin, data_fingerprint, "
            "n_train, decision_weights, holdout_accuracy, holdout_macro_f1, holdout_log_loss, "
            f"holdout_ece, model_type, temperature, {'model_path' if has_path else 'null'} "
            f"from {catalog.MODEL_RUNS} where run_id = ?",
            [recorded["run_id"]],
        ).fetchone()
        # The newest release the champion learnt from (its data is the split's: checked
        # above): a later one is scored by extrapolation, and said so.
        last_year = con.execute(f"select max(release_year) from {catalog.TRAIN_TRACKS}").fetchone()
    details = dict(zip(names, row, strict=True))
    details["last_release_year"] = None if last_year[0] is None else int(last_year[0])
    run_id, version = recorded["run_id"], recorded["version"]
    if details["model_path"]:
        model = read_model_folder(
            settings.mlflow_dir / details["model_path"],
            run_id,
            details["model_type"],
            details["temperature"],
            details["decision_weights"],
            version,
        )
    else:
        from python_ml.tracking.registry import load_champion

        run_id, version, model = load_champion(settings)
    for internal in ("model_type", "temperature", "model_path"):
        details.pop(internal)
    if isinstance(details.get("decision_weights"), str):
        details["decision_weights"] = json.loads(details["decision_weights"])
    if details.get("trained_at") is not None:
        details["trained_at"] = f"{details['trained_at']:%Y-%m-%dT%H:%M:%SZ}"
    from python_ml.tracks.kinds import KINDS

    try:  # not in the first request's time; made at that request if it fails here
        KINDS[model.kind].prepare(model.estimator)
    except Exception as exc:  # the explanations' affair: the champion scores without it
        log.warning(
            "the champion's explainer could not be made ahead (%s: %s)", type(exc).__name__, exc
        )
    return Champion(run_id, version, recorded["label"], model, details)


def drift_features(model_features: list[str]) -> list[str]:
    """The model's features and every feature drift is measured on (the split tables')."""
    from python_ml.warehouse import catalog

    extra = sorted(catalog.TRACK_FEATURE_COLUMNS - set(model_features))
    return [*model_features, *extra]


def score_derived(champion: Champion, derived: DerivedTracks) -> pd.DataFrame:
    """One row per input row, in input order: line, id, name, status, rejection reason and
    detail, the class called, one rounded probability per class, the reasons (the features
    that moved the called class ahead of the runner-up most; empty when rejected) and
    ``artist_known``: for a scored track of a champion that uses the artist features, whether
    the warehouse knows its first artist (else they are imputed; None otherwise), and its
    ``release_year``. Not output columns (NOT_OUTPUT_COLUMNS): what `predict` and the service
    say of the tracks."""
    model = champion.model
    rows = derived.rows
    scored = rows["rejection_reason"].isna().to_numpy()
    probabilities = [f"prob_{name}" for name in model.class_names]
    columns: dict[str, Any] = {c: rows[c] for c in ("line", "id", "name")}
    columns["status"] = np.where(scored, SCORED, REJECTED).astype(object)
    columns |= {c: rows[c] for c in ("rejection_reason", "rejection_detail")}
    if derived.features.empty:
        for column in [
            "predicted_class",
            *probabilities,
            *EXPLANATION_COLUMNS,
            *NOT_OUTPUT_COLUMNS,
        ]:
            columns[column] = None
        return pd.DataFrame(columns, index=rows.index)
    features = derived.features
    x = model.transform(features)  # once, for the scores and their reasons
    proba = np.asarray(model.predict_proba(features, x))  # as model_output gives them
    called = np.asarray(model.decide(proba))
    explanation = explain(model, features, called, x, proba.astype(np.float64))
    used = [f for f in ARTIST_FEATURES if f in model.features]
    # Per feature row: int_tracks_enriched leaves the artist features NULL when the artist is
    # not known (None when the champion does not use them).
    known = (
        features[used].notna().any(axis=1).astype(object).to_numpy()
        if used
        else np.full(len(features), None, dtype=object)
    )
    # Each scored row's place among the feature rows (one per scored id), -1 for a rejected
    # row (a rejected duplicate shares its id with the scored track): every value is taken by
    # place, a whole column at a time, and missing (None, NaN) when rejected.
    at = pd.Index(features["track_id"]).get_indexer(rows["id"])
    at[~scored] = -1
    missing = at < 0

    def taken(values: Any) -> np.ndarray:
        values = np.asarray(values)
        if values.dtype.kind == "f":
            return np.where(missing, np.nan, values[at])
        picked = values.astype(object)[at]
        picked[missing] = None
        return picked

    columns["predicted_class"] = taken(np.asarray(model.class_names, dtype=object)[called])
    rounded = rounded_shares(proba, PROBABILITY_DECIMALS)  # one by one, 23% missed 1 by 1e-6
    for i, column in enumerate(probabilities):
        columns[column] = taken(rounded[:, i])
    # Each reason says whether its feature's values are generated (the artist features of a
    # generated artists.csv beside the user's tracks), by the champion's data origin.
    reasons = with_generated_flags(explanation.top(), champion.data_origin)
    columns["reasons"] = [None if i < 0 else reasons[i] for i in at.tolist()]
    # The lead the reasons explain, and where it starts: a call can rest on the baseline (a
    # class far ahead before any feature) with every feature listed against it.
    columns["runner_up_class"] = taken(explanation.over)
    columns["explanation_baseline"] = taken(explanation.baseline.round(CONTRIBUTION_DECIMALS))
    columns["explained_score"] = taken(np.asarray(explanation.score).round(CONTRIBUTION_DECIMALS))
    columns["artist_known"] = taken(known)
    year = (
        features["release_year"] if "release_year" in features else np.full(len(features), np.nan)
    )
    columns["release_year"] = taken(np.asarray(year, dtype=np.float64))
    return pd.DataFrame(columns, index=rows.index)


# score_derived's columns for what `predict`, the service and the app say of the tracks
# (artist_warnings, recency_warnings), not written out as they are.
NOT_OUTPUT_COLUMNS = ("artist_known", "release_year")


def recency_warnings(scored: pd.DataFrame, last_year: int | None, where: Any) -> list[str]:
    """One line for the scored tracks released after the champion's training data's last
    release year (its details' ``last_release_year``), naming the first (``where(line)``) and
    how many more: the model saw no track that recent, and release year leads its calls (the
    score page said so; `predict` and the service did not)."""
    if last_year is None:
        return []
    later = scored[scored["release_year"].astype(float) > last_year]
    if later.empty:
        return []
    first = later.iloc[0]
    more = f" (and {len(later) - 1:,} more)" if len(later) > 1 else ""
    return [
        f"{where(int(first['line']))}{more}: released in {int(first['release_year'])}, after the "
        f"training data's last release year ({last_year}): the model has seen no track this "
        "recent, so its score extrapolates"
    ]


def artist_warnings(scored: pd.DataFrame, gives_ids: Any, where: Any) -> list[str]:
    """What to say of the scored tracks whose artist features are imputed (``artist_known``
    False): one line for those without artist ids, one for those whose first artist the
    warehouse does not know, each naming the first such track (``where(line)``) and how many
    more. ``gives_ids(line)``: whether that input row gives artist ids."""
    lines = [int(n) for n in scored.loc[scored["artist_known"].eq(False), "line"]]
    said = []
    for group, text in (
        ([n for n in lines if not gives_ids(n)], f"no id_artists: {NO_ARTIST_IDS}"),
        ([n for n in lines if gives_ids(n)], UNKNOWN_ARTIST),
    ):
        if group:
            more = f" (and {len(group) - 1:,} more)" if len(group) > 1 else ""
            said.append(f"{where(group[0])}{more}: {text}")
    return said


# The champion's holdout figures as ml.model_runs holds them (and Champion.details).
HOLDOUT_FIGURES = ("holdout_accuracy", "holdout_macro_f1", "holdout_log_loss", "holdout_ece")


def _refuse_while_written(settings: Settings) -> None:
    """A WarehouseError naming the command that writes the warehouse now, if one does."""
    from python_ml.warehouse import db

    holder = db.RunLock.holder(settings.warehouse)
    if holder:
        raise db.WarehouseBusy(
            f"The warehouse {settings.warehouse} is being written by another command "
            f"({holder}): try again when it has finished (a look now would make its writes fail)."
        )


def _files_stamp(warehouse: Path) -> tuple:
    """The warehouse file and its write-ahead log as the file system sees them (inode, size,
    modification time): DuckDB writes one of them for every change, and a file copied or moved
    over the warehouse is another inode."""
    stamp = []
    for path in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        try:
            info = path.stat()
        except OSError:
            stamp.append(None)
        else:
            stamp.append((info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(stamp)


class Scorer:
    """The champion and the feature path, shared by every request (thread-safe)."""

    def __init__(
        self, settings: Settings, check_every: float = 5.0, wait_for_champion: bool = False
    ) -> None:
        """``wait_for_champion`` (the service): with no champion of this warehouse's data to
        load, start anyway, not scoring (``unavailable`` says why), and take up the first one
        trained on it at a later look; otherwise (``predict``, the app) refuse, saying why."""
        from concurrent.futures import ThreadPoolExecutor

        from python_ml.tracking.champion_files import ChampionFilesUnreadable, ChampionUnavailable

        self.settings = settings
        self.check_every = check_every
        _refuse_while_written(settings)
        # Why the warehouse's champion cannot score now (its data changed under it, or none
        # was trained on it), or None.
        self.unavailable: str | None = None
        # The command that was writing the warehouse at the last look (None: no command): a
        # champion it promotes is taken up at the first look after it finishes.
        self.writer: str | None = None
        self.champion: Champion | None = None
        # Why the champion scoring could not be read again from its files (moved, damaged)
        # at the last look, while it scores as loaded; None when they read.
        self.files_problem: str | None = None
        # Side by side: DuckDB reads the artists while the champion's libraries import.
        artists = self._artists_stamp()  # before the feature path reads them
        with ThreadPoolExecutor(1, thread_name_prefix="feature-path") as pool:
            path = pool.submit(FeaturePath, settings)
            try:
                self.champion = load_scoring_champion(settings)
            except ChampionUnavailable as exc:
                if not wait_for_champion:
                    raise
                self.unavailable = str(exc)
                until = (
                    f"until its files can be read (looked at again every {check_every:g} s)"
                    if isinstance(exc, ChampionFilesUnreadable)
                    else "until a champion of this data is promoted"
                )
                log.warning("not scoring %s: %s", until, exc)
            self.path = path.result()
        # The champion was just checked against the train split: its fingerprint is the
        # split's. Without one, the first look reads them (and tries again).
        self._stamp = (
            (str(self.champion.details.get("data_fingerprint") or ""), artists)
            if self.champion is not None
            else ("", artists)
        )
        self._checked = time.monotonic()
        # The warehouse's files as they were when a look was last made through to its end.
        self._files_seen: tuple | None = None
        self._unavailable_row: tuple | None = None  # while not scoring: the record looked at
        self._path_failed_for: tuple | None = None  # the project and data the path failed on
        self._lock = threading.Lock()
        self._reference: pd.DataFrame | None = None  # the drift reference, read when needed
        self.last_drift: pd.DataFrame | None = None  # of the last CSV scored

    def _data_stamp(self, con: Any) -> tuple:
        """What scoring depends on in the warehouse besides the champion's record: the train
        split's fingerprint (the champion's data check; 0.08 s at 1x, read at most every
        ``check_every`` seconds: DuckDB numbers a table afresh each time the file is opened,
        so a rebuilt table cannot be told by its id) and the last load of the raw artists
        (the artist features)."""
        from python_ml.tracks.data import train_fingerprint
        from python_ml.warehouse import catalog, db

        split = train_fingerprint(con) if db.has_table(con, catalog.TRAIN_TRACKS) else ""
        return split, self._artists_stamp(con)

    def _artists_stamp(self, con: Any = None) -> tuple:
        """The last load of the raw artists as raw.load_log records it."""
        from python_ml.warehouse import catalog, db

        if con is None:
            with db.connect(self.settings.warehouse) as own:
                return self._artists_stamp(own)
        if not db.has_table(con, catalog.LOAD_LOG):
            return ()
        return tuple(
            con.execute(
                f"select loaded_at, file_sha256 from {catalog.LOAD_LOG} "
                "where dataset = ? and table_name = ?",
                [ARTISTS.dataset, ARTISTS.table],
            ).fetchall()
        )

    def refresh(self, force: bool = False) -> bool:
        """Load the warehouse's champion again if it or its data changed (at most every
        ``check_every`` seconds unless ``force``: then it is checked whatever changed); True
        when a new one was loaded. A champion whose train split changed under it stops scoring
        (``unavailable`` says why, as ``predict`` does) until one trained on the data is
        promoted; new artists are read in. A check that fails part-way is made again at the
        next look (what it had not taken in is not marked as seen)."""
        if not force and time.monotonic() - self._checked < self.check_every:
            return False
        with self._lock:
            self._checked = time.monotonic()
            # Nothing written to the warehouse since the last whole look: nothing to read again
            # (the look's queries and the split's fingerprint took 15% of a loaded service's
            # time, each in the request that made it). Not scoring, it looks every time: what
            # stops it (the feature models' SQL, say) may be fixed outside the warehouse.
            files = _files_stamp(self.settings.warehouse)
            if (
                not force
                and self.unavailable is None
                and self.files_problem is None  # else the files are tried again at each check
                and self.writer is None
                and files == self._files_seen
            ):
                return False
            changed = self._look(force)
            if changed is None:  # not looked: the warehouse is being written
                return False
            self._files_seen = files
            return changed

    def _look(self, force: bool) -> bool | None:
        """:meth:`refresh`'s look at the warehouse: whether a new champion was loaded, or None
        when no look was made (a command is writing the warehouse)."""
        from python_ml.tracking.champion_files import ChampionFilesUnreadable, ChampionUnavailable
        from python_ml.warehouse import catalog, db

        # While a python_ml command (or a plain dbt build) writes the warehouse, not even a
        # brief read-only look: DuckDB lets no writer open the file while a reader holds
        # it, and dbt opens it again for every model (a build failed on the service's look
        # with DuckDB's lock text). Looked at again after it; asked for (POST /reload), said.
        self.writer = db.RunLock.holder(self.settings.warehouse)
        if self.writer:
            if not force:
                return None
            _refuse_while_written(self.settings)  # raises, naming it (unless it just ended)
            self.writer = None
        # Brief look-ups: the warehouse is held read-only as briefly as it can be, so the
        # pipeline's writes are not kept waiting.
        with db.connect(self.settings.warehouse) as con:
            row = con.execute(
                f"select run_id, {', '.join(HOLDOUT_FIGURES)} from {catalog.MODEL_RUNS} "
                "where task = 'tracks' and is_champion order by finished_at desc limit 1"
            ).fetchone()
            split, artists = self._data_stamp(con)
        split_before, artists_before = self._stamp
        # The artists scoring uses are those the train split was built from (the built
        # int_artists_validated): read again when a build replaced the split, or when the
        # raw artists were loaded again (before the first build they are read from there).
        if artists != artists_before or (split != split_before and split_before):
            # Made again at a later look only when the project or the warehouse changed
            # (not a `dbt compile` every few seconds for models that do not compile).
            attempt = (project_version(self.settings), split, artists)
            if attempt == self._path_failed_for:
                return False
            log.info("the warehouse's artists were loaded or built again: reading them in")
            try:
                self.path = FeaturePath(self.settings)
            except FeaturePathError as exc:  # e.g. the feature models edited since the build
                if self.unavailable != str(exc):
                    log.warning("not scoring: %s", exc)
                self.unavailable = str(exc)
                self._unavailable_row = None if row is None else tuple(row)
                self._path_failed_for = attempt
                return False
            self._path_failed_for = None
            self._stamp = (split_before, artists)
            # Not scoring until now (maybe for the path): the champion is checked again.
            force = force or self.unavailable is not None
        # The same run with the same holdout figures (`score` on a new predict split
        # writes new ones: GET /model says them), or, not scoring, the same record as at
        # the last look.
        same_run = (None if row is None else tuple(row)) == self._row_seen()
        if same_run and split == split_before and not force and self.files_problem is None:
            return False
        try:
            champion = load_scoring_champion(self.settings)  # checked against its data
        except ChampionFilesUnreadable as exc:
            if (
                self.champion is not None
                and self.unavailable is None
                and row is not None
                and row[0] == self.champion.run_id
                and split == split_before
            ):
                # The run scoring, on the same data: its files moved or were damaged since it
                # was loaded. What is in memory is what they held: it keeps scoring (a reload
                # took the service down until the files were back and reloaded again).
                if self.files_problem != str(exc):
                    log.warning(
                        "still scoring with run %s as loaded: %s", self.champion.run_id, exc
                    )
                self.files_problem = str(exc)
                return False
            if self.unavailable != str(exc):
                log.warning("not scoring: %s (looked at again every %g s)", exc, self.check_every)
            self.unavailable = str(exc)
            self._stamp = (split, artists)
            # Not marked as seen: the next look tries the files again (put back, they load).
            self._unavailable_row = None
            return False
        except ChampionUnavailable as exc:
            if self.unavailable != str(exc):
                log.warning("not scoring: %s", exc)
            self.unavailable = str(exc)
            self._stamp = (split, artists)
            self._unavailable_row = None if row is None else tuple(row)
            return False
        self.unavailable = None
        self.files_problem = None
        self._stamp = (split, artists)
        changed = self.champion is None or champion.run_id != self.champion.run_id
        self.champion = champion
        return changed

    def _row_seen(self) -> tuple | None:
        """The champion's ``ml.model_runs`` figures as last taken in: those of the champion
        scoring, or, while none can, those of the record that could not."""
        if self.unavailable is not None or self.champion is None:
            return self._unavailable_row
        details = self.champion.details
        return (self.champion.run_id, *(details.get(k) for k in HOLDOUT_FIGURES))

    def _check_available(self) -> None:
        from python_ml.tracking.champion_files import ChampionUnavailable

        if self.unavailable:
            raise ChampionUnavailable(self.unavailable)

    def score_records(self, records: Sequence[dict[str, Any]]) -> tuple[Champion, pd.DataFrame]:
        self._check_available()
        champion = self.champion  # one champion for the whole batch, even if one is promoted
        # Its features, and the release year what is said of the tracks reads (a champion
        # of the audio features alone has none: every request failed on it).
        wanted = list(dict.fromkeys([*champion.model.features, "release_year"]))
        derived = self.path.derive_records(records, wanted)
        return champion, score_derived(champion, derived)

    def score_csv(
        self, staged: Path, header: list[str] | None = None, shown_as: Path | None = None
    ) -> tuple[Champion, pd.DataFrame, pd.DataFrame]:
        """A staged tracks CSV: the champion, its scores and the input's values per line
        (``header``, ``shown_as``: see :meth:`FeaturePath.derive_csv`); what was said of the
        file's lines (rows that do not parse as CSV) in the values' ``attrs["warnings"]``."""
        self._check_available()
        champion = self.champion
        derived = self.path.derive_csv(
            staged, drift_features(champion.model.features), header=header, shown_as=shown_as
        )
        scored = score_derived(champion, derived)
        self.last_drift = self._drift(champion, derived, scored)
        derived.inputs.attrs["warnings"] = derived.warnings
        return champion, scored, derived.inputs

    def _drift(
        self, champion: Champion, derived: DerivedTracks, scored: pd.DataFrame
    ) -> pd.DataFrame | None:
        """The batch's drift against the training split (None when the warehouse has no
        drift reference yet: built by `python -m python_ml build`)."""
        from python_ml.warehouse import catalog, db

        if self._reference is None:
            with db.connect(self.settings.warehouse) as con:
                if not db.has_table(con, catalog.FCT_FEATURE_DRIFT_REFERENCE):
                    return None
                self._reference = con.execute(
                    f"select * from {catalog.FCT_FEATURE_DRIFT_REFERENCE}"
                ).df()
        calls = scored[scored["status"] == SCORED].set_index("id")["predicted_class"]
        called = calls.reindex(derived.features["track_id"])
        index = {name: i for i, name in enumerate(champion.model.class_names)}
        return self.path.drift(
            derived.features[list(catalog.TRACK_FEATURE_COLUMNS)],
            called.map(index).to_numpy(),
            self._reference,
        )


@dataclasses.dataclass
class _Request:
    records: Sequence[dict[str, Any]]
    ids: set[str]
    done: Future


class BatchingScorer:
    """A :class:`Scorer` for many small concurrent requests (the HTTP service): the requests
    waiting while a batch is scored are scored together as the next batch, one query and one
    model call for all of them, and each gets back its own rows, as if scored alone.

    Nothing waits for company: a request arriving at an idle scorer is scored at once. Requests
    that share a track id are never put in one batch (the dbt rules keep one row per id, so they
    would reject one of them as a duplicate). A request of ``alone_from`` tracks or more pays
    the fixed cost for enough tracks by itself: it is scored at once, in the request's own
    thread (beside a batch, on a cursor of its own). A batch holds at most ``max_tracks``. If
    a batch fails, its requests are scored one by one, so that one request's failure is
    reported to it alone."""

    def __init__(self, scorer: Scorer, alone_from: int = 64, max_tracks: int = 1_000) -> None:
        self.scorer = scorer
        self.alone_from = alone_from
        self.max_tracks = max_tracks
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._serve, name="score-batches", daemon=True)
        self._worker.start()

    def score_records(self, records: Sequence[dict[str, Any]]) -> tuple[Champion, pd.DataFrame]:
        if len(records) >= self.alone_from:
            return self.scorer.score_records(records)
        request = _Request(records, {record_id(r) for r in records}, Future())
        self._queue.put(request)
        return request.done.result()

    def _serve(self) -> None:
        held: _Request | None = None  # taken from the queue, but left for the next batch
        while True:
            first = held or self._queue.get()
            held = None
            batch, ids, size = [first], set(first.ids), len(first.records)
            while True:
                try:
                    request = self._queue.get_nowait()
                except queue.Empty:
                    break
                if size + len(request.records) > self.max_tracks or not ids.isdisjoint(request.ids):
                    held = request
                    break
                batch.append(request)
                ids |= request.ids
                size += len(request.records)
            self._score(batch)

    def _score(self, batch: list[_Request]) -> None:
        try:
            champion, scored = self.scorer.score_records(
                [record for request in batch for record in request.records]
            )
        except BaseException as exc:
            if len(batch) == 1:
                batch[0].done.set_exception(exc)
            else:
                for request in batch:
                    self._score([request])
            return
        offset = 0
        lines = scored["line"].to_numpy()
        for request in batch:
            n = len(request.records)
            part = scored[(lines > offset) & (lines <= offset + n)].copy()
            part["line"] -= offset
            request.done.set_result((champion, part.reset_index(drop=True)))
            offset += n
