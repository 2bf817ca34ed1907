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


def test_the_decision_rule_is_said_as_the_champion_was_tuned() -> None:
    """The score page said "chosen on the validation fold for macro-F1, so that rarer classes
    are called ..." for every champion, one tuned for accuracy (weights of 1) too."""
    from python_ml.reports.app_data import decision_rule_sentence

    labels = {"ice_cold": "ice-cold", "lukewarm": "lukewarm", "blazing_hot": "blazing-hot"}
    flat = {"ice_cold": 1.0, "lukewarm": 1.0, "blazing_hot": 1.0}
    assert decision_rule_sentence(flat, labels, "accuracy", 0.007) == (
        "The class called is the most probable one (plain argmax: the rule maximises "
        "accuracy, which the most probable class does)."
    )
    assert "no weighting did better for macro-F1" in decision_rule_sentence(
        flat, labels, "macro_f1", 0.007
    )
    weighted = {"ice_cold": 1.0, "lukewarm": 1.0, "blazing_hot": 2.5}
    said = decision_rule_sentence(weighted, labels, "macro_f1", 0.007, most_probable="lukewarm")
    assert "weights ice-cold x1.00, lukewarm x1.00, blazing-hot x2.50" in said
    assert "chosen on the validation fold for macro-F1, giving up at most 0.007" in said
    assert said.endswith("differ from the most probable class (here lukewarm).")
