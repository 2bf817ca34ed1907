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
