"""One timed log line per step, shared by the CLI's single commands and the asset graph."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from python_ml.errors import UserError

log = logging.getLogger("python_ml")


def configure_logging(level: int = logging.INFO) -> None:
    """The log lines' form (``12:00:01 INFO    ...``), for the command line and for the
    processes it starts that log on their own (``serve --workers N``'s workers)."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S"
    )


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
