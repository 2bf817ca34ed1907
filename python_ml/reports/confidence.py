"""Whether a model's confident errors (the tracks called at a probability of 0.999 or more,
python_ml/tracks/confident.py, and wrong) are more than calibrated probabilities allow, and how
the report's and the app's leaderboard and the model card show them. Light (no NumPy, no
scikit-learn): the app imports it."""

from __future__ import annotations

import math
from typing import Any


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
