"""Training the tracks task: every configured experiment on the same split and features, each
an MLflow run and an ``ml.model_runs`` row. The other responsibilities live apart: loading the
split (tracks/data.py), the models and their fit (tracks/models.py), run recording shared with
the songs study (tracking/runs.py, tracking/registry.py) and the champion policy
(tracks/champion.py), which picks the model that scores.

One procedure fits every model, wherever it is evaluated (:func:`fit_procedure`): the rows are
split into a *fit* fold, a *calibration* fold (the network's early stopping, temperature
scaling) and a *validation* fold (the decision rule, the champion). The model is fitted on the
natural class mix; its probabilities are calibrated when validation says it helps; then
per-class decision weights are tuned on validation for the selection metric.

Each run reports validation figures, a forward-in-time check (the procedure on releases up to
a cut-off year, evaluated on later ones) and a new-artist check (the procedure without a
held-out tenth of the artists, evaluated on their tracks). Holdout figures (the predict split)
are computed for the champion only, when it scores.

The warehouse is open only while reading the split and while writing run rows, never while a
model trains. If any experiment fails, its run is marked FAILED and the champion alias stays.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import queue
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from python_ml.clock import utc_now
from python_ml.processes import process_alive
from python_ml.raw import origin
from python_ml.settings import Settings
from python_ml.steps import step
from python_ml.tracking.runs import library_versions, record_runs
from python_ml.tracks import champion
from python_ml.tracks.config import ConfigError, Experiment, TracksConfig
from python_ml.tracks.data import TrackData, TrainingError, load_track_data
from python_ml.tracks.evaluate import (
    CALIBRATION_MIN_GAIN,
    apply_temperature,
    bootstrap_interval,
    classification_metrics,
    decide,
    fit_temperature,
    flat_metrics,
    tune_decision_weights,
)
from python_ml.tracks.explain import permutation_importance
from python_ml.tracks.models import FittedModel, fit_model, prepare
from python_ml.warehouse import catalog, db

log = logging.getLogger(__name__)

MIN_CHECK_ROWS = 100


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
    validation_pred: np.ndarray | None = None
    reused: bool = False  # a finished run with the same inputs, not fitted again
    model_path: str | None = None  # the model folder, relative to MUSIC_MLFLOW_DIR


@dataclass
class Procedure:
    """A model fitted by :func:`fit_procedure` and its validation fold."""

    model: FittedModel
    y_val: np.ndarray
    val_proba: np.ndarray
    n_fit: int
    n_validation: int
    x_val: pd.DataFrame | None = None


_CACHE_LOCK = threading.Lock()
_RECORD_LOCK = threading.Lock()


def _cached(cache: dict[str, Any] | None, key: str, compute: Any) -> Any:
    """``cache[key]``, computed by ``compute()`` once even when experiments running side by
    side ask for it at the same time (each key has its own lock)."""
    if cache is None:
        return compute()
    with _CACHE_LOCK:
        lock = cache.setdefault("_locks", {}).setdefault(key, threading.Lock())
    with lock:
        if key not in cache:
            cache[key] = compute()
    return cache[key]


def _labels(frame: pd.DataFrame) -> np.ndarray:
    return frame["label"].to_numpy(dtype=np.int64)


def folds(rows: pd.DataFrame, config: TracksConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of the fit, calibration and validation folds in ``rows`` (stratified)."""
    y = _labels(rows)
    rest, val = train_test_split(
        np.arange(len(rows)),
        test_size=config.validation_fraction,
        stratify=y,
        random_state=config.seed,
    )
    fit, cal = train_test_split(
        rest, test_size=config.calibration_fraction, stratify=y[rest], random_state=config.seed
    )
    return fit, cal, val


def fit_procedure(
    experiment: Experiment,
    rows: pd.DataFrame,
    classes: list[str],
    config: TracksConfig,
    cache: dict[str, Any] | None = None,
    key: str = "",
) -> Procedure:
    """Fit -> calibrate -> tune the decision rule, on folds of ``rows`` (see the module doc).
    With a ``cache``, the folds of ``rows`` are computed once under ``key``."""
    y = _labels(rows)
    fit, cal, val = _cached(cache, f"folds:{key}", lambda: folds(rows, config))
    x_fit, x_cal, x_val = rows.iloc[fit], rows.iloc[cal], rows.iloc[val]
    # The folds' preprocessing is the same for every experiment with these features: fitted
    # once per fold and feature list (the median imputer alone takes seconds on 500k rows).
    features = experiment.features

    def prepare_folds() -> tuple[Any, np.ndarray]:
        prepared = prepare(features, x_fit, x_cal)
        xt_val = prepared.preprocessor.transform(x_val[features]).astype(np.float32)
        xt_val.setflags(write=False)
        return prepared, xt_val

    prepared, xt_val = _cached(cache, f"prepared:{key}:{','.join(features)}", prepare_folds)
    model = fit_model(
        experiment.model,
        features,
        classes,
        x_fit,
        y[fit],
        x_cal,
        y[cal],
        config.seed,
        prepared,
    )
    raw_val = model.raw_proba(x_val, x=xt_val)
    temperature = fit_temperature(y[cal], model.raw_proba(x_cal, x=prepared.x_val))
    before = classification_metrics(y[val], raw_val, classes)["log_loss"]
    after = classification_metrics(y[val], apply_temperature(raw_val, temperature), classes)
    if after["log_loss"] < before - CALIBRATION_MIN_GAIN:
        model.temperature = temperature
    model.info["temperature_fitted"] = temperature
    val_proba = apply_temperature(raw_val, model.temperature)
    model.decision_weights = tune_decision_weights(
        y[val], val_proba, config.selection_metric, config.max_accuracy_loss
    )
    return Procedure(model, y[val], val_proba, len(fit), len(val), x_val)


