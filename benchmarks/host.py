"""How fast this machine is today: a fixed piece of work, timed, printed beside every benchmark.

The host's speed moves from day to day, with no change of code and no other load on the
machine: the same first run at 1x took 125.9 s on 2026-12-05 and 193.0 s on 2026-12-06, both on
a quiet machine (load average under 1), and the service's single-track p50 went from 48.9 to
91.5 ms. Figures measured on different days compare only through a reference measured with
them. This one times three small, fixed tasks on one thread each (pure Python, NumPy's matrix
product, a DuckDB aggregate: the three kinds of work the pipeline does), best of three each, so
a later reader can tell "the code got slower" from "the host did".

``python -m benchmarks.host`` prints it alone (e.g. beside a figure measured by hand).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass


def _python() -> None:
    counts: dict[int, int] = {}
    value = 1
    for _ in range(600_000):
        value = value * 1_103_515_245 + 12_345 & 0x7FFFFFFF
        counts[value % 1_009] = counts.get(value % 1_009, 0) + 1
    sorted(counts.items(), key=lambda item: (item[1], item[0]))


def _numpy() -> None:
    import numpy as np

    a = np.arange(640_000, dtype=np.float64).reshape(800, 800) % 17.0
    for _ in range(4):
        a = (a @ a) % 17.0


def _duckdb() -> None:
    import duckdb

    with duckdb.connect(config={"threads": 1}) as con:
        con.execute("select sum(hash(i) % 97) from range(20000000) t(i)").fetchall()


TASKS: dict[str, Callable[[], None]] = {"Python": _python, "NumPy": _numpy, "DuckDB": _duckdb}


@dataclass(frozen=True)
class HostSpeed:
    seconds: dict[str, float]  # each task's best time of ``repeats``
    load_average: float  # the 1-minute load average before the tasks ran
    repeats: int

    def text(self) -> str:
        """One line for a benchmark's section."""
        times = ", ".join(f"{name} {s:.2f} s" for name, s in self.seconds.items())
        return (
            f"host reference (`python -m benchmarks.host`: fixed tasks on one thread, best of "
            f"{self.repeats}; lower is a faster host): {times}; load average "
            f"{self.load_average:.1f} before"
        )


def reference(repeats: int = 3) -> HostSpeed:
    """Time each task ``repeats`` times on one thread (BLAS and OpenMP too) and keep its best."""
    from threadpoolctl import threadpool_limits

    load = os.getloadavg()[0]
    best: dict[str, float] = {}
    with threadpool_limits(limits=1):
        for name, task in TASKS.items():
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                task()
                times.append(time.perf_counter() - started)
            best[name] = min(times)
    return HostSpeed(best, load, repeats)


if __name__ == "__main__":
    print(reference().text())
