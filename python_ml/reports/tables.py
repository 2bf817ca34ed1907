"""What the report's, the model card's and the app's tables share: which columns hold numbers,
and shares of a whole written so that they add to 100%."""

from __future__ import annotations

from typing import Any

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


def rounded_shares(shares: Any, decimals: int) -> np.ndarray:
    """Each row of ``shares`` (n x k: the parts of one whole per row) to ``decimals`` places,
    adding to the row's own total so rounded: each part rounded down, then the places still
    missing given to the parts that lost the most (largest remainder; ties to the first, so the
    same figures always round the same way). A row with a missing or infinite part is rounded
    part by part."""
    scaled = np.asarray(shares, dtype=float) * 10**decimals
    if scaled.size == 0:
        return scaled / 10**decimals
    floors = np.floor(scaled)
    with np.errstate(invalid="ignore"):
        missing = np.round(scaled.sum(axis=1)) - floors.sum(axis=1)
    order = np.argsort(-(scaled - floors), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(scaled.shape[1]), order.shape), 1)
    with np.errstate(invalid="ignore"):
        bumped = floors + (rank < missing[:, None])
    whole = np.isfinite(scaled).all(axis=1)
    return np.where(whole[:, None], bumped, np.round(scaled)) / 10**decimals


def percentages(shares: list[float] | np.ndarray | pd.Series, decimals: int = 1) -> list[float]:
    """Shares of one whole (class probabilities, a split's classes) as percentages to
    ``decimals`` places that add to 100 (or to the shares' own total), by
    :func:`rounded_shares`. Rounded one by one, 0.3334 + 0.3333 + 0.3333 read 33.3 + 33.3 +
    33.3 = 99.9%, and three other shares 100.1%."""
    row = np.asarray(shares, dtype=float).reshape(1, -1) * 100
    return [float(v) for v in rounded_shares(row, decimals)[0]]


def percentage_text(share: float, shown: float, decimals: int = 1) -> str:
    """``shown`` (one of :func:`percentages`) as text; a share that is not zero never reads
    0.0%: "<0.1%"."""
    if shown == 0 and share > 0:
        return f"<{10**-decimals:.{decimals}f}%"
    return f"{shown:.{decimals}f}%"
