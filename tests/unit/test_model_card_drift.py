"""The model card's drift line: the mix of classes called is told apart from the features (it
was given as the largest feature's PSI: "largest PSI 0.001 (predicted_class)")."""

from __future__ import annotations

import pandas as pd

from python_ml.reports.model_card import drift_line


def _drift(rows: list[tuple[str, float, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["feature", "psi", "drift_status"])
    return frame.sort_values("psi", ascending=False, ignore_index=True)


def test_the_class_mix_is_not_the_largest_features_drift() -> None:
    line = drift_line(
        _drift([("predicted_class", 0.0012, "ok"), ("tempo", 0.0004, "ok")]), "generated", "10%"
    )
    assert "above the threshold: none; largest PSI of a feature 0.000 (tempo)" in line
    assert "; the mix of classes called 0.001." in line
    assert "(predicted_class)" not in line


def test_drifted_rows_are_named_in_words_with_the_generated_mark() -> None:
    line = drift_line(
        _drift(
            [
                ("predicted_class", 0.31, "drift"),
                ("artist_followers", 0.42, "drift"),
                ("tempo", 0.01, "ok"),
            ]
        ),
        "artists.csv: generated, tracks.csv: user files",
        "10%",
    )
    assert "above the threshold: artist_followers (generated) (0.42), the mix of classes " in line
    assert "called (0.31); largest PSI of a feature 0.420 (artist_followers (generated))" in line
    assert "; the mix of classes called 0.310." in line


def test_generated_artists_are_said_to_name_the_artist_and_the_new_artist_figure_given() -> None:
    """Random per artist, the generated artists.csv's features carry no reach but tell which
    artist a track is by: the card says so, with the champion's figure on unseen artists."""
    from python_ml.reports.model_card import generated_artists_limit

    said = generated_artists_limit(["artist_followers", "artist_genre_count"], 0.2791)
    assert said.startswith("The artist features (artist_followers, artist_genre_count) are")
    assert "as an id would" in said
    assert said.endswith("its macro-F1 is 0.279: what holds for a new artist's tracks.")
    assert "is not known" in generated_artists_limit(["artist_followers"], None)
    assert "is not known" in generated_artists_limit(["artist_followers"], float("nan"))
