"""The score page's upload table says every class by its label, as the app's other pages do:
the class called, the runner-up and the runner-up its reasons are over (it showed
`lukewarm` beside `over ice_cold: ...` and a runner-up `blazing_hot`)."""

from __future__ import annotations

import pandas as pd

from python_ml.reports.app_data import with_class_labels

LABELS = {"ice_cold": "ice-cold", "lukewarm": "lukewarm", "blazing_hot": "blazing-hot"}


def test_every_class_the_upload_table_shows_is_a_label() -> None:
    scored = pd.DataFrame(
        {
            "line": [2, 3, 4],
            "status": ["scored", "scored", "rejected"],
            "predicted_class": ["lukewarm", "blazing_hot", None],
            "runner_up_class": ["ice_cold", "lukewarm", None],
            "reasons": [
                "over ice_cold: release year +1.95, loudness -0.27",
                "over lukewarm: artist followers +1.41",
                None,
            ],
            "name": ["over ice_cold: a title", "b", "c"],  # the user's own columns as given
        }
    )
    shown = with_class_labels(scored, LABELS)
    assert shown["predicted_class"].tolist()[:2] == ["lukewarm", "blazing-hot"]
    assert shown["runner_up_class"].tolist()[:2] == ["ice-cold", "lukewarm"]
    assert shown["reasons"].tolist()[:2] == [
        "over ice-cold: release year +1.95, loudness -0.27",
        "over lukewarm: artist followers +1.41",
    ]
    assert shown["predicted_class"].isna().iloc[2] and shown["reasons"].isna().iloc[2]
    assert shown["name"].tolist() == scored["name"].tolist()
    assert scored["runner_up_class"].iloc[0] == "ice_cold"  # the download's frame unchanged
