"""Recording runs: one row of ``ml.model_runs`` per MLflow run, for the tracks task and the
2023 songs study alike. The columns are the `ml` source's (models/staging/ml/_ml__sources.yml).
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd

from python_ml.settings import Settings
from python_ml.warehouse import catalog, db

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


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def record_runs(settings: Settings, rows: list[dict[str, Any]]) -> None:
    """Add (or replace, by run id) rows of ml.model_runs in one transaction."""
    if not rows:
        return
    frame = pd.DataFrame(rows)
    importance = importance_rows(rows)
    with db.connect(settings.warehouse, read_only=False) as con:
        db.require_tables(con, catalog.MODEL_RUNS, catalog.FEATURE_IMPORTANCE)
        con.execute("begin transaction")
        try:
            db.insert_rows(con, catalog.MODEL_RUNS, frame, replace=True)
            for run_id in frame["run_id"]:
                con.execute(f"delete from {catalog.FEATURE_IMPORTANCE} where run_id = ?", [run_id])
            if not importance.empty:
                db.insert_rows(con, catalog.FEATURE_IMPORTANCE, importance)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def importance_rows(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The ml.feature_importance rows of runs whose metrics hold a permutation importance."""
    out = []
    for row in rows:
        metrics = json.loads(row.get("metrics_json") or "{}")
        importance = metrics.get("importance") if isinstance(metrics, dict) else None
        if not importance:
            continue
        for feature, rise in importance["features"].items():
            out.append(
                {
                    "run_id": row["run_id"],
                    "feature": feature,
                    "importance_mean": rise["mean"],
                    "importance_std": rise["std"],
                    "repeats": importance["repeats"],
                    "validation_rows": importance["rows"],
                    "baseline_log_loss": importance["baseline"],
                }
            )
    return pd.DataFrame(out)


def update_run(settings: Settings, run_id: str, values: dict[str, Any]) -> None:
    """Set some columns of one run's row."""
    known = catalog.ml_columns(catalog.MODEL_RUNS)
    for column in values:
        if column not in known:
            raise db.WarehouseError(f"{catalog.MODEL_RUNS} has no column {column}")
    assignments = ", ".join(f"{db.check_identifier(c)} = ?" for c in values)
    with db.connect(settings.warehouse, read_only=False) as con:
        db.widen(con, catalog.MODEL_RUNS, list(values))
        con.execute(
            f"update {catalog.MODEL_RUNS} set {assignments} where run_id = ?",
            [*values.values(), run_id],
        )


def mark_reused(settings: Settings, run_id: str, at: Any) -> None:
    """A training took this finished run as it was (same inputs) instead of fitting it again:
    ``reused_at`` says when (the latest such training); its fit's times stay."""
    update_run(settings, run_id, {"reused_at": at})
