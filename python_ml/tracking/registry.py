"""MLflow: where runs and models are kept, how a fitted model is logged and loaded.

The store is local (sqlite + a folder under ``$MUSIC_MLFLOW_DIR``), no server to start.
Every model is logged as one pyfunc whose ``predict`` returns a probability per class, so
scoring does not care which kind of model won.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import joblib
import mlflow
import pandas as pd
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel

from python_ml.errors import UserError
from python_ml.settings import Settings
from python_ml.tracking.champion_files import (  # noqa: F401  (part of this module's API)
    ChampionFilesUnreadable,
    ChampionUnavailable,
    no_model_files,
    warehouse_champion,
)
from python_ml.tracks.models import FittedModel, model_output

TRACK_MODEL_NAME = "track_popularity"
CHAMPION = "champion"
TRACKS_EXPERIMENT = "track_popularity"
SONGS_EXPERIMENT = "songs_2023_streams"
MODEL_RELPATH_TAG = "model_relpath"
# The experiment's kind (training, not GenAI) inside MLflow's UI; which view the UI opens in is
# chosen by its URL (?workflowType=machine_learning, see python_ml/orchestration/definitions.py).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
CLASSIC_VIEW = "custom_model_development"
# What each experiment holds: its description on MLflow's experiment page (the note tag).
DESCRIPTION_TAG = "mlflow.note.content"
DESCRIPTIONS = {
    TRACKS_EXPERIMENT: (
        "Predicts a track's popularity class (the classes of seeds/popularity_classes.csv) "
        "from the train split, marts.fct_train_tracks. One run per experiment (a model and a "
        "feature set) of python_ml/configs/tracks.yml, `python -m python_ml train`. Each "
        "run's tags name its data: `data_fingerprint` and `data_origin` (generated data or "
        "Kaggle's files), and their param `split_seed` the dbt var the train split was cut "
        "with. The champion of each dataset is the registered model "
        f"`{TRACK_MODEL_NAME}` with the alias `champion_<the fingerprint's first 12 "
        "characters>`; its run has the tags `champion` = `yes` and `champion_rule` (why it "
        "was chosen), a former champion of the same data `champion` = `former`. ml.model_runs "
        "in the warehouse lists every run."
    ),
    SONGS_EXPERIMENT: (
        "The 2023 chart songs study (spotify-2023.csv): log(streams) regression and the top "
        "tenth by streams, with repeated k-fold cross-validation (python_ml/configs/"
        "songs_2023.yml, `python -m python_ml songs`). One run per task, model and feature set; "
        "the out-of-fold predictions are in ml.song_predictions."
    ),
}


SQLITE_MAGIC = b"SQLite format 3\x00"


class TrackingStoreError(UserError, RuntimeError):
    """The MLflow folder cannot be used; the message names it and says what to do."""


def check_store(settings: Settings) -> None:
    """Before MLflow opens its store: the folder can be written, and ``mlflow.db`` is an
    SQLite file (an empty or foreign file would become an empty store, or fail deep in
    SQLAlchemy)."""
    from python_ml.settings import folder_problem

    folder = settings.mlflow_dir
    problem = folder_problem(folder)
    if problem:
        raise TrackingStoreError(
            f"The MLflow folder {folder} {problem}: runs and models cannot be recorded. Set "
            "MUSIC_MLFLOW_DIR to a folder you can write, or fix its permissions."
        )
    store = folder / "mlflow.db"
    if store.exists():
        with open(store, "rb") as stream:
            head = stream.read(len(SQLITE_MAGIC))
        if not head:
            raise TrackingStoreError(
                f"{store} is an empty file (0 bytes), not an MLflow store: a copy that did not "
                "finish? Put the real file back, or delete it to start an empty store (the "
                "champion and every run recorded in it would be gone)."
            )
        if head != SQLITE_MAGIC:
            raise TrackingStoreError(
                f"{store} is not an MLflow store (not an SQLite database). Put the real file "
                "back, or point MUSIC_MLFLOW_DIR at another folder."
            )
        if not _whole_sqlite(store):
            raise TrackingStoreError(
                f"{store} is damaged: an SQLite database cut short or overwritten part-way (a "
                "copy that did not finish, a full disk?). Put a whole copy back, or move it "
                "aside to start an empty store (training then fits every experiment again, "
                "and the champion and runs recorded in it are no longer used)."
            )


def _whole_sqlite(store: Path) -> bool:
    """Whether SQLite's quick check finds ``store`` whole (a few ms for a 1.5 MB store): a
    file cut short keeps its header and failed later, inside MLflow, in SQLAlchemy's words
    ("database disk image is malformed"). A store another process holds locked is taken as
    whole: MLflow waits for it, as before."""
    import contextlib
    import sqlite3

    try:
        with contextlib.closing(
            sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        ) as con:
            return con.execute("pragma quick_check").fetchone() == ("ok",)
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc) or "busy" in str(exc)
    except sqlite3.DatabaseError:
        return False


def setup_mlflow(settings: Settings, experiment: str) -> str:
    """Point MLflow at the project's store and select (or create) the experiment."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    check_store(settings)
    mlflow.set_tracking_uri(tracking_uri(settings))
    mlflow.set_registry_uri(tracking_uri(settings))
    artifacts = (settings.mlflow_dir / "artifacts").as_uri()
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is None:
        experiment_id = mlflow.create_experiment(
            experiment,
            artifact_location=artifacts,
            # A training experiment, not a GenAI one (the view itself: the URL, above).
            tags={EXPERIMENT_KIND_TAG: CLASSIC_VIEW, **_description(experiment)},
        )
    else:
        experiment_id = existing.experiment_id
        wanted = {EXPERIMENT_KIND_TAG: CLASSIC_VIEW, **_description(experiment)}
        for key, value in wanted.items():
            if existing.tags.get(key) != value:
                mlflow.MlflowClient().set_experiment_tag(experiment_id, key, value)
        if existing.artifact_location != artifacts:
            _move_artifact_root(settings, experiment_id, artifacts)
        _relocate_recorded_artifacts(settings, artifacts)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def _description(experiment: str) -> dict[str, str]:
    """The experiment's description tag (none for an experiment of another name)."""
    text = DESCRIPTIONS.get(experiment)
    return {DESCRIPTION_TAG: text} if text else {}


