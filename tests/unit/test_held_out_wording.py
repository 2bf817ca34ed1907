"""The model card's and the report's sentence on new artists and newer releases is worded from
the figures: a check above validation is never called worse."""

import math

from python_ml.reports.model_card import held_out_comparison


def test_each_check_is_compared_with_validation() -> None:
    text = held_out_comparison(0.638, 0.650, 0.533)
    assert "(0.638)" in text
    assert "on artists unseen in training 0.650 (higher)" in text
    assert "on newer releases (forward in time) 0.533 (lower)" in text
    assert "the random split overstates" in text  # said only when a check is lower
    assert "overstates" not in held_out_comparison(0.638, 0.650, 0.640)


def test_a_small_gap_is_about_the_same_and_a_missing_check_is_said() -> None:
    text = held_out_comparison(0.638, 0.641, math.nan)
    assert "on artists unseen in training 0.641 (about the same)" in text
    assert "on newer releases (forward in time): not measured" in text
    assert (
        held_out_comparison(None, 0.5, 0.5) == "The champion's validation macro-F1 is not recorded."
    )
