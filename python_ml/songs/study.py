"""The 2023 songs study: log(streams) regression and top-10% classification on named feature
sets, measured by k-fold cross-validation repeated with several fold seeds (mean and spread).
Out-of-fold predictions of the first repetition go to ``ml.song_predictions``.

Forecastable features are known before a song's streams are: its audio, its release date,
how long it has been out (``days_since_release``) and its artist's history: the mean
log(streams) of the same first artist's *earlier* songs and how many there are, computed
inside each fold from the fitting rows only, so no song's own streams leak into its features.
Playlist and chart reach are measured with the streams: that set describes a hit.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    f1_score,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline

from python_ml.clock import utc_now
from python_ml.settings import Settings
from python_ml.songs import StudySummary, study_results, write_results_file
from python_ml.steps import step
from python_ml.tracks.config import CONFIG_DIR, ConfigError, first_error, read_yaml
from python_ml.tracks.kinds.params import MAX_SEED, Params, PositiveFloat, PositiveInt, Seed
from python_ml.warehouse import catalog, db

log = logging.getLogger(__name__)

KEYS = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
# The columns a feature set may name: the numbers of the fct_songs_2023 contract, the key and
# mode as numbers (see load_songs), and the artist-history features.
SONG_COLUMNS = set(catalog.SONG_NUMBER_COLUMNS) | {"key_index", "mode_major"}
# Computed inside each fold from the fitting rows (see artist_history).
FOLD_FEATURES = {"artist_prior_mean_log_streams", "artist_prior_songs"}
SONG_COLUMNS |= FOLD_FEATURES
TASKS = ("log_streams", "top_decile")


# --------------------------------------------------------------------------------------------
# songs_2023.yml's schema (pydantic): every key known, every value checked; messages name the
# file and key, as tracks.yml's do (python_ml/tracks/config.py)


def _at_least(minimum: int):
    def check(value: Any) -> Any:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"must be an integer >= {minimum}, got {value!r}")
        return value

    return BeforeValidator(check)


def _max_features(value: Any) -> Any:
    if value in ("sqrt", "log2") or (isinstance(value, float) and 0 < value <= 1):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ValueError(
        f"must be a share of the features (0 to 1), a count, 'sqrt' or 'log2', got {value!r}"
    )


def _song_features(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of column names")
    unknown = [f for f in value if f not in SONG_COLUMNS]
    if unknown:
        raise ValueError(f"names unknown columns {unknown} (known: {sorted(SONG_COLUMNS)})")
    if len(set(value)) != len(value):
        raise ValueError("repeats a feature")
    return value


# A parameter left out is scikit-learn's default for the task's estimator (the regressor's and
# the classifier's may differ): only the parameters written are passed on.
class RandomForestParams(Params):
    n_estimators: PositiveInt | None = None
    min_samples_leaf: PositiveInt | None = None
    max_features: Annotated[float | int | str, BeforeValidator(_max_features)] | None = None


class GradientBoostingParams(Params):
    max_iter: PositiveInt | None = None
    learning_rate: PositiveFloat | None = None


MODEL_PARAMS: dict[str, type[Params]] = {
    "random_forest": RandomForestParams,
    "gradient_boosting": GradientBoostingParams,
}


class SongsFile(BaseModel):
    """songs_2023.yml as written: read by :func:`parse_songs_config` into :class:`StudyConfig`."""

    model_config = ConfigDict(extra="forbid")

    seed: Seed = 42
    folds: Annotated[int, _at_least(2)]
    repeats: Annotated[int, _at_least(1)] = 1
    feature_sets: dict[str, Annotated[list[str], BeforeValidator(_song_features)]]
    models: dict[str, dict[str, Any] | None]  # `random_forest:` alone: its defaults


@dataclass(frozen=True)
class StudyConfig:
    seed: int
    folds: int
    repeats: int
    feature_sets: dict[str, list[str]]
    models: dict[str, dict[str, Any]]  # the parameters as written


def parse_songs_config(raw: Any, where: str = "songs_2023.yml") -> StudyConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the file must be a mapping of keys to values")
    try:
        parsed = SongsFile.model_validate(raw)
    except ValidationError as exc:
        known = sorted(SongsFile.model_fields)
        raise ConfigError(f"{where}: {first_error(exc, (), known, 'a known key')}") from None
    if parsed.seed + parsed.repeats - 1 > MAX_SEED:  # the repeats' fold seeds: seed, seed + 1, ...
        raise ConfigError(
            f"{where}: seed must be at most {MAX_SEED - parsed.repeats + 1:,} with "
            f"{parsed.repeats} repeats (their fold seeds are seed, seed + 1, ...), "
            f"got {parsed.seed}"
        )
    if not parsed.feature_sets:
        raise ConfigError(f"{where}: feature_sets must be a non-empty mapping")
    if not parsed.models:
        raise ConfigError(f"{where}: models must be a non-empty mapping")
    models = {}
    for name, params in parsed.models.items():
        if name not in MODEL_PARAMS:
            raise ConfigError(f"{where}: models.{name} is not one of {sorted(MODEL_PARAMS)}")
        schema = MODEL_PARAMS[name]
        try:
            checked = schema.model_validate(params or {})
        except ValidationError as exc:
            known = sorted(schema.model_fields)
            noun = f"a parameter of {name}"
            raise ConfigError(
                f"{where}: {first_error(exc, (f'models.{name}',), known, noun)}"
            ) from None
        written = checked.model_dump(exclude_unset=True)
        for key, value in written.items():
            if value is None:
                raise ConfigError(
                    f"{where}: models.{name}.{key} has no value (leave the key out for "
                    "scikit-learn's default)"
                )
        models[name] = written
    return StudyConfig(
        parsed.seed,
        parsed.folds,
        parsed.repeats,
        {k: list(v) for k, v in parsed.feature_sets.items()},
        models,
    )


def load_songs_config(path: Path | None = None) -> StudyConfig:
    """The study's config: the project's songs_2023.yml (named so in messages), or ``path``
    (`--config`, named by the path given, as the training config's)."""
    where = "songs_2023.yml" if path is None else str(path)
    path = path or CONFIG_DIR / "songs_2023.yml"
    return parse_songs_config(read_yaml(path), where)


def load_songs(settings: Settings) -> pd.DataFrame:
    with db.connect(settings.warehouse) as con:
        db.require_tables(con, catalog.SONGS_2023)
        frame = con.execute(f"select * from {catalog.SONGS_2023} order by song_key").df()
    frame["key_index"] = frame["key"].map({k: i for i, k in enumerate(KEYS)}).astype(float)
    # An empty mode is unknown (imputed, as an empty key is), not minor.
    frame["mode_major"] = frame["mode"].map({"Major": 1.0, "Minor": 0.0}).astype(float)
    return frame


def _estimator(task: str, model: str, params: dict[str, Any], seed: int) -> Any:
    if model == "random_forest":
        cls = RandomForestRegressor if task == "log_streams" else RandomForestClassifier
        extra = {} if task == "log_streams" else {"class_weight": "balanced"}
        est = cls(random_state=seed, n_jobs=1, **params, **extra)
    else:
        cls = (
            HistGradientBoostingRegressor
            if task == "log_streams"
            else (HistGradientBoostingClassifier)
        )
        est = cls(random_state=seed, **params)
    return make_pipeline(SimpleImputer(strategy="median"), est)


def artist_history(fit: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """For each of ``rows``: the mean log(streams) and the number of the same first artist's
    songs in ``fit`` released strictly before it (NaN and 0 when there are none, or when the
    first artist is not known: NULL in fct_songs_2023)."""
    left = pd.DataFrame(
        {
            "row": np.arange(len(rows)),
            "artist": rows["primary_artist"].to_numpy(),
            "date": rows["released_date"].to_numpy(),
        }
    )
    right = pd.DataFrame(
        {
            "artist": fit["primary_artist"].to_numpy(),
            "earlier_date": fit["released_date"].to_numpy(),
            "y": fit["log_streams"].to_numpy(),
        }
    )
    # pandas pairs a missing key with every missing key: songs whose artist is not known are
    # not one artist.
    pairs = left.dropna(subset=["artist"]).merge(
        right.dropna(subset=["artist"]), on="artist", how="inner"
    )
    pairs = pairs[pairs["earlier_date"] < pairs["date"]]
    stats = pairs.groupby("row")["y"].agg(["mean", "count"])
    out = pd.DataFrame(index=np.arange(len(rows)))
    out["artist_prior_mean_log_streams"] = stats["mean"].reindex(out.index).to_numpy()
    out["artist_prior_songs"] = stats["count"].reindex(out.index).fillna(0).to_numpy()
    return out


def _fold_matrix(
    frame: pd.DataFrame, fit_idx: np.ndarray, idx: np.ndarray, features: list[str]
) -> pd.DataFrame:
    x = frame.iloc[idx][[f for f in features if f not in FOLD_FEATURES]].astype(float)
    x = x.reset_index(drop=True)
    wanted = [f for f in features if f in FOLD_FEATURES]
    if wanted:
        history = artist_history(frame.iloc[fit_idx], frame.iloc[idx])
        for feature in wanted:
            x[feature] = history[feature].to_numpy()
    return x[features]


def _splits(frame: pd.DataFrame, task: str, config: StudyConfig, repeat: int) -> list[Any]:
    """The folds of one repetition (fold seed = seed + repeat): (fitting rows, test rows)."""
    seed = config.seed + repeat
    if task == "log_streams":
        return list(KFold(config.folds, shuffle=True, random_state=seed).split(frame))
    y = frame["is_top_decile"].astype(int).to_numpy()
    return list(StratifiedKFold(config.folds, shuffle=True, random_state=seed).split(frame, y))


def _target(frame: pd.DataFrame, task: str) -> np.ndarray:
    if task == "log_streams":
        return frame["log_streams"].to_numpy()
    return frame["is_top_decile"].astype(int).to_numpy()


def fold_predictions(
    frame: pd.DataFrame,
    task: str,
    model: str,
    features: list[str],
    config: StudyConfig,
    repeat: int,
    fold: int,
) -> np.ndarray:
    """One fold of one repetition: the model fitted on the other folds, its predictions for
    the fold's rows (in the order of ``_splits``)."""
    fit_idx, test_idx = _splits(frame, task, config, repeat)[fold]
    y = _target(frame, task)
    est = _estimator(task, model, config.models[model], config.seed)
    est.fit(_fold_matrix(frame, fit_idx, fit_idx, features), y[fit_idx])
    x_test = _fold_matrix(frame, fit_idx, test_idx, features)
    if task == "log_streams":
        return est.predict(x_test)
    return est.predict_proba(x_test)[:, 1]


def cross_validate(
    frame: pd.DataFrame,
    task: str,
    model: str,
    features: list[str],
    config: StudyConfig,
    repeat: int = 0,
    fold_predicted: list[np.ndarray] | None = None,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Out-of-fold predictions of one repetition (fold seed = seed + repeat) and their metrics
    (``fold_predicted``: each fold's :func:`fold_predictions`, when already computed)."""
    y = _target(frame, task)
    predicted = np.zeros(len(y))
    fold_of = np.zeros(len(y), dtype=int)
    for fold, (_, test_idx) in enumerate(_splits(frame, task, config, repeat)):
        predicted[test_idx] = (
            fold_predicted[fold]
            if fold_predicted is not None
            else fold_predictions(frame, task, model, features, config, repeat, fold)
        )
        fold_of[test_idx] = fold
    if task == "log_streams":
        metrics = {
            "rmse": float(np.sqrt(mean_squared_error(y, predicted))),
            "r2": float(r2_score(y, predicted)),
        }
    else:
        labels = (predicted >= 0.5).astype(int)
        metrics = {
            "precision": float(precision_score(y, labels, zero_division=0)),
            "recall": float(recall_score(y, labels, zero_division=0)),
            "f1": float(f1_score(y, labels, zero_division=0)),
            "roc_auc": float(roc_auc_score(y, predicted)),
            # The share of songs called top 10%, beside the 10% there are: with the classes
            # weighted to balance, the model calls more of them (precision below recall).
            "called_share": float(labels.mean()),
        }
    out = pd.DataFrame(
        {
            "song_id": frame["song_key"].to_numpy(),
            "fold": fold_of,
            "repeat": repeat,
            "actual_value": y.astype(float),
            "predicted_value": predicted,
        }
    )
    return metrics, out


WORKER_IDLE_SECONDS = 10  # the study's calls come about 1.5 s apart


def repeated_cross_validate(
    frame: pd.DataFrame, task: str, model: str, features: list[str], config: StudyConfig
) -> tuple[dict[str, float], pd.DataFrame]:
    """Each metric's mean over ``config.repeats`` fold seeds, with ``<metric>_std`` beside it;
    the out-of-fold predictions of the first repetition."""
    # cpu_count: the cores this process may use (affinity, container limits)
    from joblib import Parallel, cpu_count, delayed, parallel_config

    # Folds run side by side in joblib's worker processes, kept for the whole study: a forest
    # of small trees spends most of its time in Python per tree, under the GIL, so threads used
    # 1.2 of 2 cores (the study took 15.5 s at 1x; 11.0 s in processes, the same figures).
    # One task per fold of each repetition (25), not per repetition (5): on 2 cores the last
    # of 5 ran alone, one core idle for a third of each run.
    # The workers end WORKER_IDLE_SECONDS after the study's last call (joblib's default keeps
    # them, and their memory, 300 s: through the training that follows in a run).
    pairs = [(r, f) for r in range(config.repeats) for f in range(config.folds)]
    with parallel_config(backend="loky", idle_worker_timeout=WORKER_IDLE_SECONDS):
        predicted = Parallel(n_jobs=min(len(pairs), cpu_count()))(
            delayed(fold_predictions)(frame, task, model, features, config, r, f) for r, f in pairs
        )
    by_repeat = [
        predicted[r * config.folds : (r + 1) * config.folds] for r in range(config.repeats)
    ]
    runs = [
        cross_validate(frame, task, model, features, config, r, by_repeat[r])
        for r in range(config.repeats)
    ]
    metrics: dict[str, float] = {}
    for key in runs[0][0]:
        values = np.array([m[key] for m, _ in runs])
        metrics[key] = float(values.mean())
        metrics[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return metrics, runs[0][1]


def songs_digest(frame: pd.DataFrame) -> str:
    """md5 of the clean songs as the study reads them (every column of the table, their
    data_origin included): the runs' MLflow dataset."""
    import hashlib

    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.md5(hashed.tobytes()).hexdigest()


def run_study(settings: Settings, config: StudyConfig) -> list[dict[str, Any]]:
    import mlflow

    from python_ml.raw.origin import GENERATED_WARNING, SONGS_TABLES, is_generated, warehouse_origin
    from python_ml.tracking.registry import (
        SONGS_EXPERIMENT,
        log_table_input,
        mark_superseded,
        setup_mlflow,
        shown_metrics,
    )
    from python_ml.tracking.runs import library_versions

    frame = load_songs(settings)
    data_origin = warehouse_origin(settings, SONGS_TABLES)  # as loaded
    if is_generated(data_origin):
        log.warning("2023 songs: %s", GENERATED_WARNING)
    log.info(
        "2023 songs: %d clean songs, top decile = %d songs",
        len(frame),
        int(frame["is_top_decile"].sum()),
    )
    experiment_id = setup_mlflow(settings, SONGS_EXPERIMENT)
    digest = songs_digest(frame)
    versions = library_versions()
    results, predictions, run_rows = [], [], []
    from python_ml.progress import each

    plan = [
        (task, feature_set, features, model)
        for task in TASKS
        for feature_set, features in config.feature_sets.items()
        for model in config.models
    ]
    for task, feature_set, features, model in each(plan, len(plan), "2023 songs", "run"):
        started = time.perf_counter()
        started_at = utc_now()
        # A run stays RUNNING until the warehouse has recorded it (below): a study killed
        # part-way leaves no FINISHED run missing from ml.model_runs.
        with mlflow.start_run(run_name=f"{task}/{model}/{feature_set}") as run:
            mlflow.set_tags(
                {
                    "task": f"songs_{task}",
                    "model_name": model,
                    "model_type": model,
                    "feature_set": feature_set,
                    "data_origin": data_origin,
                    # As the tracks' runs have them: the data (the dataset's digest) and the
                    # library versions that change results.
                    "data_fingerprint": digest,
                    **{f"version.{k}": v for k, v in versions.items()},
                    # The run page's description (the tracks' runs had one, these none).
                    "mlflow.note.content": (
                        f"{model} on the {feature_set} features, {config.repeats}x "
                        f"{config.folds}-fold cross-validated "
                        + (
                            "regression of log(streams)"
                            if task == "log_streams"
                            else "classification of the top 10% by streams"
                        )
                        + f" of {len(frame):,} songs of the 2023 file ({data_origin} data)"
                    ),
                }
            )
            log_table_input(frame, catalog.SONGS_2023, data_origin, digest)
            mlflow.log_params(
                {
                    "songs": len(frame),
                    "features": ",".join(features),
                    "folds": config.folds,
                    "repeats": config.repeats,
                    "seed": config.seed,
                    **config.models[model],
                }
            )
            try:
                metrics, oof = repeated_cross_validate(frame, task, model, features, config)
            except BaseException:
                _terminate(run_rows, "FAILED")
                raise
            mlflow.log_metrics(shown_metrics({f"cv_{k}": v for k, v in metrics.items()}))
            mlflow.log_dict(metrics, "metrics/cv.json")
            mlflow.end_run(status="RUNNING")
        seconds = time.perf_counter() - started
        results.append(
            {
                "task": task,
                "model": model,
                "feature_set": feature_set,
                **metrics,
                "seconds": seconds,
            }
        )
        log.info(
            "%s %s %s: %s (%.1f s)",
            task,
            model,
            feature_set,
            ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()),
            seconds,
        )
        oof = oof.assign(
            run_id=run.info.run_id,
            task=task,
            feature_set=feature_set,
            model_type=model,
            scored_at=started_at,
        )
        predictions.append(oof)
        run_rows.append(
            {
                "run_id": run.info.run_id,
                "task": f"songs_{task}",
                "model_type": model,
                "feature_set": feature_set,
                "model_name": model,
                "data_origin": data_origin,
                "split_kind": f"{config.repeats}x {config.folds}-fold cv",
                "status": "FINISHED",
                "is_champion": False,
                "started_at": started_at,
                "finished_at": utc_now(),
                "duration_seconds": seconds,
                "n_train": len(frame),
                "features": ",".join(features),
                "metrics_json": json.dumps(metrics),
                "params_json": json.dumps(config.models[model]),
            }
        )
    try:
        _write(settings, pd.concat(predictions, ignore_index=True), pd.DataFrame(run_rows))
    except BaseException:
        _terminate(run_rows, "FAILED")
        raise
    _terminate(run_rows, "FINISHED")
    # The study's earlier runs of each (task, model, feature set) have the same name and
    # params: each says which run took its place (their predictions were replaced above).
    for row in run_rows:
        mark_superseded(
            experiment_id,
            f"tags.task = '{row['task']}' and tags.model_name = '{row['model_name']}'"
            f" and tags.feature_set = '{row['feature_set']}'",
            row["run_id"],
        )
    return results


def _terminate(run_rows: list[dict[str, Any]], status: str) -> None:
    """Close the study's MLflow runs: FINISHED once the warehouse holds them, else FAILED."""
    from datetime import UTC

    import mlflow

    client = mlflow.MlflowClient()
    for row in run_rows:
        # Each run ends when its work did (finished_at), not when the study closes them all:
        # MLflow's Duration column read 33.5 s for a run of 8.9 s, and 5.3 s for the last.
        ended = int(row["finished_at"].replace(tzinfo=UTC).timestamp() * 1000)
        client.set_terminated(row["run_id"], status, end_time=ended)


def _write(settings: Settings, predictions: pd.DataFrame, runs: pd.DataFrame) -> None:
    """Replace the study's predictions and add its runs, in one transaction."""
    columns = [
        "song_id",
        "run_id",
        "task",
        "feature_set",
        "model_type",
        "fold",
        "repeat",
        "actual_value",
        "predicted_value",
        "scored_at",
    ]
    with db.connect(settings.warehouse, read_only=False) as con:
        db.require_tables(con, catalog.SONG_PREDICTIONS, catalog.MODEL_RUNS)
        con.register("new_predictions", predictions[columns])
        con.register("new_runs", runs)
        run_columns = ", ".join(runs.columns)
        con.execute("begin transaction")
        try:
            con.execute(f"delete from {catalog.SONG_PREDICTIONS}")
            con.execute(
                f"insert into {catalog.SONG_PREDICTIONS} ({', '.join(columns)}) "
                f"select {', '.join(columns)} from new_predictions"
            )
            con.execute(
                f"insert into {catalog.MODEL_RUNS} ({run_columns}) "
                f"select {run_columns} from new_runs"
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def songs_step(settings: Settings, config_path: Path | None = None) -> StudySummary:
    """The `songs` step (the command and the ``songs`` asset): the study, its predictions in
    ``ml.song_predictions`` and its results table in the reports folder (read back from the
    warehouse, as the report writes it there too)."""
    from python_ml.warehouse.db import RunLock

    config = load_songs_config(config_path)
    with RunLock(settings.warehouse), step("2023 songs study (cross-validated)"):
        run_study(settings, config)
    with db.connect(settings.warehouse) as con:
        summary = study_results(con)
    if summary is None:  # the study's transaction commits its runs and predictions together
        raise RuntimeError("the 2023 songs study finished but the warehouse holds none of its runs")
    write_results_file(settings.reports_dir, summary)
    return summary
