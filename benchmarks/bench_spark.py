"""Spark (local, this machine) against DuckDB on the same data: the staging-to-split build and
the champion's scoring, each step as its own process, wall time and peak memory.

    python -m benchmarks.bench_spark --folders 1x=DATA_FOLDER [10x=OTHER_FOLDER ...]

Each DATA_FOLDER holds a main job's data (``raw/``, ``warehouse.duckdb``, ``mlflow/`` with a
champion), e.g. ``data/`` after ``make run``. The Spark tables go to ``DATA_FOLDER/spark``.
Prints the figures and writes them to BENCHMARKS.md (section "spark"). A benchmark, never a
test.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from python_ml.settings import PROJECT_ROOT

STEPS = [
    # Every file read again on both (DuckDB's `load` of unchanged files does nothing: 1.2 s).
    ("duckdb", "load raw files", ["load", "--force"]),
    ("spark", "load raw files", ["load", "--engine", "spark"]),
    ("duckdb", "dbt build staging -> split", ["build"]),
    ("spark", "dbt build staging -> split", ["build", "--engine", "spark"]),
    ("duckdb", "score the predict split", ["score"]),
    ("spark", "score the predict split", ["score", "--engine", "spark"]),
]


def run(env: dict[str, str], args: list[str]) -> tuple[float, float]:
    """Wall seconds and the peak resident memory (GB) of the step's process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "python_ml", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"`python -m python_ml {' '.join(args)}` failed:\n{result.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024 / 1024


def measure(folder: Path) -> dict[tuple[str, str], tuple[float, float]]:
    env = {
        **os.environ,
        "MUSIC_RAW_DIR": str(folder / "raw"),
        "MUSIC_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "MUSIC_MLFLOW_DIR": str(folder / "mlflow"),
        "MUSIC_REPORTS_DIR": str(folder / "reports"),
        "MUSIC_SPARK_DIR": str(folder / "spark"),
    }
    figures = {}
    print(f"{folder}:\n{'engine':8} {'step':30} {'seconds':>8} {'peak GB so far':>15}")
    for engine, label, command in STEPS:
        seconds, peak = run(env, command)
        figures[(engine, label)] = (seconds, peak)
        print(f"{engine:8} {label:30} {seconds:8.1f} {peak:15.2f}", flush=True)
    return figures


def predict_rows(folder: Path) -> int:
    import duckdb

    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select count(*) from marts.fct_predict_tracks").fetchone()[0]


def main() -> None:
    from datetime import UTC, datetime

    from benchmarks.bench import write_section

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_spark")
    parser.add_argument(
        "--folders", nargs="+", required=True, metavar="LABEL=FOLDER", help="main job folders"
    )
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    from python_ml.warehouse.spark import SparkUnavailable, check_available

    try:  # the extra and Java, before the DuckDB half's minutes
        check_available()
    except SparkUnavailable as exc:
        raise SystemExit(str(exc)) from None
    started = datetime.now(UTC)
    results = {}
    for item in args.folders:
        label, folder = item.split("=", 1)
        results[label] = (measure(Path(folder).resolve()), predict_rows(Path(folder).resolve()))
    labels = list(results)
    lines = [
        "## Spark (local[*], this machine) against DuckDB",
        "",
        f"Measured by `python -m benchmarks.bench_spark` on {started:%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores. Each step is its own process (start-up included: a Spark "
        "session starts a JVM, about 10 s); peak memory is the largest so far in the run.",
        "",
        "| step | engine | " + " | ".join(f"{label} time (s)" for label in labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for engine, label, _ in STEPS:
        cells = [f"{results[x][0][(engine, label)][0]:.1f}" for x in labels]
        lines.append(f"| {label} | {engine} | " + " | ".join(cells) + " |")
    for x in labels:
        figures, rows = results[x]
        duck, spark = (
            figures[("duckdb", "score the predict split")][0],
            figures[("spark", "score the predict split")][0],
        )
        lines.append(
            f"\n- **{x}**: {rows:,} tracks scored; whole-process rows/s: DuckDB "
            f"{rows / duck:,.0f}, Spark {rows / spark:,.0f}; peak memory so far "
            f"{max(p for _, p in figures.values()):.1f} GB."
        )
    write_section(args.out, "spark", "\n".join(lines))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
