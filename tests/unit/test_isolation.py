"""tests/conftest.py: what a test sets in the process (environment, dbt's global flags) is gone
for the next test. The two tests run in this order (pytest keeps a module's order, and
`make test` hands a module to one worker as a whole)."""

from __future__ import annotations

import argparse
import os

from dbt.flags import get_flags, set_flags

PROBE = "MUSIC_TEST_ISOLATION_PROBE"


def test_a_test_sets_a_variable_and_dbts_command() -> None:
    assert PROBE not in os.environ
    os.environ[PROBE] = "left behind"
    os.environ["MLFLOW_TRACKING_URI"] = "file:///a/scratch/folder/that/is/gone"
    set_flags(argparse.Namespace(WHICH="compile"))
    assert getattr(get_flags(), "WHICH", None) == "compile"


def test_the_next_test_meets_neither() -> None:
    assert PROBE not in os.environ
    assert os.environ.get("MLFLOW_TRACKING_URI") != "file:///a/scratch/folder/that/is/gone"
    assert getattr(get_flags(), "WHICH", None) != "compile"
