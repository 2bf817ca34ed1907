"""Scoring: the champion model scores every track of the predict split into
``ml.track_predictions``, then the holdout evaluation joins the true classes.

The features are read in batches (memory stays flat as the table grows) and all rows are
written in one transaction: a crash half-way leaves the previous predictions intact.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from python_ml import warehouse
from python_ml.evaluate import classification_metrics
from python_ml.models import FittedModel
from python_ml.settings import Settings

log = logging.getLogger(__name__)


def prediction_frame(
    model: FittedModel, features: pd.DataFrame, run_id: str, scored_at: datetime
) -> pd.DataFrame:
    """The rows of ml.track_predictions for a batch of features."""
    proba = model.predict_proba(features)
    frame = pd.DataFrame(
        {
            "track_id": features["track_id"].to_numpy(),
            "run_id": run_id,
            "predicted_class": np.asarray(model.class_names, dtype=object)[proba.argmax(axis=1)],
        }
    )
    for i, name in enumerate(model.class_names):
        frame[f"prob_{name}"] = proba[:, i]
    frame["scored_at"] = scored_at
    return frame


def write_predictions(
    settings: Settings, model: FittedModel, run_id: str, batch_size: int = 200_000
) -> int:
    """Replace this run's predictions with fresh ones, atomically. Returns the rows written."""
    scored_at = datetime.now(UTC).replace(tzinfo=None)
    columns = ["track_id", *model.features]
    for column in columns:
        warehouse.check_identifier(column)
    written = 0
    with warehouse.connect(settings.warehouse, read_only=False) as con:
        warehouse.require_tables(con, warehouse.PREDICT_TRACKS, warehouse.TRACK_PREDICTIONS)
        select = (
            f"select {', '.join(columns)} from {warehouse.PREDICT_TRACKS} "
            "where track_id > ? order by track_id limit ?"
        )
        con.execute("begin transaction")
        try:
            con.execute(f"delete from {warehouse.TRACK_PREDICTIONS} where run_id = ?", [run_id])
            last_id = ""
            while True:
                # Keyset pagination on the same connection: one batch in memory at a time.
                batch = con.execute(select, [last_id, batch_size]).df()
                if batch.empty:
                    break
                last_id = str(batch["track_id"].iloc[-1])
                frame = prediction_frame(model, batch, run_id, scored_at)
                con.register("prediction_batch", frame)
                con.execute(
                    f"insert into {warehouse.TRACK_PREDICTIONS} "
                    f"select {', '.join(frame.columns)} from prediction_batch"
                )
                con.unregister("prediction_batch")
                written += len(frame)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    return written


def holdout_evaluation(settings: Settings, run_id: str, class_names: list[str]) -> dict[str, Any]:
    """Metrics of a run's predictions against the predict split's true classes."""
    with warehouse.connect(settings.warehouse) as con:
        joined = con.execute(
            f"""
            select c.popularity_class, {", ".join(f"p.prob_{n}" for n in class_names)}
            from {warehouse.TRACK_PREDICTIONS} as p
            inner join {warehouse.PREDICT_TRACK_CLASSES} as c on p.track_id = c.track_id
            where p.run_id = ?
            order by p.track_id
            """,
            [run_id],
        ).df()
    index = {name: i for i, name in enumerate(class_names)}
    y_true = joined["popularity_class"].map(index).to_numpy()
    proba = joined[[f"prob_{n}" for n in class_names]].to_numpy()
    return classification_metrics(y_true, proba, class_names)


def score_tracks(settings: Settings, batch_size: int = 200_000) -> dict[str, Any]:
    from python_ml.tracking import load_champion

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
    metrics = holdout_evaluation(settings, run_id, model.class_names)
    log.info(
        "holdout: accuracy %.3f, macro-F1 %.3f, log loss %.3f on %s tracks",
        metrics["accuracy"],
        metrics["macro_f1"],
        metrics["log_loss"],
        f"{metrics['n']:,}",
    )
    with warehouse.connect(settings.warehouse, read_only=False) as con:
        con.execute(
            f"update {warehouse.MODEL_RUNS} set holdout_accuracy = ?, holdout_macro_f1 = ? "
            "where run_id = ?",
            [metrics["accuracy"], metrics["macro_f1"], run_id],
        )
    import mlflow

    client = mlflow.MlflowClient()
    for key in ("accuracy", "macro_f1", "log_loss"):
        client.log_metric(run_id, f"scored_holdout_{key}", metrics[key])
    client.log_dict(run_id, metrics, "metrics/scored_holdout.json")
    return {
        "run_id": run_id,
        "rows": rows,
        "seconds": seconds,
        "holdout": metrics,
        "confusion_matrix": json.dumps(metrics["confusion_matrix"]),
    }