def _check(
    experiment: Experiment,
    fit_rows: pd.DataFrame,
    eval_rows: pd.DataFrame,
    classes: list[str],
    config: TracksConfig,
    name: str,
    cache: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The whole procedure on ``fit_rows``, evaluated on ``eval_rows``."""
    present = np.unique(_labels(fit_rows))
    if len(eval_rows) < MIN_CHECK_ROWS or len(present) < len(classes):
        log.warning("%s check skipped: too few tracks or classes on a side", name)
        return None
    if _labels(fit_rows).size and np.bincount(_labels(fit_rows)).min() < 10:
        log.warning("%s check skipped: a class has fewer than 10 fitting tracks", name)
        return None
    procedure = fit_procedure(experiment, fit_rows, classes, config, cache, name)
    model = procedure.model

    # The evaluated rows' preprocessing: shared like the folds' (same fitted preprocessor).
    def transformed() -> np.ndarray:
        x = model.transform(eval_rows)
        x.setflags(write=False)
        return x

    x_eval = _cached(cache, f"evaluated:{name}:{','.join(experiment.features)}", transformed)
    return classification_metrics(
        _labels(eval_rows),
        model.predict_proba(eval_rows, x=x_eval),
        classes,
        model.decision_weights,
    )


def time_split_check(
    experiment: Experiment, data: TrackData, config: TracksConfig
) -> dict[str, Any] | None:
    """Forward in time: the procedure on releases up to the cut-off year, figures on later."""
    cutoff = config.time_split_cutoff_year
    year = data.train["release_year"]
    result = _check(
        experiment,
        data.train[year <= cutoff],
        data.train[year > cutoff],
        data.class_names,
        config,
        f"time split at {cutoff}",
        data.cache,
    )
    if result is not None:
        result["cutoff_year"] = cutoff
    return result


def new_artist_check(
    experiment: Experiment, data: TrackData, config: TracksConfig
) -> dict[str, Any] | None:
    """New artists: a tenth of the first artists are held out with all their tracks; the
    procedure runs on the rest, figures on the held-out artists' tracks."""

    def split() -> tuple[np.ndarray, np.ndarray]:
        splitter = GroupShuffleSplit(
            n_splits=1, test_size=config.new_artist_fraction, random_state=config.seed
        )
        return next(splitter.split(data.train, groups=data.train["group_id"]))

    known, new = _cached(data.cache, "new_artist_split", split)
    result = _check(
        experiment,
        data.train.iloc[known],
        data.train.iloc[new],
        data.class_names,
        config,
        "new-artist",
        data.cache,
    )
    if result is not None:
        result["held_out_artists"] = int(data.train["group_id"].iloc[new].nunique())
    return result


def _fit_and_evaluate(
    experiment: Experiment, data: TrackData, config: TracksConfig
) -> tuple[FittedModel, dict[str, Any], dict[str, Any], np.ndarray]:
    procedure = fit_procedure(experiment, data.train, data.class_names, config, data.cache, "all")
    model = procedure.model
    validation = classification_metrics(
        procedure.y_val, procedure.val_proba, data.class_names, model.decision_weights
    )
    # How far the validation macro-F1 could move on another draw of the fold: the report's
    # model comparison draws it beside each bar (the champion rule's paired test is stricter).
    validation["macro_f1_low"], validation["macro_f1_high"] = bootstrap_interval(
        procedure.y_val,
        decide(procedure.val_proba, model.decision_weights),
        len(data.class_names),
        "macro_f1",
        seed=config.seed,
    )
    metrics: dict[str, Any] = {"validation": validation}
    metrics[IMPORTANCE] = permutation_importance(
        model, procedure.x_val, procedure.y_val, config.seed
    )
    for name, check in (("time_split", time_split_check), ("new_artist", new_artist_check)):
        result = check(experiment, data, config)
        if result is not None:
            metrics[name] = result
    info = dict(model.info)
    info.update(
        n_train=procedure.n_fit,
        n_validation=procedure.n_validation,
        temperature=model.temperature,
    )
    return model, metrics, info, model.decide(procedure.val_proba)


# What a finished run's result depends on besides its data and config: the code of training
# (the modules of python_ml/tracks and python_ml/tracking it runs: codebase.MODEL_CODE; not
# predict's or the service's) and the libraries that change results.
REUSE_TAG = "reuse_key"
CODE_VERSION_TAG = "code_version"  # code_version(), on each run fitted
REUSED_AT_TAG = "reused_at"  # when a training last took the run as it was (UTC)
IMPORTANCE = "importance"  # the metrics entry of the permutation importance
MODEL_URI_TAG = "model_uri"
SPLIT_SEED_PARAM = "split_seed"  # the MLflow param: dbt's var the train split was cut with
UNKNOWN_SPLIT_SEED = "unknown"  # its value for a split built before the seed was recorded


def shown_split_seed(data: TrackData) -> str:
    """The split seed as a run's MLflow param and description give it."""
    return UNKNOWN_SPLIT_SEED if data.split_seed is None else data.split_seed


@cache
def code_version() -> str:
    """A hash of the training code: a change to any module of it makes every run stale."""
    from python_ml.codebase import MODEL_CODE, code_digest

    return code_digest(__name__, MODEL_CODE)


def content_digest(data: TrackData, features: list[str]) -> str:
    """md5 of the rows an experiment reads, as read (its features, the labels, the artists the
    new-artist check groups by, the release years the time split cuts at): the fingerprint
    names the tracks and classes only, so a changed feature value must change this."""
    key = "content:" + ",".join(features)
    if key not in data.cache:
        columns = sorted({*features, "release_year", "label", "group_id"})
        hashed = pd.util.hash_pandas_object(data.train[columns], index=False).to_numpy()
        data.cache[key] = hashlib.md5(hashed.tobytes()).hexdigest()
    return data.cache[key]


def procedure_settings(config: TracksConfig) -> dict[str, Any]:
    """The settings of tracks.yml every experiment is fitted and judged under: part of each
    run's reuse key, and logged as its params (selection_metric and max_accuracy_loss, which
    the decision rule and so every accuracy and macro-F1 depend on, were not)."""
    return {
        "seed": config.seed,
        "validation_fraction": config.validation_fraction,
        "calibration_fraction": config.calibration_fraction,
        "new_artist_fraction": config.new_artist_fraction,
        "time_split_cutoff_year": config.time_split_cutoff_year,
        "max_accuracy_loss": config.max_accuracy_loss,
        "selection_metric": config.selection_metric,
    }


def reuse_key(experiment: Experiment, data: TrackData, config: TracksConfig) -> str:
    """Everything a run's figures and model depend on: the train table's fingerprint and the
    content of the rows the experiment reads, the split seed they were cut with, its resolved
    parameters and features, the procedure's settings and seed, the classes, the training code
    and the library versions. Equal keys, equal runs (and equal records: a reused run's
    split_seed param is the training's)."""
    payload = {
        "data": data.fingerprint,
        "content": content_digest(data, experiment.features),
        # Recorded with the run (its param split_seed): a run is reused only under its own.
        "split_seed": data.split_seed,
        "classes": data.class_names,
        "model": experiment.model.name,
        "type": experiment.model.type,
        "params": experiment.model.params,
        "features": experiment.features,
        "procedure": procedure_settings(config),
        "code": code_version(),
        "libraries": library_versions(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def model_files_digest(folder: Path) -> str:
    """The SHA-256 of a logged model folder's files (their paths and bytes): recorded with the
    run's result, so a run whose files were damaged since is not reused."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def reusable_run(
    settings: Settings, experiment: Experiment, key: str
) -> tuple[RunResult, Any] | None:
    """A finished MLflow run with the same reuse key whose model files and results are all
    still there, as the result it gave (and its MLflow run); None when there is none. A run
    whose model files differ from those it logged (damaged: the champion's message sent the
    user to `train`, which reused it and kept the damaged model) is fitted again."""
    import mlflow

    from python_ml.tracking.registry import MODEL_RELPATH_TAG

    runs = mlflow.search_runs(
        filter_string=f"tags.{REUSE_TAG} = '{key}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=5,
        output_format="list",
    )
    for run in runs:
        tags = run.data.tags
        relpath, model_uri = tags.get(MODEL_RELPATH_TAG), tags.get(MODEL_URI_TAG)
        if (
            not relpath
            or not model_uri
            or not (settings.mlflow_dir / relpath / "MLmodel").is_file()
        ):
            continue
        try:
            saved = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/result.json")
        except Exception:  # an older run, or its artifacts are gone: fit again
            continue
        logged = saved.get("model_sha256")  # (runs logged before 2026-12-07 have none)
        if logged and model_files_digest(settings.mlflow_dir / relpath) != logged:
            log.warning(
                "%s: the model files of run %s in %s are not those it logged (damaged or "
                "edited since): not reused, fitted again",
                experiment.label,
                run.info.run_id,
                settings.mlflow_dir / relpath,
            )
            continue
        result = RunResult(
            experiment,
            run.info.run_id,
            "FINISHED",
            saved["metrics"],
            float(saved["seconds"]),
            saved["info"],
            model_uri=model_uri,
            validation_pred=np.asarray(saved["validation_pred"], dtype=np.int64),
            model_path=relpath,
        )
        return result, run
    return None


def _run_experiment(
    experiment: Experiment, data: TrackData, config: TracksConfig, settings: Settings, key: str
) -> RunResult:
    import mlflow

    from python_ml.tracking.registry import (
        MODEL_RELPATH_TAG,
        log_track_model,
        mark_superseded,
        model_relpath,
        shown_metrics,
    )

    started = time.perf_counter()
    started_at = utc_now()
    versions = library_versions()
    with mlflow.start_run(run_name=experiment.label) as run:
        run_id = run.info.run_id
        with _IN_FLIGHT_LOCK:
            if _STOPPED.is_set():  # interrupted while this run was being opened
                mlflow.end_run(status="KILLED")
                return RunResult(experiment, run_id, "KILLED", error="interrupted")
            _IN_FLIGHT[run_id] = experiment.label
        result = RunResult(experiment, run_id, "RUNNING")
        try:
            mlflow.set_tags(
                {
                    "task": "tracks",
                    "model_name": experiment.model.name,
                    "model_type": experiment.model.type,
                    "feature_set": experiment.feature_set,
                    "data_fingerprint": data.fingerprint,
                    "data_origin": data.data_origin,
                    # The run page's description: what it is and the data it learnt from.
                    "mlflow.note.content": (
                        f"{experiment.label}, trained on {data.data_origin} data (split seed "
                        f"{shown_split_seed(data)}, training table fingerprint "
                        f"{data.fingerprint[:12]})"
                    ),
                    REUSE_TAG: key,
                    # The training code's own version (of python_ml's files, as the reuse key
                    # has it): MLflow's git commit tag is the same for an edit not committed.
                    CODE_VERSION_TAG: code_version(),
                    # Who fits it: a later `train` marks it KILLED if this process is gone.
                    FITTED_BY_TAG: f"{socket.gethostname()}:{os.getpid()}",
                    **{f"version.{k}": v for k, v in versions.items()},
                }
            )
            with _RECORD_LOCK:  # MLflow adds the dataset to the experiment once: one at a time
                _log_dataset(data)
            mlflow.log_params(
                {
                    "model": experiment.model.name,
                    "feature_set": experiment.feature_set,
                    "features": ",".join(experiment.features),
                    # dbt's var the train split was cut with (runs of two seeds otherwise
                    # share their name and every other param).
                    SPLIT_SEED_PARAM: shown_split_seed(data),
                    **procedure_settings(config),
                    **{f"model.{k}": v for k, v in experiment.model.params.items()},
                }
            )
            model, metrics, info, validation_pred = _fit_and_evaluate(experiment, data, config)
            seconds = time.perf_counter() - started
            flat = {"train_seconds": seconds}
            for prefix, values in metrics.items():
                mlflow.log_dict(values, f"metrics/{prefix}.json")
                if prefix == IMPORTANCE:
                    for feature, rise in values["features"].items():
                        flat[f"importance_{feature}"] = rise["mean"]
                else:
                    flat.update(flat_metrics(prefix, values))
            flat.update({k: float(v) for k, v in info.items() if isinstance(v, int | float)})
            mlflow.log_metrics(shown_metrics(flat))
            mlflow.log_dict(
                {"class_names": data.class_names, "decision_weights": model.decision_weights},
                "decision_rule.json",
            )
            model_uri = log_track_model(
                model, data.train, [f"{k}=={v}" for k, v in versions.items()]
            )
            relpath = model_relpath(settings, model_uri)
            mlflow.set_tag(MODEL_RELPATH_TAG, relpath)
            mlflow.set_tag(MODEL_URI_TAG, model_uri)
            # What a later run with the same reuse key takes instead of fitting again, with the
            # time the warehouse records (two readings differed: 101.0 s in the marts, 100.9 s
            # in the log of a training that reused the run).
            total_seconds = time.perf_counter() - started
            mlflow.log_dict(
                {
                    "metrics": metrics,
                    "info": {k: v for k, v in info.items() if isinstance(v, int | float | str)},
                    "seconds": total_seconds,
                    "validation_pred": validation_pred.tolist(),
                    "model_sha256": model_files_digest(settings.mlflow_dir / relpath),
                },
                "result.json",
            )
            result = RunResult(
                experiment,
                run_id,
                "FINISHED",
                metrics,
                total_seconds,
                info,
                model_uri=model_uri,
                validation_pred=validation_pred,
                model_path=relpath,
            )
        except Exception as exc:  # recorded, then training as a whole fails
            result = RunResult(
                experiment,
                run_id,
                "FAILED",
                seconds=time.perf_counter() - started,
                error=f"{type(exc).__name__}: {exc}",
            )
            # Where it was raised, in the one line (enough to tell an injected or known failure
            # from a library's); the whole traceback is kept with the FAILED run in MLflow.
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = "/".join(Path(frame.filename).parts[-2:])
            log.error(
                "%s failed: %s (raised at %s:%s in %s)",
                experiment.label,
                exc,
                where,
                frame.lineno,
                frame.name,
            )
            trace = traceback.format_exc()
            log.debug("%s", trace)
            try:
                mlflow.log_text(trace, "error_traceback.txt")
            except Exception as err:  # the artifact store failing: the run's tag says what failed
                log.warning("could not keep the traceback with run %s: %s", run_id, err)
            mlflow.set_tag("error", result.error[:5000])
            mlflow.end_run(status="FAILED")
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.pop(run_id, None)
        if _STOPPED.is_set():  # interrupted: the run is KILLED, not recorded
            return result
    with _RECORD_LOCK:  # one warehouse writer at a time among experiments fitting side by side
        record_runs(settings, [_run_row(result, started_at, data, config)])
    if result.status == "FINISHED":
        mark_superseded(run.info.experiment_id, f"tags.{REUSE_TAG} = '{key}'", run_id)
    return result


def utc_from_ms(ms: int | None) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp((ms or 0) / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _record_reuse(
    settings: Settings, result: RunResult, run: Any, data: TrackData, config: TracksConfig
) -> None:
    """A reused run's ml.model_runs row says this training reused it (``reused_at``, now):
    the run keeps its one row, with the fit's own start, end and duration, so a reader does
    not take it for a fit of this training, and nothing counts it twice. A run fitted for
    another warehouse on the same data gets its row here, with the times MLflow recorded for
    its fit; an existing row keeps everything else, its champion flag included."""
    from datetime import UTC, datetime

    import mlflow

    from python_ml.tracking.registry import SUPERSEDED_TAG
    from python_ml.tracking.runs import mark_reused

    reused_at = utc_now()
    # MLflow says so too: the run is current again (a run whose successor lost its files).
    client = mlflow.MlflowClient()
    try:
        client.set_tag(result.run_id, REUSED_AT_TAG, f"{reused_at:%Y-%m-%d %H:%M:%S} UTC")
        if SUPERSEDED_TAG in run.data.tags:
            client.delete_tag(result.run_id, SUPERSEDED_TAG)
    except mlflow.exceptions.MlflowException as exc:  # a label only: the reuse stands
        log.warning("could not tag run %s as reused in MLflow: %s", result.run_id, exc)
    with db.connect(settings.warehouse) as con:
        known = con.execute(
            f"select count(*) from {catalog.MODEL_RUNS} where run_id = ?", [result.run_id]
        ).fetchone()[0]
    if known:
        mark_reused(settings, result.run_id, reused_at)
        return
    started = datetime.fromtimestamp(run.info.start_time / 1000, UTC).replace(tzinfo=None)
    row = _run_row(result, started, data, config)
    row["finished_at"] = datetime.fromtimestamp(run.info.end_time / 1000, UTC).replace(tzinfo=None)
    row["reused_at"] = reused_at
    record_runs(settings, [row])


def _log_dataset(data: TrackData) -> None:
    """The training table as the run's MLflow dataset: name, rows, fingerprint."""
    import mlflow

    from python_ml.tracking.registry import log_table_input

    log_table_input(data.train, catalog.TRAIN_TRACKS, data.data_origin, data.fingerprint)
    # The split's rows; the model is fitted on fewer (metric n_train: validation and
    # calibration rows held out of it).
    mlflow.log_param("train_split_rows", len(data.train))


def _run_row(
    result: RunResult, started_at: Any, data: TrackData, config: TracksConfig
) -> dict[str, Any]:
    val = result.metrics.get("validation", {})
    return {
        "run_id": result.run_id,
        "task": "tracks",
        "model_name": result.experiment.model.name,
        "model_type": result.experiment.model.type,
        "feature_set": result.experiment.feature_set,
        "split_kind": "random",
        "status": result.status,
        "data_origin": data.data_origin,
        "is_champion": False,
        "registered_version": None,
        "started_at": started_at,
        "finished_at": utc_now(),
        "duration_seconds": result.seconds,
        "epochs": result.info.get("epochs"),
        "n_train": result.info.get("n_train"),
        "n_validation": result.info.get("n_validation"),
        "temperature": result.info.get("temperature"),
        "decision_weights": json.dumps(val.get("decision_weights")) if val else None,
        "validation_accuracy": val.get("accuracy"),
        "validation_macro_f1": val.get("macro_f1"),
        "validation_argmax_accuracy": val.get("argmax_accuracy"),
        "validation_argmax_macro_f1": val.get("argmax_macro_f1"),
        "validation_log_loss": val.get("log_loss"),
        "validation_brier": val.get("brier"),
        "validation_ece": val.get("ece"),
        "validation_confident_calls": val.get("confident_calls"),
        "validation_confident_errors": val.get("confident_errors"),
        "validation_confident_expected_errors": val.get("confident_expected_errors"),
        "data_fingerprint": data.fingerprint,
        "split_seed": data.split_seed,
        "features": ",".join(result.experiment.features),
        "params_json": json.dumps(
            {
                "model": result.experiment.model.name,
                **result.experiment.model.params,
                **procedure_settings(config),
            }
        ),
        "metrics_json": json.dumps(result.metrics),
        "error_message": result.error,
        "model_path": result.model_path,
    }


def check_data_fits_config(
    data: TrackData, experiments: list[Experiment], config: TracksConfig
) -> None:
    """Before any fit: the config's time split lies inside the data, and no experiment's
    feature set has a feature that is missing on every training track."""
    years = data.train["release_year"].dropna()
    cutoff = config.time_split_cutoff_year
    if years.empty or not years.min() <= cutoff < years.max():
        raise ConfigError(
            f"{config.source}: time_split_cutoff_year {cutoff} must lie inside the training "
            f"tracks' release years ({years.min():.0f}-{years.max():.0f}) so that both sides of "
            "the forward-in-time check have tracks. Change it in the config."
        )
    reported: set[str] = set()
    for experiment in experiments:
        empty = [f for f in experiment.features if data.train[f].isna().all()]
        if empty and experiment.feature_set not in reported:
            reported.add(experiment.feature_set)
            raise TrainingError(
                f"feature set {experiment.feature_set} ({config.source}): {empty} are missing "
                f"on every training track. For artist features, artists.csv matches no "
                "track's first artist: check that it belongs to tracks.csv, or train on a "
                "feature set without them (--only)."
            )


def select_experiments(config: TracksConfig, only: list[str] | None) -> list[Experiment]:
    experiments = [
        e for e in config.experiments if not only or e.label in only or e.model.name in only
    ]
    if not experiments:
        labels = [e.label for e in config.experiments]
        raise TrainingError(f"--only {only} matches no experiment (known: {labels})")
    return experiments


_IN_FLIGHT: dict[str, str] = {}  # the MLflow runs being fitted now: run id -> experiment
_IN_FLIGHT_LOCK = threading.Lock()
_STOPPED = threading.Event()  # set on Ctrl-C: a run opened after it is ended KILLED at once


def _fit_side_by_side(
    items: list[tuple[int, Experiment, str]], workers: int, fit_one: Any
) -> dict[int, RunResult]:
    """``fit_one(*item)`` for every item, ``workers`` at a time, in this order. On Ctrl-C
    (or SIGTERM) nothing new starts and the call returns at once: the fits under way are
    left to the process's exit (the workers are daemon threads) and their MLflow runs are
    marked KILLED; finished runs stay recorded, and the next `train` reuses them."""
    from python_ml.progress import bar

    _STOPPED.clear()
    todo: queue.SimpleQueue[tuple[int, Experiment, str]] = queue.SimpleQueue()
    for item in items:
        todo.put(item)
    done: dict[int, RunResult | BaseException] = {}
    stop = threading.Event()

    with bar(len(items), "training", unit="model") as progress:

        def work() -> None:
            while not stop.is_set():
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    done[item[0]] = fit_one(*item)
                except BaseException as exc:  # raised in the caller's thread, below
                    done[item[0]] = exc
                progress.update()

        threads = [
            threading.Thread(target=work, name=f"train-{k}", daemon=True) for k in range(workers)
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)  # a short wait: Ctrl-C is seen at once
        except BaseException:
            stop.set()
            _kill_in_flight()
            raise
    for i in sorted(done):  # the first failure in the config's order
        if isinstance(done[i], BaseException):
            raise done[i]
    missing = sorted({item[0] for item in items} - set(done))
    if missing:
        raise TrainingError(f"experiments {missing} of the config were not fitted (a worker died)")
    return done  # type: ignore[return-value]


FITTED_BY_TAG = "fitted_by"  # host:pid of the process fitting a run


def end_orphan_runs() -> list[str]:
    """Runs left RUNNING by a training process that died without ending them (``kill -9``,
    a crash of the machine), marked KILLED as MLflow marks an interrupted run; only those
    fitted on this host by a process that is gone. Their run ids."""
    import mlflow

    host = socket.gethostname()
    ended = []
    for run in mlflow.search_runs(
        filter_string="attributes.status = 'RUNNING'", output_format="list", max_results=1000
    ):
        fitted_by = run.data.tags.get(FITTED_BY_TAG, "")
        where, _, pid = fitted_by.rpartition(":")
        if where != host or not pid.isdigit() or process_alive(int(pid)):
            continue
        mlflow.MlflowClient().set_terminated(run.info.run_id, "KILLED")
        ended.append(run.info.run_id)
    if ended:
        log.info(
            "%d run(s) left RUNNING by a training process that is gone marked KILLED: %s",
            len(ended),
            ", ".join(ended),
        )
    return ended


def _kill_in_flight() -> None:
    """Mark the runs still fitting as KILLED (as MLflow marks an interrupted run)."""
    import mlflow

    with _IN_FLIGHT_LOCK:
        _STOPPED.set()
        runs = list(_IN_FLIGHT)
        _IN_FLIGHT.clear()
    for run_id in runs:
        try:
            mlflow.MlflowClient().set_terminated(run_id, "KILLED")
        except Exception:  # the store unreachable: the run stays RUNNING, never reused
            log.debug("could not mark run %s as KILLED", run_id)


def _cores() -> int:
    """The cores this process may use (its CPU affinity, e.g. a container's share)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # no affinity on this platform (macOS)
        return os.cpu_count() or 1


def training_workers(experiments: int) -> int:
    """How many experiments fit at the same time: one more than the cores (``MUSIC_TRAIN_WORKERS``
    overrides; 1 fits them one after the other), at most 4 (each holds its folds in memory).
    The fits are threads of one process: each also spends time holding the GIL (pandas,
    MLflow's logging) or writing files, and the extra one fills those gaps (measured on 2 cores
    at 1x: training 61-64 s with 3 side by side, 68-70 s with 2, 67 s with 4)."""
    value = os.environ.get("MUSIC_TRAIN_WORKERS", "").strip()
    if value:
        if not value.isdecimal() or not value.isascii() or int(value) < 1:
            raise ConfigError(
                f"MUSIC_TRAIN_WORKERS={value!r} is not a whole number of at least 1 (the "
                "experiments fitted at the same time). Set it to 1, 2, ... or unset it."
            )
        workers = int(value)
    else:
        workers = min(_cores() + 1, 4)
    return max(1, min(workers, experiments))


def train_tracks(
    settings: Settings, config: TracksConfig, only: list[str] | None = None, force: bool = False
) -> list[RunResult]:
    """Every selected experiment: a finished run with the same reuse key (same data, config,
    code and seed) is taken as it is, unless ``force``; the others fit. Then the champion
    rule chooses among all of them."""
    from python_ml.tracking.registry import TRACKS_EXPERIMENT, setup_mlflow

    experiments = select_experiments(config, only)
    # The config's other experiments (with --only): the runs a full training would reuse of
    # them are weighed beside this training's (the champion rule, 3.), so their features are
    # read too, for their reuse keys.
    left_out = [e for e in select_experiments(config, None) if e not in experiments]
    data = load_track_data(
        settings, sorted({f for e in experiments + left_out for f in e.features})
    )
    log.info(
        "training on %s tracks, classes %s, split seed %s, fingerprint %s, data origin: %s",
        f"{len(data.train):,}",
        data.class_names,
        shown_split_seed(data),
        data.fingerprint[:12],
        data.data_origin,
    )
    check_data_fits_config(data, experiments, config)
    if origin.is_generated(data.data_origin):
        log.warning("%s", origin.GENERATED_WARNING)
    elif origin.is_partly_generated(data.data_origin):
        log.warning("%s", origin.partly_generated_notice(data.data_origin))
    setup_mlflow(settings, TRACKS_EXPERIMENT)
    end_orphan_runs()
    results: dict[int, RunResult] = {}
    to_fit: list[tuple[int, Experiment, str]] = []
    n = len(experiments)
    for i, experiment in enumerate(experiments, start=1):
        key = reuse_key(experiment, data, config)
        found = None if force else reusable_run(settings, experiment, key)
        if found is None:
            to_fit.append((i, experiment, key))
            continue
        result, run = found
        result.reused = True
        log.info(
            "[%d/%d] %s: reused run %s (same data, config, code and seed; finished %s); "
            "--force fits again",
            i,
            n,
            experiment.label,
            result.run_id,
            utc_from_ms(run.info.end_time),
        )
        _record_reuse(settings, result, run, data, config)
        results[i] = result

    workers = training_workers(len(to_fit))

    def fit_one(i: int, experiment: Experiment, key: str) -> RunResult:
        from threadpoolctl import threadpool_limits

        log.info("[%d/%d] %s", i, n, experiment.label)
        # Side by side, each fit gets its share of the cores: OpenMP's threads (the gradient
        # boosting's) busy-wait, and twice as many as cores slow both fits down.
        with threadpool_limits(limits=max(1, _cores() // workers), user_api="openmp"):
            result = _run_experiment(experiment, data, config, settings, key)
        if result.status == "FINISHED":
            val = result.metrics["validation"]
            log.info(
                "[%d/%d] %s: validation accuracy %.3f, macro-F1 %.3f (argmax %.3f / %.3f), "
                "ECE %.3f (%.1f s)",
                i,
                n,
                experiment.label,
                val["accuracy"],
                val["macro_f1"],
                val["argmax_accuracy"],
                val["argmax_macro_f1"],
                val["ece"],
                result.seconds,
            )
        return result

    # Experiments are independent: they fit side by side (training_workers; each run's figures
    # are the same as when fitted alone: every fit has its own seeded state, and the kinds
    # that seed a global generator fit one at a time). The slowest kinds start first.
    order = sorted(to_fit, key=lambda item: -item[1].model.kind.simplicity)
    from threadpoolctl import threadpool_limits

    # BLAS (OpenBLAS: the logistic regression's products, the network's NumPy pass) gets the
    # same share, for the whole process, as its threads are the process's: with its default,
    # a thread per core for each call, the idle ones spin and yield while the others compute.
    # Measured on 2 cores beside the other fits: the logistic regression's fit on the fit
    # fold took 4.5-5.3 CPU-seconds with 2 BLAS threads, 1.5 with 1, to the same coefficients
    # (to the bit; every experiment's figures are unchanged too).
    with threadpool_limits(limits=max(1, _cores() // workers), user_api="blas"):
        results.update(_fit_side_by_side(order, workers, fit_one))
    results = [results[i] for i in sorted(results)]
    failed = [r for r in results if r.status != "FINISHED"]
    if failed:
        raise TrainingError(
            "training failed for "
            + "; ".join(f"{r.experiment.label} ({r.error})" for r in failed)
            + ". Those runs are marked FAILED; the champion model was not changed."
        )
    _choose_champion(
        settings, config, data, results, _left_out_runs(settings, left_out, data, config)
    )
    return results


def _left_out_runs(
    settings: Settings, left_out: list[Experiment], data: TrackData, config: TracksConfig
) -> list[tuple[RunResult, Any]]:
    """The run a full training would reuse of each experiment this training left out (the
    same reuse key: data, config, code and seed); one a full training would fit again is
    named, and not weighed (its old figures are not what the full training would compare)."""
    found = []
    for experiment in left_out:
        reusable = reusable_run(settings, experiment, reuse_key(experiment, data, config))
        if reusable is None:
            log.info(
                "%s, left out of this training, is not weighed: no finished run has its data, "
                "config, code and seed (a full training would fit it again)",
                experiment.label,
            )
            continue
        found.append(reusable)
    return found


def _candidate(r: RunResult, metric: str) -> champion.Candidate:
    return champion.Candidate(
        r.run_id,
        r.experiment.label,
        r.experiment.model.type,
        len(r.experiment.features),
        r.seconds,
        r.metrics["validation"][metric],
        r.validation_pred,
    )


def _choose_champion(
    settings: Settings,
    config: TracksConfig,
    data: TrackData,
    results: list[RunResult],
    left_out: list[tuple[RunResult, Any]] = (),
) -> None:
    """The champion rule over this training's runs and, with --only, the runs a full training
    would reuse of the experiments left out (``left_out``: each with its MLflow run), then the
    current champion. A left-out run promoted is taken as a full training takes a run it
    reuses (recorded as reused, added to ``results``)."""
    metric = config.selection_metric
    y = _labels(data.train)
    _, _, val_index = data.cache.get("folds:all") or folds(data.train, config)
    current = champion.current_champion(settings, metric, data.fingerprint)
    # As logged to MLflow, where the champion's are read from: text.
    fold = (str(config.seed), str(config.validation_fraction))
    chosen, rule, why = champion.choose_beside(
        [_candidate(r, metric) for r in results],
        current,
        fold,
        y[val_index],
        len(data.class_names),
        metric,
        config.seed,
        [_candidate(r, metric) for r, _ in left_out],
        read=functools.partial(champion.as_candidate, class_names=data.class_names),
    )
    log.info("champion rule: %s -> %s", rule, chosen.label)
    if current is not None and why:
        log.info("champion stays %s: %s", current.label, why)
        return
    # One of this training's runs, or an earlier one it left out (a new run of another
    # experiment raised the bar, and the simpler left-out run is within its noise).
    best = next((r for r in results if r.run_id == chosen.run_id), None)
    if best is None:
        best, run = next((r, run) for r, run in left_out if r.run_id == chosen.run_id)
        log.info(
            "the champion's run %s is an earlier run of %s, left out of this training: "
            "reused, as a full training would",
            best.run_id,
            best.experiment.label,
        )
        # Its ml.model_runs row (a run fitted for another warehouse sharing the MLflow folder
        # has none: the promotion updated no row, and the warehouse was left without a
        # champion), reused_at (the leaderboard's current run of it), its superseded_by tag.
        best.reused = True
        _record_reuse(settings, best, run, data, config)
        results.append(best)
    version_number = champion.promote(settings, best.run_id, best.model_uri, rule, data.fingerprint)
    log.info(
        "champion: %s (run %s, version %d), validation %s %.4f",
        chosen.label,
        chosen.run_id,
        version_number,
        metric,
        chosen.score,
    )


@dataclass
class TrainingSummary:
    """What one `train` step did: its runs, and the champion after it."""

    results: list[RunResult]
    champion_version: Any  # the registered MLflow model version with the `champion` alias
    champion_path: Path
    experiment_id: str
    promoted: bool = False  # this step made another run (or version) the champion

    @property
    def champion(self) -> RunResult | None:
        """This step's run (fitted or reused) that is the champion, if any."""
        return next((r for r in self.results if r.run_id == self.champion_version.run_id), None)


def log_training_table(results: list[RunResult]) -> None:
    header = ("model/feature set", "val acc", "val F1", "argmaxF1", "ECE", "time F1", "newart F1")
    log.info("%-32s" + " %9s" * 6 + " %7s %8s", *header, "epochs", "seconds")
    for r in results:
        val = r.metrics.get("validation", {})
        cells = [
            val.get("accuracy"),
            val.get("macro_f1"),
            val.get("argmax_macro_f1"),
            val.get("ece"),
            r.metrics.get("time_split", {}).get("macro_f1"),
            r.metrics.get("new_artist", {}).get("macro_f1"),
        ]
        log.info(
            "%-32s" + " %9s" * 6 + " %7s %8.1f",
            r.experiment.label,
            *("-" if c is None else f"{c:.3f}" for c in cells),
            r.info.get("epochs", "-"),
            r.seconds,
        )
    log.info("holdout figures are computed for the champion when it scores (`score`)")


def train_step(
    settings: Settings,
    config_path: Path | None = None,
    only: list[str] | None = None,
    force: bool = False,
) -> TrainingSummary:
    """The `train` step (the command and the ``train`` asset): every experiment of the tracks
    config (or those ``only`` names), the champion chosen, the results table logged."""
    from python_ml.tracking.registry import TRACKS_EXPERIMENT, champion_model_dir, setup_mlflow
    from python_ml.tracks.config import load_tracks_config
    from python_ml.warehouse.db import RunLock

    config = load_tracks_config(config_path)
    before = _champion_now(settings)
    with RunLock(settings.warehouse), step("train the tracks models"):
        results = train_tracks(settings, config, only=only, force=force)
    log_training_table(results)
    experiment_id = setup_mlflow(settings, TRACKS_EXPERIMENT)
    version, path = champion_model_dir(settings)
    # Promoted: another run or version than before (a reused run the rule chose again is
    # not; Dagster's champion_model said promoted_by_this_run for it).
    promoted = before != (version.run_id, str(version.version))
    return TrainingSummary(results, version, path, experiment_id, promoted)


def _champion_now(settings: Settings) -> tuple[str, str] | None:
    """The warehouse's champion before training (run id, registered version), or None."""
    from python_ml.errors import UserError
    from python_ml.tracking.champion_files import warehouse_champion

    try:
        found = warehouse_champion(settings)
    except UserError:  # none yet, or trained on other data
        return None
    return found["run_id"], str(found["version"])
