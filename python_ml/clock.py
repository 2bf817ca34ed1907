"""The project's one clock: naive UTC timestamps, as the warehouse stores them."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now in UTC without a time zone (DuckDB's and Spark's ``timestamp``)."""
    return datetime.now(UTC).replace(tzinfo=None)
