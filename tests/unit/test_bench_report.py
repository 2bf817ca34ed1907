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
