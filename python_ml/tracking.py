"""MLflow: where runs and models are kept, how a fitted model is logged and loaded.

The store is local (sqlite + a folder under ``$MUSIC_MLFLOW_DIR``), no server to start.
Every model is logged as one pyfunc whose ``predict`` returns a probability per class, so
scoring does not care which kind of model won.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import joblib
import mlflow
import pandas as pd
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel

from python_ml.models import FittedModel
from python_ml.settings import Settings

TRACK_MODEL_NAME = "track_popularity"
CHAMPION = "champion"
TRACKS_EXPERIMENT = "track_popularity"
SONGS_EXPERIMENT = "songs_2023_streams"


def setup_mlflow(settings: Settings, experiment: str) -> str:
    """Point MLflow at the project's store and select (or create) the experiment."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri(settings))
    mlflow.set_registry_uri(tracking_uri(settings))
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is None:
        artifacts = (settings.mlflow_dir / "artifacts").as_uri()
        experiment_id = mlflow.create_experiment(experiment, artifact_location=artifacts)
    else:
        experiment_id = existing.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def tracking_uri(settings: Settings) -> str:
    return f"sqlite:///{settings.mlflow_dir / 'mlflow.db'}"


class TrackPopularityModel(PythonModel):
    """pyfunc wrapper: features in, one probability column per class out."""

    def __init__(self, kind: str, features: list[str], class_names: list[str]) -> None:
        self.kind = kind
        self.features = features
        self.class_names = class_names

    def load_context(self, context: Any) -> None:
        self._preprocessor = joblib.load(context.artifacts["preprocessor"])
        if self.kind == "keras":
            import keras

            self._estimator = keras.models.load_model(context.artifacts["estimator"])
        else:
            self._estimator = joblib.load(context.artifacts["estimator"])

    def fitted(self) -> FittedModel:
        return FittedModel(
            self.kind, self.features, self.class_names, self._preprocessor, self._estimator
        )

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        proba = self.fitted().predict_proba(model_input)
        return pd.DataFrame(proba, columns=[f"prob_{c}" for c in self.class_names])


def log_track_model(model: FittedModel, example: pd.DataFrame, requirements: list[str]) -> str:
    """Log the fitted model (preprocessing included) to the active run; returns its model URI.

    The signature declares every feature as a double, so a missing value is allowed."""
    with tempfile.TemporaryDirectory() as tmp:
        preprocessor = Path(tmp) / "preprocessor.joblib"
        joblib.dump(model.preprocessor, preprocessor)
        if model.kind == "keras":
            estimator = Path(tmp) / "estimator.keras"
            model.estimator.save(estimator)
        else:
            estimator = Path(tmp) / "estimator.joblib"
            joblib.dump(model.estimator, estimator)
        example = example[model.features].head(5).astype("float64")
        output = pd.DataFrame(
            model.predict_proba(example), columns=[f"prob_{c}" for c in model.class_names]
        )
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=TrackPopularityModel(model.kind, model.features, model.class_names),
            artifacts={"preprocessor": str(preprocessor), "estimator": str(estimator)},
            signature=infer_signature(example, output),
            input_example=example,
            pip_requirements=requirements,
        )
    return info.model_uri


def load_champion(settings: Settings) -> tuple[str, int, FittedModel]:
    """The champion's run id, registered version and fitted model."""
    setup_mlflow(settings, TRACKS_EXPERIMENT)
    client = mlflow.MlflowClient()
    try:
        version = client.get_model_version_by_alias(TRACK_MODEL_NAME, CHAMPION)
    except mlflow.exceptions.MlflowException as exc:
        raise LookupError(
            f"No `{CHAMPION}` model is registered as {TRACK_MODEL_NAME} in "
            f"{settings.mlflow_dir}. Train one first: `python -m python_ml train`."
        ) from exc
    loaded = mlflow.pyfunc.load_model(f"models:/{TRACK_MODEL_NAME}@{CHAMPION}")
    wrapper: TrackPopularityModel = loaded.unwrap_python_model()
    return version.run_id, int(version.version), wrapper.fitted()