def _move_artifact_root(settings: Settings, experiment_id: str, artifacts: str) -> None:
    """The MLflow folder was moved or copied: new runs write under its new location.

    MLflow stores an experiment's artifact root as an absolute URI and has no API to change
    it; the store is this project's own sqlite file, so it is updated there. Existing models
    are found relative to ``$MUSIC_MLFLOW_DIR`` (see :func:`champion_model_dir`)."""
    import sqlite3

    with sqlite3.connect(settings.mlflow_dir / "mlflow.db") as db:
        db.execute(
            "update experiments set artifact_location = ? where experiment_id = ?",
            (artifacts, int(experiment_id)),
        )
    logging.getLogger(__name__).info("MLflow artifacts now under %s", artifacts)


def _relocate_recorded_artifacts(settings: Settings, artifacts: str) -> None:
    """The runs, logged models and registered versions recorded under another location of
    this MLflow folder (it was moved or copied) point at their files here.

    MLflow's UI reads a run's artifacts (the charts, the model card, the logged model with its
    signature and input example) from the absolute URI recorded with the run: after a copy it
    showed the original folder's files, and after a move none. python_ml itself finds models
    relative to ``$MUSIC_MLFLOW_DIR`` (:func:`champion_model_dir`). Only records whose files
    are in this folder are changed."""
    import sqlite3

    root = settings.mlflow_dir / "artifacts"
    changes: list[tuple[str, tuple[str, str]]] = []
    with sqlite3.connect(settings.mlflow_dir / "mlflow.db") as db:
        for run_id, uri in db.execute("select run_uuid, artifact_uri from runs").fetchall():
            wanted = f"{artifacts}/{run_id}/artifacts"
            if uri != wanted and (uri or "").endswith(f"/{run_id}/artifacts"):
                if (root / run_id).is_dir():
                    changes.append(
                        ("update runs set artifact_uri = ? where run_uuid = ?", (wanted, run_id))
                    )
        models = db.execute("select model_id, artifact_location from logged_models").fetchall()
        for model_id, location in models:
            wanted = f"{artifacts}/models/{model_id}/artifacts"
            if location != wanted and (location or "").endswith(f"/models/{model_id}/artifacts"):
                if (root / "models" / model_id).is_dir():
                    changes += [
                        (
                            "update logged_models set artifact_location = ? where model_id = ?",
                            (wanted, model_id),
                        ),
                        (
                            "update model_versions set storage_location = ? "
                            "where storage_location = ?",
                            (wanted, location),
                        ),
                    ]
        for statement, values in changes:
            db.execute(statement, values)
    # MLflow keeps each run's artifact store for the life of the process: one opened before the
    # move (a run trained, then the folder copied, in one process) would still write to the old
    # folder, the original's. Forgotten, it is opened again from the record, here.
    from mlflow.tracking._tracking_service import utils as tracking_utils

    cached = getattr(tracking_utils, "_artifact_repos_cache", None)
    if cached is not None:
        for _, (_, resource_id) in changes:
            cached.pop(resource_id, None)
    if changes:
        logging.getLogger(__name__).info(
            "MLflow runs and models recorded under another location now point at %s", artifacts
        )


