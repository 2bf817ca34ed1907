"""The 2023 songs study: log(streams) regression and top-10% classification, each with an
audio-only feature set and with audio + release date + playlist/chart reach, measured by
k-fold cross-validation. Out-of-fold predictions go to ``ml.song_predictions``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
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

from python_ml import warehouse
from python_ml.config import CONFIG_DIR, ConfigError
from python_ml.settings import Settings

log = logging.getLogger(__name__)

KEYS = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
SONG_COLUMNS = {
    "bpm",
    "key_index",
    "mode_major",
    "danceability_pct",
    "valence_pct",
    "energy_pct",
    "acousticness_pct",
    "instrumentalness_pct",
    "liveness_pct",
    "speechiness_pct",
    "released_year",
    "released_month",
    "released_day",
    "artist_count",
    "in_spotify_playlists",
    "in_spotify_charts",
    "in_apple_playlists",
    "in_apple_charts",
    "in_deezer_playlists",
    "in_deezer_charts",
    "in_shazam_charts",
}
MODEL_PARAMS = {
    "random_forest": {"n_estimators", "min_samples_leaf"},
    "gradient_boosting": {"max_iter", "learning_rate"},
}
TASKS = ("log_streams", "top_decile")


@dataclass(frozen=True)
class SongsConfig:
    seed: int
    folds: int
    feature_sets: dict[str, list[str]]
    models: dict[str, dict[str, Any]]


def load_songs_config(path: Path | None = None) -> SongsConfig:
    path = path or CONFIG_DIR / "songs_2023.yml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    where = path.name
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping")
    for key in raw:
        if key not in {"seed", "folds", "feature_sets", "models"}:
            raise ConfigError(f"{where}: {key} is not a known key")
    folds = raw.get("folds")
    if not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"{where}: folds must be an integer >= 2, got {folds!r}")
    for name, features in raw.get("feature_sets", {}).items():
        unknown = [f for f in features if f not in SONG_COLUMNS]
        if unknown:
            raise ConfigError(f"{where}: feature_sets.{name} names unknown columns {unknown}")
    for name, params in raw.get("models", {}).items():
        if name not in MODEL_PARAMS:
            raise ConfigError(f"{where}: models.{name} is not one of {sorted(MODEL_PARAMS)}")
        extra = set(params) - MODEL_PARAMS[name]
        if extra:
            raise ConfigError(f"{where}: models.{name}.{sorted(extra)[0]} is not a parameter")
    return SongsConfig(int(raw.get("seed", 42)), folds, raw["feature_sets"], raw["models"])


def load_songs(settings: Settings) -> pd.DataFrame:
    with warehouse.connect(settings.warehouse) as con:
        warehouse.require_tables(con, warehouse.SONGS_2023)
        frame = con.execute(f"select * from {warehouse.SONGS_2023} order by song_key").df()
    frame["key_index"] = frame["key"].map({k: i for i, k in enumerate(KEYS)}).astype(float)
    frame["mode_major"] = (frame["mode"] == "Major").astype(float)
    return frame


def _estimator(task: str, model: str, params: dict[str, Any], seed: int) -> Any:
    if model == "random_forest":
        cls = RandomForestRegressor if task == "log_streams" else RandomForestClassifier
        extra = {} if task == "log_streams" else {"class_weight": "balanced"}
        est = cls(random_state=seed, n_jobs=-1, **params, **extra)
    else:
        cls = (
            HistGradientBoostingRegressor
            if task == "log_streams"
            else (HistGradientBoostingClassifier)
        )
        est = cls(random_state=seed, **params)
    return make_pipeline(SimpleImputer(strategy="median"), est)


def cross_validate(
    frame: pd.DataFrame, task: str, model: str, features: list[str], config: SongsConfig
) -> tuple[dict[str, float], pd.DataFrame]:
    """Out-of-fold predictions and the metrics computed on them."""
    x = frame[features].astype(float)
    if task == "log_streams":
        y = frame["log_streams"].to_numpy()
        splitter = KFold(config.folds, shuffle=True, random_state=config.seed)
        splits = splitter.split(x)
    else:
        y = frame["is_top_decile"].astype(int).to_numpy()
        splitter = StratifiedKFold(config.folds, shuffle=True, random_state=config.seed)
        splits = splitter.split(x, y)
    predicted = np.zeros(len(y))
    fold_of = np.zeros(len(y), dtype=int)
    for fold, (fit_idx, test_idx) in enumerate(splits):
        est = _estimator(task, model, config.models[model], config.seed)
        est.fit(x.iloc[fit_idx], y[fit_idx])
        if task == "log_streams":
            predicted[test_idx] = est.predict(x.iloc[test_idx])
        else:
            predicted[test_idx] = est.predict_proba(x.iloc[test_idx])[:, 1]
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
        }
    out = pd.DataFrame(
        {
            "song_id": frame["song_key"],
            "fold": fold_of,
            "actual_value": y.astype(float),
            "predicted_value": predicted,
        }
    )
    return metrics, out


def run_study(settings: Settings, config: SongsConfig) -> list[dict[str, Any]]:
    import mlflow

    from python_ml.tracking import SONGS_EXPERIMENT, setup_mlflow

    frame = load_songs(settings)
    log.info(
        "2023 songs: %d clean songs, top decile = %d songs",
        len(frame),
        int(frame["is_top_decile"].sum()),
    )
    setup_mlflow(settings, SONGS_EXPERIMENT)
    results, predictions, run_rows = [], [], []
    for task in TASKS:
        for feature_set, features in config.feature_sets.items():
            for model in config.models:
                started = time.perf_counter()
                started_at = datetime.now(UTC).replace(tzinfo=None)
                with mlflow.start_run(run_name=f"{task}/{model}/{feature_set}") as run:
                    mlflow.set_tags(
                        {"task": f"songs_{task}", "model_type": model, "feature_set": feature_set}
                    )
                    mlflow.log_params(
                        {
                            "features": ",".join(features),
                            "folds": config.folds,
                            "seed": config.seed,
                            **config.models[model],
                        }
                    )
                    metrics, oof = cross_validate(frame, task, model, features, config)
                    mlflow.log_metrics({f"cv_{k}": v for k, v in metrics.items()})
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
                        "split_kind": f"{config.folds}-fold cv",
                        "status": "FINISHED",
                        "is_champion": False,
                        "started_at": started_at,
                        "finished_at": datetime.now(UTC).replace(tzinfo=None),
                        "duration_seconds": seconds,
                        "n_train": len(frame),
                        "features": ",".join(features),
                        "metrics_json": json.dumps(metrics),
                        "params_json": json.dumps(config.models[model]),
                    }
                )
    _write(settings, pd.concat(predictions, ignore_index=True), pd.DataFrame(run_rows))
    return results


def _write(settings: Settings, predictions: pd.DataFrame, runs: pd.DataFrame) -> None:
    """Replace the study's predictions and add its runs, in one transaction."""
    columns = [
        "song_id",
        "run_id",
        "task",
        "feature_set",
        "model_type",
        "fold",
        "actual_value",
        "predicted_value",
        "scored_at",
    ]
    with warehouse.connect(settings.warehouse, read_only=False) as con:
        warehouse.require_tables(con, warehouse.SONG_PREDICTIONS, warehouse.MODEL_RUNS)
        con.register("new_predictions", predictions[columns])
        con.register("new_runs", runs)
        run_columns = ", ".join(runs.columns)
        con.execute("begin transaction")
        try:
            con.execute(f"delete from {warehouse.SONG_PREDICTIONS}")
            con.execute(
                f"insert into {warehouse.SONG_PREDICTIONS} ({', '.join(columns)}) "
                f"select {', '.join(columns)} from new_predictions"
            )
            con.execute(
                f"insert into {warehouse.MODEL_RUNS} ({run_columns}) "
                f"select {run_columns} from new_runs"
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def results_table(results: list[dict[str, Any]]) -> str:
    """A Markdown table of the study's results."""
    lines = [
        "| task | model | feature set | RMSE | R² | precision | recall | F1 | ROC AUC |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cells = [
            f"{r[k]:.3f}" if k in r else ""
            for k in ("rmse", "r2", "precision", "recall", "f1", "roc_auc")
        ]
        lines.append(
            f"| {r['task']} | {r['model']} | {r['feature_set']} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)
