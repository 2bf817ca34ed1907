"""One timed log line per step, shared by the CLI's single commands and the asset graph."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from python_ml.errors import UserError

log = logging.getLogger("python_ml")


class StepFailed(UserError, RuntimeError):
    """A step of the main job failed; the message names it."""


@contextmanager
def step(name: str) -> Iterator[None]:
    log.info("==> %s", name)
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        log.error("<== %s failed after %.1f s", name, time.perf_counter() - started)
        raise
    log.info("<== %s done in %.1f s", name, time.perf_counter() - started)