def tracking_uri(settings: Settings) -> str:
    return f"sqlite:///{settings.mlflow_dir / 'mlflow.db'}"


class TrackPopularityModel(PythonModel):
    """pyfunc wrapper: features in; one calibrated probability column per class and the class
    called by the model's decision rule out."""

    def __init__(
        self,
        kind: str,
        features: list[str],
        class_names: list[str],
        temperature: float = 1.0,
        decision_weights: list[float] | None = None,
    ) -> None:
        self.kind = kind
        self.features = features
        self.class_names = class_names
        self.temperature = temperature
        self.decision_weights = decision_weights

    def load_context(self, context: Any) -> None:
        from python_ml.tracks.kinds import KINDS

        self._preprocessor = joblib.load(context.artifacts["preprocessor"])
        self._estimator = KINDS[self.kind].load(Path(context.artifacts["estimator"]))

    def fitted(self) -> FittedModel:
        return FittedModel(
            self.kind,
            self.features,
            self.class_names,
            self._preprocessor,
            self._estimator,
            temperature=getattr(self, "temperature", 1.0),
            decision_weights=getattr(self, "decision_weights", None),
        )

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        return model_output(self.fitted(), model_input)


def shown_metrics(values: dict[str, float]) -> dict[str, float]:
    """Metrics as a run's MLflow page lists them: four significant digits, so figures can be
    read and compared there. The unrounded values stay in the run's ``metrics/*.json``
    artifacts and in ``ml.model_runs.metrics_json``, which the marts read."""
    return {
        # Counts (rows, epochs) as they are: 4 significant digits showed 427,683 as 427,700.
        key: float(value) if float(value).is_integer() else float(f"{value:.4g}")
        for key, value in values.items()
    }


SUPERSEDED_TAG = "superseded_by"  # on a finished run: the later run that took its place


def mark_superseded(experiment_id: str, same: str, run_id: str) -> None:
    """Tag each earlier finished run matching ``same`` (an MLflow filter on tags: the same
    reuse key, or the same study run) with the run that took its place: they have the same
    name and params, and MLflow's run list did not tell them apart (the warehouse does, by
    ``is_current``). A label only: failing to write it leaves the run standing."""
    client = mlflow.MlflowClient()
    try:
        earlier = client.search_runs(
            [experiment_id], f"{same} and attributes.status = 'FINISHED'", max_results=1000
        )
        for other in earlier:
            if other.info.run_id != run_id and SUPERSEDED_TAG not in other.data.tags:
                client.set_tag(other.info.run_id, SUPERSEDED_TAG, run_id)
    except mlflow.exceptions.MlflowException as exc:
        logging.getLogger(__name__).warning(
            "could not tag the runs %s replaced in MLflow: %s", run_id, exc
        )


