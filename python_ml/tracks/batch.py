"""One batch of scored tracks as the `ml` source's rows: what `score` writes into DuckDB and
the Spark scorer's executors write into Spark (the same function on both engines)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from python_ml.tracks.explain import explain
from python_ml.tracks.feature_origin import marked_features, reasons_in_words
from python_ml.tracks.models import FittedModel


def prediction_batch(
    model: FittedModel,
    features: pd.DataFrame,
    run_id: str,
    scored_at: datetime,
    data_origin: str = "",
) -> tuple[pa.Table, pa.Table]:
    """The rows of ml.track_predictions for a batch of features (the class the model's
    decision rule calls, the calibrated probabilities, one per class in the seed's order, and
    the reasons, a feature whose values are generated marked by the run's ``data_origin``),
    and of ml.track_explanations (each feature's contribution to the called class's score)."""
    x = model.transform(features)  # once, for the probabilities and the explanations
    proba = model.predict_proba(features, x)
    called = model.decide(proba)
    explanation = explain(model, features, called, x, proba)
    # The user's tracks beside a generated artists.csv: "artist followers (generated) +0.91",
    # as predict, the app and the service say it.
    if marked_features(model.features, data_origin):
        reasons = [reasons_in_words(entries, data_origin) for entries in explanation.top()]
    else:
        reasons = explanation.text()
    n = len(features)
    predictions = pa.table(
        {
            "track_id": pa.array(features["track_id"].to_numpy(), pa.string()),
            "run_id": pa.array([run_id] * n, pa.string()),
            "predicted_class": pa.array(
                np.asarray(model.class_names, dtype=object)[called], pa.string()
            ),
            "class_probabilities": pa.ListArray.from_arrays(
                pa.array(np.arange(0, n * proba.shape[1] + 1, proba.shape[1]), pa.int32()),
                pa.array(proba.astype(np.float64).ravel()),
            ),
            "scored_at": pa.array([scored_at] * n, pa.timestamp("us")),
            "runner_up_class": pa.array(explanation.over, pa.string()),
            "reasons": pa.array(reasons, pa.string()),
            "explained_score": pa.array(explanation.score, pa.float64()),
            "explanation_baseline": pa.array(explanation.baseline, pa.float64()),
        }
    )
    return predictions, explanation.long_table(features["track_id"], run_id, scored_at)
