"""Confident calls (python_ml/tracks/confident.py, evaluate.py): the tracks called at a
probability of 0.999 or more, those wrong, and whether they are more than calibration allows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from python_ml.reports.confidence import (
    chance_of_at_least,
    confident_errors_cell,
    too_sure,
)
from python_ml.tracks.evaluate import classification_metrics, confident_calls

CLASSES = ["ice_cold", "lukewarm", "blazing_hot"]


def test_confident_calls_count_the_top_label_at_0_999_and_the_wrong_ones() -> None:
    proba = np.array(
        [
            [0.9995, 0.0004, 0.0001],  # sure, right
            [0.0001, 0.0004, 0.9995],  # sure, wrong (true ice-cold)
            [0.998, 0.001, 0.001],  # not sure enough
            [0.2, 0.7, 0.1],
        ]
    )
    y = np.array([0, 0, 0, 1])
    counted = confident_calls(y, proba)
    assert counted["confident_calls"] == 2 and counted["confident_errors"] == 1
    assert counted["confident_expected_errors"] == pytest.approx(0.001)
    metrics = classification_metrics(y, proba, CLASSES)
    assert (metrics["confident_calls"], metrics["confident_errors"]) == (2, 1)


def test_the_chance_of_so_many_errors_under_calibration_is_poissons_tail() -> None:
    # P(X >= 3), X ~ Poisson(0.5) = 1 - e^-0.5 (1 + 0.5 + 0.125)
    assert chance_of_at_least(3, 0.5) == pytest.approx(1 - math.exp(-0.5) * 1.625)
    assert chance_of_at_least(0, 0.5) == 1.0
    assert chance_of_at_least(1, 0.0) == 0.0


def test_a_calibrated_handful_is_not_too_sure_and_the_boosting_defect_is() -> None:
    # The logistic regression of the 1x holdout: 1 wrong of 783 calls at 0.999+, 0.4 expected.
    assert not too_sure(1, 0.4)
    assert confident_errors_cell(783, 1, 0.4) == "1 of 783 (0.4 expected)"
    # Gradient boosting without an L2 penalty: 3 ice-cold tracks at 0.99999 blazing-hot among
    # some 300 calls whose probabilities say about 0.05 errors.
    assert too_sure(3, 0.05)
    assert confident_errors_cell(300, 3, 0.05) == "3 of 300 (0.1 expected) too sure"
    # Not counted (runs before the count): blank, never "too sure".
    assert confident_errors_cell(None, None, None) == "" and not too_sure(None, None)
    assert confident_errors_cell(10, 0, float("nan")) == ""
    # No track called that surely (the majority baseline): said so, not "0 of 0".
    assert confident_errors_cell(0, 0, 0.0) == "none"


def test_calibrated_probabilities_are_rarely_too_sure() -> None:
    """Draws whose classes follow their probabilities: too_sure fires about as rarely as its
    chance (0.001), not on every model with a few confident errors."""
    rng = np.random.default_rng(0)
    fired = 0
    for _ in range(200):
        top = rng.uniform(0.999, 1.0, 2_000)
        wrong = rng.uniform(size=top.size) > top
        fired += too_sure(int(wrong.sum()), float((1 - top).sum()))
    assert fired <= 2
