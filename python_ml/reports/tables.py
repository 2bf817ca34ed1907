"""What the report's and the model card's tables share: which columns hold numbers."""

from __future__ import annotations

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
