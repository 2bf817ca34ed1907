"""Per-track explanations: for the linear model the contributions are exact, they and the
baseline add up to the called class's score (its logit), and the reasons name the largest."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from python_ml.tracks.kinds import KINDS
from python_ml.tracks.models import FittedModel, make_preprocessor
from python_ml.tracks.scorer import reasons, reasons_text

FEATURES = ["danceability", "release_year", "artist_followers", "duration_ms"]


def _fitted() -> tuple[FittedModel, pd.DataFrame]:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "danceability": rng.uniform(0, 1, 400),
            "release_year": rng.integers(1950, 2021, 400).astype(float),
            "artist_followers": rng.lognormal(8, 2, 400),
            "duration_ms": rng.normal(220_000, 40_000, 400),
        }
    )
    frame.loc[::17, "artist_followers"] = np.nan  # imputed, as a missing artist is
    y = np.digitize(frame["release_year"] + rng.normal(0, 15, 400), [1980, 2005])
    preprocessor = make_preprocessor(FEATURES).fit(frame)
    estimator = LogisticRegression(max_iter=500).fit(preprocessor.transform(frame), y)
    classes = ["ice_cold", "lukewarm", "blazing_hot"]
    return FittedModel("logistic_regression", FEATURES, classes, preprocessor, estimator), frame


def test_linear_contributions_and_baseline_add_up_to_the_called_class_score() -> None:
    model, frame = _fitted()
    called = model.decide(model.predict_proba(frame))
    baseline, contributions = model.explain(frame, called)
    assert list(contributions.columns) == FEATURES
    score = model.estimator.decision_function(model.preprocessor.transform(frame))
    expected = score[np.arange(len(frame)), called]
    assert np.abs(baseline + contributions.sum(axis=1).to_numpy() - expected).max() < 1e-6


def test_reasons_name_the_largest_contributions_first() -> None:
    model, frame = _fitted()
    called = model.decide(model.predict_proba(frame))
    why = reasons(model, frame, called)
    _, contributions = model.explain(frame, called)
    assert len(why) == len(frame)
    for entries, (_, row) in zip(why, contributions.iterrows(), strict=True):
        assert [e["feature"] for e in entries] == list(
            row.abs().sort_values(ascending=False).index[:3]
        )
    # Release year drives these classes: it is the first reason of most tracks.
    assert np.mean([entries[0]["feature"] == "release_year" for entries in why]) > 0.5
    text = reasons_text(why[0])
    assert text.count(",") == 2 and ("+" in text or "-" in text)


def test_a_kind_without_an_exact_explanation_says_so() -> None:
    assert KINDS["hist_gradient_boosting"].contributions(None, np.zeros((1, 1))) is None
