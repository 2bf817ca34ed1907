"""Training the tracks task: every configured experiment on the same split and features, each
an MLflow run and an ``ml.model_runs`` row; the best validation model becomes the champion.

The warehouse is open only while reading the split and while writing run rows, never while a
model trains. If any experiment fails, its run is marked FAILED and the champion alias stays
where it was.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from python_ml import warehouse
from python_ml.config import Experiment, TracksConfig
from python_ml.evaluate import classification_metrics, flat_metrics
from python_ml.models import FittedModel, fit_model
from python_ml.settings import Settings

log = logging.getLogger(__name__)

LIBRARIES = [
    "scikit-learn",
    "tensorflow-cpu",
    "keras",
    "duckdb",
    "pandas",
    "numpy",
    "mlflow",
    "imbalanced-learn",
    "joblib",
]


class TrainingError(RuntimeError):
    """An experiment failed; the message names it and says the champion did not move."""


@dataclass
class TrackData:
    """Features (float32) and integer labels (`label`, the seed's class_index) of the train
    split and of the holdout (predict split joined to its true classes)."""

    class_names: list[str]
    train: pd.DataFrame
    holdout: pd.DataFrame
    fingerprint: str


@dataclass
class RunResult:
    experiment: Experiment
    run_id: str
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    model_uri: str | None = None


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def load_track_data(settings: Settings, features: list[str]) -> TrackData:
    """Read the split tables (read-only) in a fixed order, so the same data gives the same
    folds and metrics. Only the needed columns, as float32 with integer labels: at 10x the
    real size the frames are the bulk of training's memory."""
    columns = sorted({*features, "release_year"})
    for column in columns:
        warehouse.check_identifier(column)
    selected = ", ".join(f"cast(t.{c} as float) as {c}" for c in columns)
    with warehouse.connect(settings.warehouse) as con:
        warehouse.require_tables(
            con,
            warehouse.TRAIN_TRACKS,
            warehouse.PREDICT_TRACKS,
            warehouse.PREDICT_TRACK_CLASSES,
            warehouse.POPULARITY_CLASSES,
        )
        class_names = [
            r[0]
            for r in con.execute(
                f"select class_name from {warehouse.POPULARITY_CLASSES} order by class_index"
            ).fetchall()
        ]
        classes = f"join {warehouse.POPULARITY_CLASSES} as c on c.class_name = t.popularity_class"
        train = con.execute(
            f"select {selected}, c.class_index::tinyint as label "
            f"from {warehouse.TRAIN_TRACKS} as t {classes} order by t.track_id"
        ).df()
        holdout = con.execute(
            f"select {selected}, c.class_index::tinyint as label "
            f"from {warehouse.PREDICT_TRACKS} as t "
            f"join {warehouse.PREDICT_TRACK_CLASSES} as truth on truth.track_id = t.track_id "
            f"join {warehouse.POPULARITY_CLASSES} as c on c.class_name = truth.popularity_class "
            "order by t.track_id"
        ).df()
        fingerprint = con.execute(
            f"select md5(string_agg(track_id || ':' || popularity_class, ',' order by track_id))"
            f" from {warehouse.TRAIN_TRACKS}"
        ).fetchone()[0]
    if train.empty:
        raise TrainingError(
            f"{warehouse.TRAIN_TRACKS} is empty: no clean tracks reached the split. See "
            "marts.rpt_source_row_counts for why rows were rejected."
        )
    counts = train["label"].value_counts()
    missing = [name for i, name in enumerate(class_names) if counts.get(i, 0) == 0]
    if missing:
        raise TrainingError(
            f"{warehouse.TRAIN_TRACKS} has no tracks of class {missing}; every class needs "
            "training rows. Use a fuller tracks file, or change the thresholds in "
            "seeds/popularity_classes.csv."
        )
    return TrackData(class_names, train, holdout, fingerprint or "")


def _labels(frame: pd.DataFrame) -> np.ndarray:
    return frame["label"].to_numpy(dtype=np.int64)


def _fit_and_evaluate(
    experiment: Experiment, data: TrackData, config: TracksConfig
) -> tuple[FittedModel, dict[str, Any], dict[str, Any]]:
    classes = data.class_names
    y = _labels(data.train)
    x_fit, x_val, y_fit, y_val = train_test_split(
        data.train,
        y,
        test_size=config.validation_fraction,
        stratify=y,
        random_state=config.seed,
    )
    model = fit_model(
        experiment.model, experiment.features, classes, x_fit, y_fit, x_val, y_val, config.seed
    )
    metrics = {"validation": classification_metrics(y_val, model.predict_proba(x_val), classes)}
    if not data.holdout.empty:
        metrics["holdout"] = classification_metrics(
            _labels(data.holdout), model.predict_proba(data.holdout), classes
        )
    info = dict(model.info)
    info.update(n_train=len(x_fit), n_validation=len(x_val))
    time_split = _time_split_metrics(experiment, data, config)
    if time_split is not None:
        metrics["time_split"] = time_split
    return model, metrics, info


def _time_split_metrics(
    experiment: Experiment, data: TrackData, config: TracksConfig
) -> dict[str, Any] | None:
    """Forward in time: fit on releases up to the cut-off year, evaluate on later ones."""
    cutoff = config.time_split_cutoff_year
    before = data.train[data.train["release_year"] <= cutoff]
    after = data.train[data.train["release_year"] > cutoff]
    classes = data.class_names
    y_before = _labels(before)
    if len(after) < 100 or len(np.unique(y_before)) < len(classes):
        log.warning("time split at %d skipped: too few tracks or classes on a side", cutoff)
        return None
    x_fit, x_val, y_fit, y_val = train_test_split(
        before,
        y_before,
        test_size=config.validation_fraction,
        stratify=y_before,
        random_state=config.seed,
    )
    model = fit_model(
        experiment.model, experiment.features, classes, x_fit, y_fit, x_val, y_val, config.seed
    )
    result = classification_metrics(_labels(after), model.predict_proba(after), classes)
    result["cutoff_year"] = cutoff
    return result


def _run_experiment(
    experiment: Experiment, data: TrackData, config: TracksConfig, settings: Settings
) -> RunResult:
    import mlflow

    from python_ml.tracking import log_track_model

    started = time.perf_counter()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    versions = library_versions()
    with mlflow.start_run(run_name=experiment.label) as run:
        run_id = run.info.run_id
        result = RunResult(experiment, run_id, "RUNNING")
        try:
            mlflow.set_tags(
                {
                    "task": "tracks",
                    "model_type": experiment.model.type,
                    "feature_set": experiment.feature_set,
                    "data_fingerprint": data.fingerprint,
                    **{f"version.{k}": v for k, v in versions.items()},
                }
            )
            mlflow.log_params(
                {
                    "model": experiment.model.name,
                    "feature_set": experiment.feature_set,
                    "features": ",".join(experiment.features),
                    "seed": config.seed,
                    "validation_fraction": config.validation_fraction,
                    "time_split_cutoff_year": config.time_split_cutoff_year,
                    **{f"model.{k}": v for k, v in experiment.model.params.items()},
                }
            )
            model, metrics, info = _fit_and_evaluate(experiment, data, config)
            seconds = time.perf_counter() - started
            flat = {"train_seconds": seconds}
            for prefix, values in metrics.items():
                flat.update(flat_metrics(prefix, values))
                mlflow.log_dict(values, f"metrics/{prefix}.json")
            flat.update({k: float(v) for k, v in info.items()})
            mlflow.log_metrics(flat)
            model_uri = log_track_model(
                model, data.train, [f"{k}=={v}" for k, v in versions.items()]
            )
            result = RunResult(
                experiment,
                run_id,
                "FINISHED",
                metrics,
                time.perf_counter() - started,
                info,
                model_uri=model_uri,
            )
        except Exception as exc:  # recorded, then training as a whole fails
            log.error("%s failed: %s", experiment.label, exc)
            log.debug("%s", traceback.format_exc())
            result = RunResult(
                experiment,
                run_id,
                "FAILED",
                seconds=time.perf_counter() - started,
                error=f"{type(exc).__name__}: {exc}",
            )
            mlflow.set_tag("error", result.error[:5000])
            mlflow.end_run(status="FAILED")
    _record_run(settings, result, started_at, data, config)
    return result


def _record_run(
    settings: Settings,
    result: RunResult,
    started_at: datetime,
    data: TrackData,
    config: TracksConfig,
) -> None:
    val = result.metrics.get("validation", {})
    holdout = result.metrics.get("holdout", {})
    row = {
        "run_id": result.run_id,
        "task": "tracks",
        "model_type": result.experiment.model.type,
        "feature_set": result.experiment.feature_set,
        "split_kind": "random",
        "status": result.status,
        "is_champion": False,
        "registered_version": None,
        "started_at": started_at,
        "finished_at": datetime.now(UTC).replace(tzinfo=None),
        "duration_seconds": result.seconds,
        "epochs": result.info.get("epochs"),
        "n_train": result.info.get("n_train"),
        "n_validation": result.info.get("n_validation"),
        "validation_accuracy": val.get("accuracy"),
        "validation_macro_f1": val.get("macro_f1"),
        "validation_log_loss": val.get("log_loss"),
        "holdout_accuracy": holdout.get("accuracy"),
        "holdout_macro_f1": holdout.get("macro_f1"),
        "data_fingerprint": data.fingerprint,
        "features": ",".join(result.experiment.features),
        "params_json": json.dumps(
            {
                "model": result.experiment.model.name,
                **result.experiment.model.params,
                "seed": config.seed,
            }
        ),
        "metrics_json": json.dumps(result.metrics),
        "error_message": result.error,
    }
    frame = pd.DataFrame([row])
    with warehouse.connect(settings.warehouse, read_only=False) as con:
        warehouse.require_tables(con, warehouse.MODEL_RUNS)
        columns = ", ".join(row)
        con.register("new_run", frame)
        con.execute(
            f"insert or replace into {warehouse.MODEL_RUNS} ({columns}) "
            f"select {columns} from new_run"
        )


def _promote(settings: Settings, best: RunResult) -> int:
    """Register the best run's model and move the champion alias to it."""
    import mlflow

    from python_ml.tracking import CHAMPION, TRACK_MODEL_NAME

    registered = mlflow.register_model(best.model_uri, TRACK_MODEL_NAME)
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(TRACK_MODEL_NAME, CHAMPION, registered.version)
    with warehouse.connect(settings.warehouse, read_only=False) as con:
        con.execute("begin transaction")
        con.execute(f"update {warehouse.MODEL_RUNS} set is_champion = false where task = 'tracks'")
        con.execute(
            f"update {warehouse.MODEL_RUNS} set is_champion = true, "
            "registered_version = ? where run_id = ?",
            [int(registered.version), best.run_id],
        )
        con.execute("commit")
    return int(registered.version)


def train_tracks(
    settings: Settings, config: TracksConfig, only: list[str] | None = None
) -> list[RunResult]:
    from python_ml.tracking import TRACKS_EXPERIMENT, setup_mlflow

    experiments = [
        e for e in config.experiments if not only or e.label in only or e.model.name in only
    ]
    if not experiments:
        labels = [e.label for e in config.experiments]
        raise TrainingError(f"--only {only} matches no experiment (known: {labels})")
    data = load_track_data(settings, sorted({f for e in experiments for f in e.features}))
    log.info(
        "training on %s tracks (%s predict-side), classes %s, fingerprint %s",
        f"{len(data.train):,}",
        f"{len(data.holdout):,}",
        data.class_names,
        data.fingerprint[:12],
    )
    setup_mlflow(settings, TRACKS_EXPERIMENT)
    results = []
    for i, experiment in enumerate(experiments, start=1):
        log.info("[%d/%d] %s", i, len(experiments), experiment.label)
        result = _run_experiment(experiment, data, config, settings)
        results.append(result)
        if result.status == "FINISHED":
            val = result.metrics["validation"]
            log.info(
                "[%d/%d] %s: validation accuracy %.3f, macro-F1 %.3f (%.1f s)",
                i,
                len(experiments),
                experiment.label,
                val["accuracy"],
                val["macro_f1"],
                result.seconds,
            )
    failed = [r for r in results if r.status != "FINISHED"]
    if failed:
        raise TrainingError(
            "training failed for "
            + "; ".join(f"{r.experiment.label} ({r.error})" for r in failed)
            + ". Those runs are marked FAILED; the champion model was not changed."
        )
    metric = config.selection_metric
    best = max(results, key=lambda r: r.metrics["validation"][metric])
    score = best.metrics["validation"][metric]
    current = _current_champion(settings, metric, data.fingerprint)
    if current is not None and current[1] >= score:
        log.info(
            "champion stays %s (validation %s %.3f >= %.3f of %s)",
            current[0],
            metric,
            current[1],
            score,
            best.experiment.label,
        )
        return results
    version_number = _promote(settings, best)
    log.info(
        "champion: %s (run %s, version %d), validation %s %.3f",
        best.experiment.label,
        best.run_id,
        version_number,
        metric,
        score,
    )
    return results


def _current_champion(
    settings: Settings, metric: str, fingerprint: str
) -> tuple[str, float] | None:
    """The current champion's label and validation metric, if it was trained on the same data."""
    with warehouse.connect(settings.warehouse) as con:
        row = con.execute(
            f"select model_type || '/' || feature_set, validation_{metric} "
            f"from {warehouse.MODEL_RUNS} "
            "where task = 'tracks' and is_champion and data_fingerprint = ?",
            [fingerprint],
        ).fetchone()
    return (row[0], float(row[1])) if row else None
