"""`make bench` rewrites its own table in BENCHMARKS.md and keeps everything after it: the
sections other benchmarks wrote and the notes people wrote between them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from benchmarks.bench import Measurement, write_report, write_section

STAGES = (
    "dbt run (no tests): staging to split",
    "plain DuckDB SQL: staging to split",
    "score predict split",
)


def test_a_new_report_keeps_the_other_sections_and_the_notes(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nold table\n", encoding="utf-8")
    write_section(path, "service", "## Service\n\n| case | figure |")
    with path.open("a", encoding="utf-8") as f:
        f.write("\n### Notes on the service figures\n\n- measured by hand, kept\n")
    write_section(path, "stale", "## Stale\n\nfigures")
    tail = path.read_text(encoding="utf-8")[len("# Benchmarks\n\nold table\n") :]

    results = {1.0: {s: Measurement(s, 2.0, 100.0, True) for s in STAGES}}
    write_report(path, [1.0], results, datetime(2026, 12, 5, tzinfo=UTC))
    text = path.read_text(encoding="utf-8")
    assert "old table" not in text and "| score predict split | 2.0 | 100 |" in text
    assert text.endswith(tail)  # sections and notes, in their order, unchanged
    assert "- measured by hand, kept" in text


def test_the_report_names_the_hosts_speed_measured_with_it(tmp_path: Path) -> None:
    """The host's speed moves from day to day: each report carries the reference timed with
    it, so figures of different days can be compared."""
    from benchmarks.host import TASKS, HostSpeed, reference

    speed = reference(repeats=1)
    assert set(speed.seconds) == set(TASKS) and all(s > 0 for s in speed.seconds.values())
    assert speed.repeats == 1 and speed.load_average >= 0

    host = HostSpeed({"Python": 0.5, "NumPy": 0.25, "DuckDB": 1.0}, 0.42, 3)
    path = tmp_path / "BENCHMARKS.md"
    results = {1.0: {s: Measurement(s, 2.0, 100.0, True) for s in STAGES}}
    write_report(path, [1.0], results, datetime(2026, 12, 5, tzinfo=UTC), host)
    assert (
        "The host reference (`python -m benchmarks.host`: fixed tasks on one thread, best of 3; "
        "lower is a faster host): Python 0.50 s, NumPy 0.25 s, DuckDB 1.00 s; load average 0.4 "
        "before.\n" in path.read_text(encoding="utf-8")
    )
