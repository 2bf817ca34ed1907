"""Confident calls: tracks whose most likely class has a probability of 0.999 or more, and
whether those that were wrong are more than calibrated probabilities allow. The one definition
the training's metrics (evaluate.py), the model card, the report's leaderboard and the app's
share; light (no NumPy, no scikit-learn) so the app and the report import it cheaply."""

from __future__ import annotations

import math
from typing import Any

# A confident call: the most likely class has at least this probability, so a calibrated model
# is expected to be wrong on at most 1 in 1,000 of them. The ECE (a mean over bins) hides a
# handful of confident errors among tens of thousands of tracks (gradient boosting without an
# L2 penalty once called three ice-cold tracks blazing-hot at 0.99999, holdout ECE 0.005).
CONFIDENT_PROBABILITY = 0.999


def as_count(value: Any) -> int | None:
    """A count from a row (None for NULL or NaN: not counted)."""
    return None if value is None or value != value else int(value)


# Confident errors beyond their expected count are called "too sure" when calibrated
# probabilities would give that many or more less often than this.
TOO_SURE_CHANCE = 0.001


def chance_of_at_least(errors: int, expected: float) -> float:
    """P(X >= errors) for X ~ Poisson(expected): the errors among confident calls when each
    call is wrong with 1 minus its probability (many calls, each rarely wrong)."""
    if errors <= 0:
        return 1.0
    term, below = math.exp(-expected), 0.0
    for k in range(errors):
        below += term
        term *= expected / (k + 1)
    return max(0.0, 1.0 - below)


def too_sure(errors: int | None, expected: float | None) -> bool:
    """Whether ``errors`` confident errors are too many for calibrated probabilities."""
    if errors is None or expected is None or expected != expected:
        return False
    return chance_of_at_least(errors, expected) < TOO_SURE_CHANCE


def confident_errors_cell(calls: Any, wrong: Any, expected: Any) -> str:
    """A run's confident errors as a table shows them: ``1 of 783 (0.4 expected)``, marked
    ``too sure`` past calibration's chance; ``none`` when no track was called that surely
    (blank when not counted)."""
    calls, wrong = as_count(calls), as_count(wrong)
    if calls is None or wrong is None or expected is None or expected != expected:
        return ""
    if calls == 0:
        return "none"
    cell = f"{wrong:,} of {calls:,} ({expected:.1f} expected)"
    return cell + " too sure" if too_sure(wrong, expected) else cell
