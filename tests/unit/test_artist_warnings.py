"""What `predict` and the service say of tracks scored with their artist features imputed."""

from __future__ import annotations

import pandas as pd

from python_ml.tracks.feature_path import NO_ARTIST_IDS, UNKNOWN_ARTIST, gives_artist_ids
from python_ml.tracks.scorer import artist_warnings


def test_artist_ids_that_name_no_artist() -> None:
    assert not any(gives_artist_ids(v) for v in (None, "", "  ", "[]", "[ ]", [], float("nan")))
    assert all(gives_artist_ids(v) for v in ("['a1']", ["a1"], "a1"))


def test_tracks_without_ids_and_with_unknown_artists_are_said_apart() -> None:
    scored = pd.DataFrame(
        {
            "line": [1, 2, 3, 4, 5, 6],
            # scored and known, scored unknown x3, rejected (None), champion without them (None)
            "artist_known": [True, False, False, False, None, None],
        }
    )
    ids = {1: "['a']", 2: "", 3: "['new']", 4: "['new2']", 5: "", 6: ""}
    said = artist_warnings(scored, lambda n: gives_artist_ids(ids[n]), lambda n: f"row {n}")
    assert said == [
        f"row 2: no id_artists: {NO_ARTIST_IDS}",
        f"row 3 (and 1 more): {UNKNOWN_ARTIST}",
    ]
    assert artist_warnings(scored.iloc[[0, 4, 5]], lambda n: False, str) == []


def test_tracks_released_after_the_training_years_are_said_to_extrapolate() -> None:
    """The score page warned of a release after the training data's last year; `predict` and
    the service scored a 2027 track with nothing said (release year leads the calls)."""
    from python_ml.tracks.scorer import recency_warnings

    scored = pd.DataFrame({"line": [1, 2, 3, 4], "release_year": [2021.0, 2025.0, None, 2027.0]})
    assert recency_warnings(scored, 2021, lambda n: f"tracks[{n - 1}]") == [
        "tracks[1] (and 1 more): released in 2025, after the training data's last release year "
        "(2021): the model has seen no track this recent, so its score extrapolates"
    ]
    assert recency_warnings(scored.iloc[[0, 2]], 2021, str) == []  # rejected rows: no year
    assert recency_warnings(scored, None, str) == []  # no training years known


def test_a_champion_without_the_release_year_scores_and_says_nothing_of_it() -> None:
    """A champion of the audio features alone (hist_gradient_boosting/audio of tracks.yml):
    every service request and score-page track failed on the release year its warnings read.
    Its tracks score; a batch derived without the year says nothing of it."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    from python_ml.tracks.feature_path import DerivedTracks
    from python_ml.tracks.models import FittedModel, make_preprocessor
    from python_ml.tracks.scorer import (
        NOT_OUTPUT_COLUMNS,
        Champion,
        recency_warnings,
        score_derived,
    )

    features = ["danceability", "duration_ms"]
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"danceability": rng.uniform(0, 1, 200), "duration_ms": rng.normal(2e5, 1e4, 200)}
    )
    labels = rng.integers(0, 3, 200)
    prep = make_preprocessor(features).fit(frame)
    fitted = HistGradientBoostingClassifier(max_iter=5).fit(
        prep.transform(frame).astype(np.float32), labels
    )
    model = FittedModel("hist_gradient_boosting", features, ["a", "b", "c"], prep, fitted)
    champion = Champion("r", 1, "x", model, {"data_origin": "generated", "last_release_year": 2020})
    rows = pd.DataFrame(
        {
            "line": [1, 2],
            "id": ["t1", "t2"],
            "name": ["a", "b"],
            "rejection_reason": [None, None],
            "rejection_detail": [None, None],
        }
    )
    derived = pd.DataFrame({"track_id": ["t1", "t2"], **{c: frame[c][:2].values for c in features}})
    scored = score_derived(champion, DerivedTracks(rows, derived))
    assert (scored["status"] == "scored").all() and set(NOT_OUTPUT_COLUMNS) <= set(scored)
    assert recency_warnings(scored, 2020, str) == []
