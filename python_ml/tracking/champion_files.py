"""The warehouse's champion and its model files, without MLflow: what scoring new tracks
(``predict``, the app, the service) needs, loaded in a fraction of a second instead of the
seconds MLflow's import and pyfunc loader take.

The champion is the one ``ml.model_runs`` names (checked against the data the warehouse holds
now); its model folder is the one its run logged, under ``$MUSIC_MLFLOW_DIR``
(``ml.model_runs.model_path``), checked to belong to that run by the folder's own ``MLmodel``.
The files are the same the MLflow pyfunc loads (tracking/registry.py); a test checks that both
give the same probabilities.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from python_ml.errors import UserError
from python_ml.settings import Settings


class ChampionUnavailable(UserError, LookupError):
    """There is no champion, or its files cannot be loaded; the message says what to do."""


class ChampionFilesUnreadable(ChampionUnavailable):
    """The warehouse names a champion of its data, but its model files cannot be read (gone,
    moved, damaged, another MLflow folder's): putting them back makes it loadable again,
    unlike a champion of other data."""


def warehouse_champion(settings: Settings) -> dict[str, Any]:
    """This warehouse's champion as ``ml.model_runs`` records it (run id, registered version,
    the fingerprint of the data it was trained on), checked against the train table the
    warehouse holds now. Every reader (score, predict, the app, the report) resolves the
    champion through here, so they all name the same run."""
    from python_ml.tracks.data import (
        ids_and_classes_fingerprints,
        train_fingerprint,
        trained_on_this_data,
    )
    from python_ml.warehouse import catalog, db

    with db.connect(settings.warehouse) as con:
        db.require_tables(con, catalog.MODEL_RUNS, catalog.TRAIN_TRACKS)
        row = con.execute(
            f"select run_id, registered_version, data_fingerprint, "
            f"coalesce(model_name, model_type) || '/' || feature_set from {catalog.MODEL_RUNS} "
            "where task = 'tracks' and is_champion order by finished_at desc limit 1"
        ).fetchone()
        current = train_fingerprint(con)
        belongs = row is not None and trained_on_this_data(row[2], current)
        # Recorded before the fingerprint covered the feature values: the same tracks and
        # classes, but whether the same feature values is unknown.
        older = row is not None and not belongs and row[2] in ids_and_classes_fingerprints(con)
    if row is None or row[1] is None:
        raise ChampionUnavailable(
            f"No champion has been trained on the data of {settings.warehouse}. Train one "
            "first: `python -m python_ml train`."
        )
    run_id, version, fingerprint, label = row
    if older:
        raise ChampionUnavailable(
            f"The champion {label} (run {run_id}) was recorded with a fingerprint of the "
            "train table's track ids and classes only (before 2026-12-06): whether it learnt "
            f"from the feature values {settings.warehouse} holds now is unknown (this is how "
            "a warehouse made by an older python_ml looks). Run `python -m python_ml run`: it "
            "rebuilds what the newer dbt project changes, then trains on this data (`train` "
            "alone would fit on tables the older project built, and `run` would fit again)."
        )
    if not belongs:
        recorded = (fingerprint or "none")[:12]
        raise ChampionUnavailable(
            f"The champion {label} (run {run_id}) was trained on other data than "
            f"{settings.warehouse} holds now (train-table fingerprint {recorded}, now "
            f"{current[:12]}): run `python -m python_ml train` to train on this data."
        )
    return {"run_id": run_id, "version": int(version), "fingerprint": fingerprint, "label": label}


def no_model_files(run_id: str, mlflow_dir: Path, version: Any = None) -> str:
    """What to do when the champion's run is in the MLflow folder but its model files are not
    (``score`` through MLflow, ``predict``, the app and the service without it)."""
    which = f"version {version}, run {run_id}" if version is not None else f"run {run_id}"
    return (
        f"The champion ({which}) has no model files under {mlflow_dir}: the MLflow folder was "
        "replaced or its artifacts deleted. Run `python -m python_ml train`: it registers a "
        "new champion."
    )


def _records_run(store: Path, run_id: str) -> bool:
    """Whether the MLflow store (its SQLite file, read only) records the run."""
    import sqlite3
    from contextlib import closing

    try:  # as a file: URI (a `#` or `?` in the path is the path's)
        with closing(sqlite3.connect(store.resolve().as_uri() + "?mode=ro", uri=True)) as con:
            found = con.execute("select 1 from runs where run_uuid = ?", [run_id]).fetchone()
    except sqlite3.Error:  # not MLflow's store, or unreadable: the folder's own message
        return False
    return found is not None


def read_model_folder(
    path: Path, run_id: str, kind: str, temperature: float, weights: Any, version: Any = None
):
    """The fitted model in a logged model folder (``MLmodel``, the preprocessor and the
    estimator), or ChampionUnavailable naming what is wrong (``version``: the run's registered
    version, for the message)."""
    import joblib
    import yaml

    from python_ml.tracks.kinds import KINDS
    from python_ml.tracks.models import FittedModel

    if not (path / "MLmodel").exists():
        mlflow_dir = next((p for p in path.parents if (p / "mlflow.db").exists()), None)
        if mlflow_dir is not None and _records_run(mlflow_dir / "mlflow.db", run_id):
            # The right MLflow folder (it holds the run): its model files were deleted.
            raise ChampionFilesUnreadable(no_model_files(run_id, mlflow_dir, version))
        raise ChampionFilesUnreadable(
            f"The champion's model (run {run_id}) is not in {path}: the MLflow folder "
            + (f"{mlflow_dir} " if mlflow_dir else "")
            + "does not hold the runs this warehouse records. Set MUSIC_MLFLOW_DIR to the "
            "MLflow folder made with this warehouse (beside it by default), or run `python -m "
            "python_ml train` to register a new champion."
        )
    try:
        spec = yaml.safe_load((path / "MLmodel").read_text(encoding="utf-8"))
        if spec.get("run_id") != run_id:
            raise ChampionFilesUnreadable(
                f"{path} holds the model of run {spec.get('run_id')}, not of the champion's run "
                f"{run_id}: run `python -m python_ml train`."
            )
        artifacts = spec["flavors"]["python_function"]["artifacts"]
        inputs = json.loads(spec["signature"]["inputs"])
        outputs = json.loads(spec["signature"]["outputs"])
        features = [column["name"] for column in inputs]
        classes = [
            c["name"].removeprefix("prob_") for c in outputs if c["name"] != "predicted_class"
        ]
        preprocessor = joblib.load(path / artifacts["preprocessor"]["path"])
        estimator = KINDS[kind].load(path / artifacts["estimator"]["path"])
    except ChampionUnavailable:
        raise
    except Exception as exc:  # a damaged or foreign folder: say so, in one line
        raise ChampionFilesUnreadable(
            f"The champion's model in {path} cannot be read ({type(exc).__name__}: {exc}): "
            "its files are damaged. Run `python -m python_ml train` to fit and register it "
            "again (a run whose model files are not those it logged is not reused; one logged "
            "before 2026-12-07 recorded none: `train --force`)."
        ) from None
    return FittedModel(
        kind,
        features,
        classes,
        preprocessor,
        estimator,
        temperature=float(temperature if temperature is not None else 1.0),
        decision_weights=json.loads(weights) if isinstance(weights, str) else weights,
    )
