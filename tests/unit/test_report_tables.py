"""The report's and the model card's tables: numbers line up on the right (also numbers the
page writes as text, such as a track's own value), words on the left."""

from __future__ import annotations

import re

import pandas as pd

from python_ml.reports.charts import _table_html
from python_ml.reports.model_card import _table, card_html
from python_ml.reports.tables import is_number_column

FRAME = pd.DataFrame(
    {
        "raw file": ["spotify_600k.tracks", "spotify_2023.songs"],
        "origin": ["generated", "user files"],
        "rows": [586_672, 948],
        "share": [0.5, float("nan")],
        "value": ["2020", "-5.57"],
        "champion": [True, False],
    }
)


def test_report_tables_right_align_numbers_only() -> None:
    page = _table_html(FRAME)
    heads = re.findall(r"<th( class=\"n\")?>([^<]*)</th>", page)
    assert [name for cls, name in heads if cls] == ["rows", "share", "value"]
    first_row = re.search(r"<tbody><tr>(.*?)</tr>", page).group(1)
    assert re.findall(r"<td( class=\"n\")?>([^<]*)</td>", first_row) == [
        ("", "spotify_600k.tracks"),
        ("", "generated"),
        (' class="n"', "586,672"),
        (' class="n"', "0.500"),
        (' class="n"', "2020"),
        ("", "yes"),
    ]


def test_model_card_tables_right_align_numbers_only() -> None:
    lines = _table(FRAME)
    assert lines[1] == "|:---|:---|---:|---:|---:|:---|"
    assert lines[2].endswith("| 2020 | yes |")
    page = card_html("# card\n\n" + "\n".join(lines) + "\n")
    assert '<th style="text-align:right">rows</th>' in page
    assert '<td style="text-align:left">spotify_600k.tracks</td>' in page
    assert '<td style="text-align:right">-5.57</td>' in page


def test_the_card_never_writes_a_figure_that_is_not_zero_as_zero() -> None:
    """Its per-decade table wrote the 1980s' 3 true hits of 9,594 tracks as a share of 0.000,
    which reads as none."""
    per_decade = pd.DataFrame(
        {"decade": ["1970s", "1980s"], "tracks": [7_397, 9_594], "true hit share": [0.0, 3 / 9_594]}
    )
    lines = _table(per_decade)
    assert lines[2:] == ["| 1970s | 7,397 | 0.000 |", "| 1980s | 9,594 | <0.001 |"]
    assert lines[1] == "|:---|---:|---:|"  # still a column of numbers


def test_numbers_written_as_text_with_separators_are_numbers() -> None:
    assert is_number_column(pd.Series(["2019", "653,072", "0.143", ""]))
    assert is_number_column(pd.Series([1.5, 2.0]))


def test_words_and_yes_no_are_not() -> None:
    assert not is_number_column(pd.Series(["ice-cold", "12"]))
    assert not is_number_column(pd.Series([True, False]))
    assert not is_number_column(pd.Series(["", ""]))


def test_the_card_gives_each_class_its_intervals_and_names_the_rarest() -> None:
    """The card said the rare class's intervals 'are wide' and showed none."""
    from scipy.stats import binomtest

    from python_ml.reports.model_card import rare_class_limit, with_class_intervals

    per_class = pd.DataFrame(
        {
            "class": ["ice-cold", "lukewarm", "blazing-hot", "empty"],
            "true tracks": [32161, 25815, 691, 0],
            "called": [31456, 26440, 771, 0],
            "precision": [0.843, 0.770, 264 / 771, float("nan")],
            "recall": [0.825, 0.788, 264 / 691, float("nan")],
            "F1": [0.834, 0.779, 0.324, float("nan")],
        }
    )
    table = with_class_intervals(per_class)
    assert list(table.columns) == [
        "class",
        "true tracks",
        "called",
        "precision",
        "precision 95% interval",
        "recall",
        "recall 95% interval",
        "F1",
    ]
    hot = table.iloc[2]
    precision = binomtest(264, 771).proportion_ci(0.95, method="wilson")
    assert hot["precision 95% interval"] == f"{precision.low:.3f} - {precision.high:.3f}"
    low, high = (float(x) for x in hot["recall 95% interval"].split(" - "))
    assert low < 264 / 691 < high and high - low > 0.05  # wide: 691 tracks
    assert table.iloc[3]["recall 95% interval"] == "-"  # no true tracks: no interval
    line = rare_class_limit(table.iloc[:3])
    assert line.startswith("The rarest class, blazing-hot, has 691 true tracks of 58,667")
    assert hot["recall 95% interval"] in line


