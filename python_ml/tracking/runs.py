"""Recording runs: one row of ``ml.model_runs`` per MLflow run, for the tracks task and the
2023 songs study alike. The columns are the `ml` source's (models/staging/ml/_ml__sources.yml).
"""

from __future__ import annotations

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
    with db.connect(settings.warehouse, read_only=False) as con:
        db.require_tables(con, catalog.MODEL_RUNS)
        db.insert_rows(con, catalog.MODEL_RUNS, frame, replace=True)


def update_run(settings: Settings, run_id: str, values: dict[str, Any]) -> None:
    """Set some columns of one run's row."""
    known = catalog.ml_columns(catalog.MODEL_RUNS)
    for column in values:
        if column not in known:
            raise db.WarehouseError(f"{catalog.MODEL_RUNS} has no column {column}")
    assignments = ", ".join(f"{db.check_identifier(c)} = ?" for c in values)
    with db.connect(settings.warehouse, read_only=False) as con:
        con.execute(
            f"update {catalog.MODEL_RUNS} set {assignments} where run_id = ?",
            [*values.values(), run_id],
        )
