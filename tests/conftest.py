"""What every test, of tests/unit as of tests/python, leaves as it found it: the process's
environment and dbt's process-wide flags. A test's in-process code that sets either reaches
every later test on the same pytest-xdist worker, and `make test` hands modules of both folders
to the same two workers in an order that changes as tests are added."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def restore_environment() -> Iterator[None]:
    """Each test leaves the process environment as it found it: a variable a test's in-process
    code left behind reaches every later test on the same worker and the commands they start.
    (The pipeline's in-process runs once left ``MUSIC_AUTOLOAD_RAW=false``, and a later plain
    `dbt build --target spark` did not load the raw files; orchestration/resources.py now sets
    it only while dagster-dbt starts dbt. MLflow's client sets ``MLFLOW_TRACKING_URI`` to the
    test's scratch folder, which the next test on the worker would have written to.)"""
    saved = dict(os.environ)
    yield
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    for key, value in saved.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


@pytest.fixture(autouse=True)
def restore_dbt_flags() -> Iterator[None]:
    """Each test leaves dbt's global flags (``dbt.flags.GLOBAL_FLAGS``) as it found them. An
    in-process dbt command, or dagster-dbt's ``set_from_args``, sets them for the whole process,
    and the raw-file plugin reads the command from them (it loads nothing for a command that
    builds no models): in ci30 the plugin's test met another test's command and found 0 loads.
    Nothing is imported here that the test did not import."""
    module = sys.modules.get("dbt.flags")
    saved = module.get_flags() if module is not None else None
    yield
    module = sys.modules.get("dbt.flags")
    if module is None:
        return
    # dbt's own initial value when the module was first imported during this test.
    module.set_flags(saved if saved is not None else argparse.Namespace(USE_COLORS=True))