def test_the_card_names_where_the_probabilities_are_least_right() -> None:
    """The card said "a called probability of 0.8 is right about that often", while the rare
    class's probabilities ran above its observed share in every bin from 0.3 (the 1x run)."""
    from python_ml.reports.model_card import calibration_gaps
    from python_ml.warehouse.catalog import CALIBRATION_MIN_BIN_TRACKS

    rows = [
        ("ice_cold", 0.2, 4149, 0.249, 0.269),
        ("ice_cold", 0.9, 15258, 0.966, 0.971),
        ("blazing_hot", 0.0, 57085, 0.006, 0.006),
        ("blazing_hot", 0.3, 152, 0.349, 0.289),
        ("blazing_hot", 0.4, 84, 0.447, 0.417),
        ("blazing_hot", 0.5, 42, 0.542, 0.476),
        ("blazing_hot", 0.6, 24, 0.646, 0.583),
    ]
    bins = pd.DataFrame(
        rows,
        columns=["class_name", "bin_lower", "track_count", "mean_probability", "observed_share"],
    ).assign(bin_upper=lambda f: f["bin_lower"] + 0.1)
    text = calibration_gaps(bins, {"ice_cold": "ice-cold", "blazing_hot": "blazing-hot"})
    # The largest gaps first, each with its interval and whether noise could explain it.
    assert text.startswith(
        f"The largest gaps in bins of {CALIBRATION_MIN_BIN_TRACKS}+ tracks: blazing-hot 0.5-0.6, "
        "probability 0.542 against 0.476 observed in 42 tracks (95% interval "
    )
    assert "ice-cold 0.2-0.3, probability 0.249 against 0.269 observed in 4,149 tracks" not in (
        text  # the third largest is blazing-hot 0.3-0.4's 0.060 (ice-cold's is 0.020)
    )
    assert text.count("within it, noise could explain it") == 3
    # The lean no single bin shows: every bin from 0.3 up on one side, pooled.
    lean = text.split("blazing-hot from 0.3 up: ", 1)[1]
    assert lean.startswith(
        "the probability is above the observed share in all 4 bins; pooled, 0.427 against 0.374 "
        "in 302 tracks (95% interval "
    )
    # Inside the observed share's interval: not called overconfident (it was, at 0.427 against
    # an interval that ends at 0.429).
    assert lean.endswith(": within it): a lean noise could explain.")
    # Ten times the tracks: the same gap is outside it, and overconfident.
    more = bins.assign(track_count=bins["track_count"] * 10)
    lean = calibration_gaps(more, {"blazing_hot": "blazing-hot"}).split(" from 0.3 up: ", 1)[1]
    assert lean.endswith(": outside it): overconfident there.")
    assert "ice-cold from 0.3 up" not in text  # one bin: no lean to tell
    # Bins under CALIBRATION_MIN_BIN_TRACKS are pooled too, and said to be left out of the
    # charts (a reader counted 4 points on the chart against "all 6 bins").
    small = pd.concat(
        [
            bins,
            pd.DataFrame(
                [("blazing_hot", 0.7, 15, 0.75, 0.6), ("blazing_hot", 0.8, 4, 0.85, 0.5)],
                columns=[
                    "class_name",
                    "bin_lower",
                    "track_count",
                    "mean_probability",
                    "observed_share",
                ],
            ).assign(bin_upper=lambda f: f["bin_lower"] + 0.1),
        ]
    )
    lean = calibration_gaps(small, {"blazing_hot": "blazing-hot"}).split(" from 0.3 up: ", 1)[1]
    assert lean.startswith(
        "the probability is above the observed share in all 6 bins (2 of them under "
        f"{CALIBRATION_MIN_BIN_TRACKS} tracks, not drawn in the charts); pooled, "
    ), lean
    assert "tracks, not drawn" not in text  # every bin of the first case is drawn
    assert calibration_gaps(bins.iloc[0:0], {}) == "The calibration bins are not measured yet."


def test_percentages_add_to_100_where_rounding_one_by_one_does_not() -> None:
    from python_ml.reports.tables import percentage_text, percentages

    # Rounded one by one: 33.3 + 33.3 + 33.3 = 99.9 and 66.7 + 16.7 + 16.7 = 100.1.
    for shares in ([0.3334, 0.3333, 0.3333], [0.66666, 0.16667, 0.16667]):
        assert round(sum(round(s * 100, 1) for s in shares), 1) != 100.0
        assert round(sum(percentages(shares)), 1) == 100.0
    # The place goes to the share that lost the most; each stays within one place of itself.
    assert percentages([0.66666, 0.16667, 0.16667]) == [66.6, 16.7, 16.7]
    assert percentages([0.1, 0.2, 0.7]) == [10.0, 20.0, 70.0]
    # Shares of less than a whole add to their own total.
    assert round(sum(percentages([0.25, 0.1251])), 1) == 37.5
    # A share that is not zero never reads 0.0%.
    shown = percentages([0.0004, 0.5, 0.4996])
    assert shown[0] == 0.0
    assert [percentage_text(s, p) for s, p in zip([0.0004, 0.5, 0.4996], shown, strict=True)] == [
        "<0.1%",
        "50.0%",
        "50.0%",
    ]
    assert percentage_text(0.0, 0.0) == "0.0%"


def test_each_tracks_rounded_probabilities_add_to_exactly_1() -> None:
    """predict and the service wrote each probability rounded to 6 places on its own: in
    100,000 tracks of a review, 23% of the rows added to 0.999999 or 1.000001."""
    import numpy as np

    from python_ml.reports.tables import rounded_shares
    from python_ml.tracks.scorer import PROBABILITY_DECIMALS

    shares = np.random.default_rng(7).dirichlet([1.0, 1.0, 0.1], size=20_000)
    one_by_one = shares.round(PROBABILITY_DECIMALS)
    assert (np.round(one_by_one.sum(axis=1) * 1e6) != 1e6).mean() > 0.1
    rounded = rounded_shares(shares, PROBABILITY_DECIMALS)
    assert (np.round(rounded.sum(axis=1) * 1e6) == 1e6).all()  # as text, each row adds to 1
    assert np.abs(rounded - shares).max() < 1e-6  # each within one place of itself
    assert np.array_equal(rounded, np.round(rounded, PROBABILITY_DECIMALS))
    # A row with a missing part: each part rounded alone (as before), the others untouched.
    mixed = rounded_shares(np.array([[np.nan, 0.3333334, 0.6666666], [0.2, 0.3, 0.5]]), 6)
    assert np.isnan(mixed[0, 0]) and mixed[0, 1:].tolist() == [0.333333, 0.666667]
    assert mixed[1].tolist() == [0.2, 0.3, 0.5]
