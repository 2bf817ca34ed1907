"""Training fits experiments side by side in threads; MLflow's log_model is not safe for that
(it patches os.environ's class while it logs), so models are logged one at a time."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from python_ml.tracking import registry
from python_ml.tracks.models import FittedModel, make_preprocessor

FEATURES = ["danceability", "energy"]


def test_models_are_logged_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({f: rng.uniform(0, 1, 40) for f in FEATURES})
    preprocessor = make_preprocessor(FEATURES).fit(frame)
    x = preprocessor.transform(frame).astype(np.float32)
    estimator = DummyClassifier().fit(x, rng.integers(0, 3, 40))
    classes = ["ice_cold", "lukewarm", "blazing_hot"]
    model = FittedModel("majority", FEATURES, classes, preprocessor, estimator)

    inside, most, logged = 0, 0, []
    count = threading.Lock()

    def log_model(**kwargs: object) -> SimpleNamespace:  # stands in for MLflow's, slowly
        nonlocal inside, most
        with count:
            inside += 1
            most = max(most, inside)
        time.sleep(0.2)
        with count:
            inside -= 1
            logged.append(kwargs["name"])
        return SimpleNamespace(model_uri=f"runs:/run{len(logged)}/model")

    monkeypatch.setattr(registry.mlflow.pyfunc, "log_model", log_model)
    start = threading.Barrier(3)

    def log() -> None:
        start.wait()
        registry.log_track_model(model, frame, [])

    threads = [threading.Thread(target=log) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert logged == ["model"] * 3  # every one logged
    assert most == 1  # never two inside MLflow's log_model at once
