"""Progress bars on the long steps a person watches (training, the songs study, scoring).

tqdm, shown only on a terminal (``disable=None``): logs, CI and the Dagster UI get the timed
log lines alone. Log lines printed meanwhile go above the bar, not through it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

T = TypeVar("T")


@contextmanager
def bar(total: int, description: str, unit: str = "step") -> Iterator[tqdm]:
    """A bar of ``total`` steps; call ``.update()`` after each."""
    with (
        logging_redirect_tqdm(),
        tqdm(
            total=total, desc=description, unit=unit, disable=None, leave=False, file=sys.stderr
        ) as progress,
    ):
        yield progress


def each(items: Iterable[T], total: int, description: str, unit: str = "step") -> Iterator[T]:
    """``items`` with a bar that advances after each one has been handled."""
    with bar(total, description, unit) as progress:
        for item in items:
            yield item
            progress.update()
