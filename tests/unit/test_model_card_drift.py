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
