"""Which report table columns line up as numbers: also numbers already written as text."""

import pandas as pd

from python_ml.reports.tables import is_number_column


def test_numbers_written_as_text_with_separators_are_numbers() -> None:
    assert is_number_column(pd.Series(["2019", "653,072", "0.143", ""]))
    assert is_number_column(pd.Series([1.5, 2.0]))


def test_words_and_yes_no_are_not() -> None:
    assert not is_number_column(pd.Series(["ice-cold", "12"]))
    assert not is_number_column(pd.Series([True, False]))
    assert not is_number_column(pd.Series(["", ""]))
