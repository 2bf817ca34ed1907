"""What the report's, the model card's and the app's tables share: which columns hold numbers,
and shares of a whole written so that they add to 100%."""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_number_column(column: pd.Series) -> bool:
    """Whether a table column holds numbers (also numbers already written as text, such as a
    track's own value), which line up on the right; words and yes/no on the left."""
    if pd.api.types.is_bool_dtype(column):
        return False
    if pd.api.types.is_numeric_dtype(column):
        return True
    texts = [v.replace(",", "") for v in column if isinstance(v, str) and v != ""]  # 653,072
    return bool(texts) and bool(pd.to_numeric(pd.Series(texts), errors="coerce").notna().all())


def percentages(shares: list[float] | np.ndarray | pd.Series, decimals: int = 1) -> list[float]:
    """Shares of one whole (class probabilities, a split's classes) as percentages to
    ``decimals`` places that add to 100 (or to the shares' own total): each rounded down, then
    the places still missing given to those that lost the most (largest remainder). Rounded
    one by one, 0.3334 + 0.3333 + 0.3333 read 33.3 + 33.3 + 33.3 = 99.9%, and three other
    shares 100.1%."""
    scaled = np.asarray(shares, dtype=float) * 100 * 10**decimals
    if not len(scaled) or not np.isfinite(scaled).all():
        return [round(float(v) / 10**decimals, decimals) for v in scaled]
    floors = np.floor(scaled)
    missing = int(round(scaled.sum()) - floors.sum())
    # Ties go to the first: the same figures always round the same way.
    for i in np.argsort(-(scaled - floors), kind="stable")[:missing]:
        floors[i] += 1
    return [round(float(v) / 10**decimals, decimals) for v in floors]


def percentage_text(share: float, shown: float, decimals: int = 1) -> str:
    """``shown`` (one of :func:`percentages`) as text; a share that is not zero never reads
    0.0%: "<0.1%"."""
    if shown == 0 and share > 0:
        return f"<{10**-decimals:.{decimals}f}%"
    return f"{shown:.{decimals}f}%"
