"""A report the last main job stopped before drawing again says so at its top (it kept the
figures of the run before with nothing saying they may no longer describe the warehouse)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from python_ml.reports.stale import END, START, mark_not_drawn_again

PAGE = "<html><body>\n<h1>music-popularity: how popular will a track be?</h1>\n<p>banner</p>\n"


def test_the_note_goes_under_the_title_once_and_names_the_failure(tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_text(PAGE, encoding="utf-8")
    when = datetime(2026, 12, 8, 0, 21, tzinfo=UTC)
    assert mark_not_drawn_again(page, "train: too few tracks of class <blazing_hot>", when)
    assert mark_not_drawn_again(page, "train: too few tracks of class <blazing_hot>", when)
    text = page.read_text(encoding="utf-8")
    assert text.count(START) == text.count(END) == 1  # replaced, not stacked
    head, note = text.split(START)
    assert head.endswith("</h1>\n") and note.split(END)[1] == "\n<p>banner</p>\n"
    assert "The main job of 2026-12-08 00:21 UTC stopped before this report: train: too few" in note
    assert "&lt;blazing_hot&gt;" in note  # the failure's text escaped
    page.write_text(PAGE, encoding="utf-8")  # drawn again: written whole, without it
    assert START not in page.read_text(encoding="utf-8")


def test_no_page_or_a_page_the_report_did_not_write_is_left_alone(tmp_path: Path) -> None:
    assert not mark_not_drawn_again(tmp_path / "index.html", "x")
    other = tmp_path / "other.html"
    other.write_text("<p>the user's own page</p>", encoding="utf-8")
    assert not mark_not_drawn_again(other, "x")
    assert other.read_text(encoding="utf-8") == "<p>the user's own page</p>"
