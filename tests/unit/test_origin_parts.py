"""Whether figures come from generated data: wholly, in part (a user's tracks beside the
generated artists), or not at all."""

from __future__ import annotations

from python_ml.raw.origin import (
    generated_artists,
    generated_files,
    is_generated,
    is_partly_generated,
    partly_generated_notice,
)


def test_wholly_partly_or_not_generated() -> None:
    mixed = "artists.csv: generated, tracks.csv: user files"
    assert is_generated("generated") and not is_partly_generated("generated")
    assert is_generated("artists.csv: generated, tracks.csv: generated")
    assert not is_generated(mixed) and is_partly_generated(mixed)
    for real in ("kaggle", "user files", "artists.csv: kaggle, tracks.csv: user files", ""):
        assert not is_generated(real) and not is_partly_generated(real)
    assert mixed in partly_generated_notice(mixed)


def test_the_generated_files_are_named() -> None:
    assert generated_files("artists.csv: generated, tracks.csv.gz: user files") == ["artists.csv"]
    assert generated_files("generated") == []  # one word names no file
    assert generated_files("kaggle") == []


def test_the_marts_docs_say_an_origin_can_be_each_files() -> None:
    """On the user's tracks beside a generated artists.csv every mart's data_origin reads
    `artists.csv: generated, tracks.csv.gz: user files`; the docs of the prediction marts
    listed only kaggle, generated or user files, and the artist features did not say they
    can be generated."""
    import re
    from pathlib import Path

    import yaml

    models = Path(__file__).resolve().parents[2] / "models"
    blocks = dict(
        re.findall(
            r"{% docs (\w+) %}(.*?){% enddocs %}", (models / "data_origin.md").read_text(), re.S
        )
    )
    assert "artists.csv: generated, tracks.csv: user files" in blocks["prediction_data_origin"]
    assert "generated" in blocks["artist_features_origin"]
    for path in sorted(models.glob("marts/*/_*.yml")):
        for model in yaml.safe_load(path.read_text())["models"]:
            for column in model.get("columns", []):
                said = column.get("description", "")
                if column["name"] == "data_origin":
                    assert "doc(" in said or "file" in said, (model["name"], said)
                if column["name"] in ("artist_followers", "artist_genre_count"):
                    assert "doc('artist_features_origin')" in said, (model["name"], said)


def test_generated_artist_values_are_marked_beside_the_users_tracks() -> None:
    import pandas as pd

    from python_ml.reports.charts import mark_generated_values

    shown = pd.DataFrame(
        {
            "feature": ["explicit", "artist_followers", "artist_genre_count", "acousticness"],
            "the track's value": ["1", "730,611", "", "0.983"],
            "contribution": [4.4, 0.9, 0.7, 0.5],
        }
    )
    mixed = mark_generated_values(shown, "artists.csv: generated, tracks.csv.gz: user files")
    assert mixed["the track's value"].tolist() == ["1", "730,611 (generated)", "", "0.983"]
    for origin in (
        "generated",
        "user files",
        "kaggle",
        "artists.csv: kaggle, tracks.csv: user files",
    ):
        # wholly generated data has its banner over everything; real data is not marked
        assert mark_generated_values(shown, origin).equals(shown)
    assert generated_artists("artists.csv.gz: generated, tracks.csv: user files")
    assert not generated_artists("artists.csv: user files, tracks.csv: generated")


MIXED = "artists.csv: generated, tracks.csv: user files"


def test_the_origin_of_some_files_is_taken_out_of_a_data_origin() -> None:
    """A figure of tracks.csv's columns alone carries tracks.csv's origin, not the mixed one
    (the correlations and audio-by-class charts said "artists.csv: generated" of the user's
    tracks' own columns)."""
    from python_ml.raw.origin import draws_on_generated, files_origin, marked_apart

    assert files_origin(MIXED, ("tracks.csv",)) == "user files"
    assert files_origin("artists.csv.gz: generated, tracks.csv.gz: kaggle", ("tracks.csv",)) == (
        "kaggle"
    )
    assert files_origin(MIXED, ("tracks.csv", "artists.csv")) == MIXED
    assert files_origin("generated", ("tracks.csv",)) == "generated"  # one word: every file's
    assert files_origin(MIXED, ("spotify-2023.csv",)) == MIXED  # not named: said whole
    assert draws_on_generated(MIXED) and draws_on_generated("generated")
    assert not draws_on_generated("user files") and not draws_on_generated("kaggle")
    # A part is marked on its own only beside data that is not generated.
    assert marked_apart(MIXED, MIXED) and not marked_apart("user files", MIXED)
    assert not marked_apart("generated", "generated")


