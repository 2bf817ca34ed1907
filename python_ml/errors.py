"""The base of python_ml's worded errors."""

from __future__ import annotations


class UserError(Exception):
    """An error whose message says what went wrong and what to do: the command line prints the
    message alone (no type, no stack trace) and the app shows it as it is. Anything else is a
    bug or a surprise, shown with its type. Each class keeps the built-in base its callers
    catch too (e.g. ``class ConfigError(UserError, ValueError)``)."""
