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