def test_whether_a_features_values_are_generated_has_one_definition() -> None:
    """The user's real tracks beside the generated artists.csv: the artist features are the
    generator's, the tracks' own columns are the user's. Wholly generated data has every
    feature generated but marks none apart (the whole result says so); real data, none."""
    from python_ml.tracks.feature_origin import (
        ARTIST_FEATURES,
        feature_label,
        generated_features_note,
        is_generated_feature,
        marked_features,
        marked_generated,
    )

    features = ["danceability", "release_year", *ARTIST_FEATURES]
    assert [f for f in features if is_generated_feature(f, MIXED)] == list(ARTIST_FEATURES)
    assert marked_features(features, MIXED) == list(ARTIST_FEATURES)
    assert feature_label("artist_followers", MIXED) == "artist_followers (generated)"
    assert feature_label("danceability", MIXED) == "danceability"
    assert all(is_generated_feature(f, "generated") for f in features)
    assert not any(marked_generated(f, "generated") for f in features)
    for real in ("kaggle", "user files", "artists.csv: kaggle, tracks.csv: user files"):
        assert not any(is_generated_feature(f, real) for f in features)
        assert (
            marked_features(features, real) == []
            and generated_features_note(features, real) is None
        )
    # A generated tracks.csv beside the user's artists: every feature draws on it.
    reverse = "artists.csv: user files, tracks.csv: generated"
    assert marked_features(features, reverse) == features
    note = generated_features_note(features, MIXED)
    assert note.startswith("artist_followers, artist_genre_count (generated): the built-in")
    assert "artists.csv" in note
    assert generated_features_note(features, "generated") is None


def test_reasons_say_which_features_are_generated() -> None:
    """predict's and the app's reasons in words, and the service's reasons as entries."""
    from python_ml.tracks.feature_origin import reasons_in_words, with_generated_flags

    def entries() -> list[dict]:
        return [
            {"feature": "release_year", "value": 2019.0, "contribution": 1.42, "over": "lukewarm"},
            {"feature": "artist_followers", "value": 7e5, "contribution": 0.91, "over": "lukewarm"},
        ]

    assert reasons_in_words(entries(), MIXED) == (
        "over lukewarm: release year +1.42, artist followers (generated) +0.91"
    )
    for origin in ("generated", "kaggle", "user files"):
        assert reasons_in_words(entries(), origin) == (
            "over lukewarm: release year +1.42, artist followers +0.91"
        )
    assert reasons_in_words(None, MIXED) is None and reasons_in_words([], MIXED) is None
    (flagged,) = with_generated_flags([entries()], MIXED)
    assert [e["generated"] for e in flagged] == [False, True]
    (flagged,) = with_generated_flags([entries()], "generated")
    assert [e["generated"] for e in flagged] == [True, True]  # true of every generated value
    (flagged,) = with_generated_flags([entries()], "kaggle")
    assert [e["generated"] for e in flagged] == [False, False]


def test_the_artist_features_are_the_columns_the_enrichment_takes_from_artists_csv() -> None:
    """dbt var artist_features (read by feature_origin.py and rpt_feature_correlations) names
    exactly the columns int_tracks_enriched takes from artists.csv: a new artist column would
    otherwise be left unmarked beside a user's real tracks."""
    import re
    from pathlib import Path

    from python_ml.tracks.feature_origin import ARTIST_FEATURES

    sql = (
        Path(__file__).resolve().parents[2] / "models/intermediate/tracks/int_tracks_enriched.sql"
    ).read_text(encoding="utf-8")
    taken = re.findall(r"\bartists\.\w+\s+as\s+(\w+)", sql)
    assert taken and sorted(taken) == sorted(ARTIST_FEATURES)
