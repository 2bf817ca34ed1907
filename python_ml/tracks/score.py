"""Scoring: the champion model scores every track of the predict split into
``ml.track_predictions``, then the holdout evaluation joins the true classes.

The features are read in batches (memory stays flat as the table grows) and all rows are
written in one transaction: a crash half-way leaves the previous predictions intact.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import numpy as np
import pyarrow as pa

from python_ml.clock import utc_now
from python_ml.settings import Settings
from python_ml.steps import step
from python_ml.tracks.batch import prediction_batch
from python_ml.tracks.evaluate import classification_metrics
from python_ml.tracks.models import FittedModel
from python_ml.warehouse import catalog, db

log = logging.getLogger(__name__)


def _insert(con: Any, table_name: str, rows: pa.Table) -> None:
    con.register("scored_batch", rows)
    try:
        con.execute(
            f"insert into {table_name} ({', '.join(rows.column_names)}) "
            f"select {', '.join(rows.column_names)} from scored_batch"
        )
    finally:
        con.unregister("scored_batch")


def write_predictions(
    settings: Settings, model: FittedModel, run_id: str, batch_size: int = 200_000
) -> int:
    """Replace this run's predictions and explanations with fresh ones, atomically. Returns
    the rows of predictions written."""
    if batch_size < 1:  # no batch would be read: the run's rows deleted, none written
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    scored_at = utc_now()
    columns = ["track_id", *model.features]
    for column in columns:
        db.check_identifier(column)
    written = 0
    outputs = (catalog.TRACK_PREDICTIONS, catalog.TRACK_EXPLANATIONS)
    with db.connect(settings.warehouse, read_only=False) as con:
        db.require_tables(con, catalog.PREDICT_TRACKS, *outputs)
        # The data the run was trained on, as it recorded it: its reasons mark a generated
        # feature (tracks/feature_origin.py).
        recorded = (
            con.execute(
                f"select data_origin from {catalog.MODEL_RUNS} where run_id = ?", [run_id]
            ).fetchone()
            if db.has_table(con, catalog.MODEL_RUNS)
            else None
        )
        data_origin = str(recorded[0] or "") if recorded else ""
        select = (
            f"select {', '.join(columns)} from {catalog.PREDICT_TRACKS} "
            "where track_id > ? order by track_id limit ?"
        )
        con.execute("begin transaction")
        try:
            for table_name in outputs:
                con.execute(f"delete from {table_name} where run_id = ?", [run_id])
            last_id = ""
            while True:
                # Keyset pagination on the same connection: one batch in memory at a time.
                batch = con.execute(select, [last_id, batch_size]).df()
                if batch.empty:
                    break
                last_id = str(batch["track_id"].iloc[-1])
                predictions, explanations = prediction_batch(
                    model, batch, run_id, scored_at, data_origin
                )
                _insert(con, catalog.TRACK_PREDICTIONS, predictions)
                _insert(con, catalog.TRACK_EXPLANATIONS, explanations)
                written += predictions.num_rows
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    return written


def holdout_evaluation(settings: Settings, run_id: str, model: FittedModel) -> dict[str, Any]:
    """Metrics of a run's predictions against the predict split's true classes, with the
    model's decision rule (and plain argmax beside it)."""
    class_names = model.class_names
    with db.connect(settings.warehouse) as con:
        joined = con.execute(
            f"""
            select c.popularity_class, p.class_probabilities
            from {catalog.TRACK_PREDICTIONS} as p
            inner join {catalog.PREDICT_TRACK_CLASSES} as c on p.track_id = c.track_id
            where p.run_id = ?
            order by p.track_id
            """,
            [run_id],
        ).df()
    index = {name: i for i, name in enumerate(class_names)}
    y_true = joined["popularity_class"].map(index).to_numpy()
    proba = np.array(joined["class_probabilities"].tolist(), dtype=np.float64).reshape(
        len(joined), len(class_names)
    )
    return classification_metrics(y_true, proba, class_names, model.decision_weights)


def _record_holdout(settings: Settings, run_id: str, metrics: dict[str, Any]) -> None:
    """The champion's holdout figures: into its ml.model_runs row and its MLflow run."""
    import mlflow

    from python_ml.tracking.registry import shown_metrics
    from python_ml.tracking.runs import update_run
    from python_ml.tracks.evaluate import SCALAR_METRICS, flat_metrics

    with db.connect(settings.warehouse) as con:
        stored = con.execute(
            f"select metrics_json from {catalog.MODEL_RUNS} where run_id = ?", [run_id]
        ).fetchone()
    all_metrics = json.loads(stored[0]) if stored and stored[0] else {}
    all_metrics["holdout"] = metrics
    update_run(
        settings,
        run_id,
        {
            **{f"holdout_{k}": metrics[k] for k in SCALAR_METRICS},
            "metrics_json": json.dumps(all_metrics),
        },
    )
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    # Only what is new or changed: scoring the same split again logged each figure a second
    # time (two points of one value in the metric's history).
    for key, value in shown_metrics(flat_metrics("holdout", metrics)).items():
        if run.data.metrics.get(key) != value:
            client.log_metric(run_id, key, value)
    artifact_uri = run.info.artifact_uri or ""
    if artifact_uri.startswith(settings.mlflow_dir.as_uri()):
        client.log_dict(run_id, metrics, "metrics/holdout.json")
    else:  # the MLflow folder was moved since the run: never write to its old place
        log.info("the run's artifact folder moved: holdout figures kept as metrics only")


def score_tracks(settings: Settings, batch_size: int = 200_000) -> dict[str, Any]:
    from python_ml.tracking.registry import load_champion

    run_id, version_number, model = load_champion(settings)
    log.info(
        "champion: run %s (version %d, %s on %s)",
        run_id,
        version_number,
        model.kind,
        ",".join(model.features),
    )
    started = time.perf_counter()
    rows = write_predictions(settings, model, run_id, batch_size)
    seconds = time.perf_counter() - started
    log.info(
        "scored %s tracks in %.1f s (%s rows/s)",
        f"{rows:,}",
        seconds,
        f"{rows / max(seconds, 1e-9):,.0f}",
    )
    metrics = holdout_evaluation(settings, run_id, model)
    shares = ", ".join(
        f"{name} {v['predicted_share']:.1%} (true {v['true_share']:.1%})"
        for name, v in metrics["per_class"].items()
    )
    log.info(
        "holdout: accuracy %.3f, macro-F1 %.3f (argmax %.3f / %.3f), log loss %.3f, ECE %.3f "
        "on %s tracks; called %s",
        metrics["accuracy"],
        metrics["macro_f1"],
        metrics["argmax_accuracy"],
        metrics["argmax_macro_f1"],
        metrics["log_loss"],
        metrics["ece"],
        f"{metrics['n']:,}",
        shares,
    )
    _record_holdout(settings, run_id, metrics)
    return {
        "run_id": run_id,
        "rows": rows,
        "seconds": seconds,
        "holdout": metrics,
        "confusion_matrix": json.dumps(metrics["confusion_matrix"]),
    }


def score_step(settings: Settings, engine: str = "duckdb", batch_size: int = 200_000) -> dict:
    """The `score` step (the command and the ``score`` asset): the champion scores the predict
    split of the DuckDB warehouse (then its holdout figures), or Spark's."""
    if engine == "spark":
        from python_ml.warehouse.spark import score_tracks as score_tracks_spark

        with step("score and explain Spark's predict split with the champion"):
            return score_tracks_spark(settings)
    from python_ml.warehouse.db import RunLock

    with RunLock(settings.warehouse), step("score the predict split with the champion"):
        return score_tracks(settings, batch_size=batch_size)
