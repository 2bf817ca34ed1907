"""The score page's reading of a rejected track's detail: which form fields it names, and what
it says of each (python_ml/reports/app_data.py)."""

from __future__ import annotations

import pandas as pd

from python_ml.reports.app_data import field_detail, rejected_fields


def _rejected(reason: str, detail: str) -> pd.Series:
    return pd.Series({"status": "rejected", "rejection_reason": reason, "rejection_detail": detail})


def test_the_fields_out_of_range_are_named_with_their_value_and_range() -> None:
    row = _rejected(
        "feature out of range", "danceability 50.0 (allowed: 0 to 1); mode 2 (allowed: one of 0, 1)"
    )
    assert rejected_fields(row) == ["danceability", "mode"]
    assert field_detail(row, "mode") == "mode 2 (allowed: one of 0, 1)"
    assert field_detail(row, "danceability") == "danceability 50.0 (allowed: 0 to 1)"


def test_missing_features_and_dates_name_their_fields() -> None:
    missing = _rejected("missing feature", "tempo, key")
    assert rejected_fields(missing) == ["tempo", "key"]
    assert field_detail(missing, "tempo") == "tempo"
    date = _rejected("unparseable release date", "20")
    assert rejected_fields(date) == ["release_date"]
    assert field_detail(date, "release_date") == "20"
    too_old = _rejected("release date out of range", "1850-02-03 (allowed: 1900 to 2027)")
    assert rejected_fields(too_old) == ["release_date"]
    # The whole detail at the field (it named only the field before: "release_date").
    assert field_detail(too_old, "release_date") == "1850-02-03 (allowed: 1900 to 2027)"
    assert rejected_fields(pd.Series({"status": "scored"})) == []


def test_unparseable_numbers_are_named_with_their_text_even_when_it_holds_a_comma() -> None:
    row = _rejected(
        "unparseable number",
        "key 5.5 (not a whole number written in digits); tempo 1,5 (not a finite number)",
    )
    assert rejected_fields(row) == ["key", "tempo"]
    assert field_detail(row, "tempo") == "tempo 1,5 (not a finite number)"
    assert field_detail(row, "key") == "key 5.5 (not a whole number written in digits)"
