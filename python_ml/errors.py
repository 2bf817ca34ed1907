"""The base of python_ml's worded errors."""

from __future__ import annotations


class UserError(Exception):
    """An error whose message says what went wrong and what to do: the command line prints the
    message alone (no type, no stack trace) and the app shows it as it is. Anything else is a
    bug or a surprise, shown with its type. Each class keeps the built-in base its callers
    catch too (e.g. ``class ConfigError(UserError, ValueError)``)."""


# What a full disk says: Python's OSError (errno 28), SQLite's (MLflow's store) and DuckDB's.
DISK_FULL = ("No space left on device", "database or disk is full")


def disk_full(said: str, errno_: int | None = None) -> str | None:
    """One line on a disk that filled up part-way (``said``: an error's text, a library's of
    many lines: an OSError of errno 28, MLflow's SQLite store "database or disk is full",
    DuckDB's "No space left on device"), naming where the project writes; or None."""
    import errno

    if errno_ != errno.ENOSPC and not any(text in said for text in DISK_FULL):
        return None
    from python_ml.settings import load_settings

    settings = load_settings()
    folders = ", ".join(
        str(f) for f in (settings.warehouse.parent, settings.mlflow_dir, settings.reports_dir)
    )
    shown = next((t for t in DISK_FULL if t in said), DISK_FULL[0])
    return (
        f"A disk is full (`{shown}`): free space where the project writes ({folders}) and run "
        "the command again. What finished before is kept (a training reuses its finished runs; "
        "the warehouse and the champion are as they were)."
    )