def log_table_input(
    frame: pd.DataFrame, table: str, data_origin: str, digest: str, context: str = "training"
) -> None:
    """A warehouse table as the active run's MLflow dataset: its name and origin, the columns
    (no rows are copied) and a digest of its content, so a run page says what it learned on."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # source naming and integer-schema hints
        # No rows are copied, so MLflow's own profile says 0 rows: the name says how many.
        dataset = mlflow.data.from_pandas(
            frame.head(0),
            source=table,
            name=f"{table} ({data_origin}, {len(frame):,} rows)",
            digest=digest[:32] or None,
        )
        mlflow.log_input(dataset, context=context)


# One model logged at a time, whichever training thread logs it: MLflow's log_model records the
# environment variables it reads by patching os.environ's class for its duration (its
# env_var_tracker), which two threads at once leave patched with each other's set; one of them
# failed with "Set changed size during iteration" (mlflow/models/model.py), failing its
# experiment (majority/full, once in CI, 2026-12-06).
_LOG_MODEL_LOCK = threading.Lock()


def log_track_model(model: FittedModel, example: pd.DataFrame, requirements: list[str]) -> str:
    """Log the fitted model (preprocessing included) to the active run; returns its model URI.

    The signature declares every feature as a double, so a missing value is allowed."""
    with tempfile.TemporaryDirectory() as tmp:
        preprocessor = Path(tmp) / "preprocessor.joblib"
        joblib.dump(model.preprocessor, preprocessor)
        from python_ml.tracks.kinds import KINDS

        kind = KINDS[model.kind]
        estimator = Path(tmp) / kind.estimator_file
        kind.save(model.estimator, estimator)
        example = example[model.features].head(5).astype("float64")
        output = model_output(model, example)
        with _LOG_MODEL_LOCK:
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=TrackPopularityModel(
                    model.kind,
                    model.features,
                    model.class_names,
                    model.temperature,
                    model.decision_weights,
                ),
                artifacts={"preprocessor": str(preprocessor), "estimator": str(estimator)},
                signature=infer_signature(example, output),
                input_example=example,
                pip_requirements=requirements,
            )
    return info.model_uri


def model_relpath(settings: Settings, model_uri: str) -> str:
    """Where a logged model's files are, relative to ``$MUSIC_MLFLOW_DIR``: kept as a run tag
    so the model is found again after the data folder is moved or copied."""
    from urllib.parse import unquote, urlparse

    location = mlflow.get_logged_model(model_uri.rsplit("/", 1)[-1]).artifact_location
    path = Path(unquote(urlparse(location).path))
    return path.relative_to(settings.mlflow_dir).as_posix()


def champion_alias(fingerprint: str) -> str:
    """The registry alias of the champion of one dataset (its train-table fingerprint): two
    warehouses sharing an MLflow folder each keep their own champion."""
    return f"{CHAMPION}_{fingerprint[:12]}"


def champion_model_dir(settings: Settings) -> tuple[Any, Path]:
    """The warehouse's champion (:func:`warehouse_champion`): its registered model version
    and its model folder under ``$MUSIC_MLFLOW_DIR``."""
    champion = warehouse_champion(settings)
    setup_mlflow(settings, TRACKS_EXPERIMENT)
    client = mlflow.MlflowClient()
    try:
        version = client.get_model_version(TRACK_MODEL_NAME, str(champion["version"]))
    except mlflow.exceptions.MlflowException:
        version = None
    if version is None or version.run_id != champion["run_id"]:
        raise ChampionFilesUnreadable(
            f"The champion of {settings.warehouse} ({champion['label']}, run "
            f"{champion['run_id']}, version {champion['version']}) is not registered in "
            f"{settings.mlflow_dir}: the warehouse and the MLflow folder do not belong together. "
            "Point MUSIC_MLFLOW_DIR at the warehouse's MLflow folder, or run "
            "`python -m python_ml train`."
        )
    relpath = client.get_run(version.run_id).data.tags.get(MODEL_RELPATH_TAG)
    path = settings.mlflow_dir / relpath if relpath else None
    if path is None or not (path / "MLmodel").is_file():
        raise ChampionFilesUnreadable(
            no_model_files(version.run_id, settings.mlflow_dir, version.version)
        )
    return version, path


def champion_loadable(settings: Settings) -> bool:
    try:
        champion_model_dir(settings)
    except ChampionUnavailable:
        return False
    return True


def load_champion(settings: Settings) -> tuple[str, int, FittedModel]:
    """The champion's run id, registered version and fitted model, loaded from its folder
    relative to ``$MUSIC_MLFLOW_DIR`` (not MLflow's absolute artifact URI)."""
    version, path = champion_model_dir(settings)
    try:
        loaded = mlflow.pyfunc.load_model(str(path))
    except Exception as exc:
        raise ChampionFilesUnreadable(
            f"The champion's model in {path} cannot be loaded ({type(exc).__name__}: {exc}): "
            "its files are damaged. Run `python -m python_ml train` to fit and register it "
            "again (a run whose model files are not those it logged is not reused; one logged "
            "before 2026-12-07 recorded none: `train --force`)."
        ) from exc
    wrapper: TrackPopularityModel = loaded.unwrap_python_model()
    return version.run_id, int(version.version), wrapper.fitted()
