"""A report the last main job stopped before drawing again says so at its top.

The page is a file: after a run that stopped at training (say, classes changed in the seed that
the tracks cannot fill), it kept the figures of the run before, with nothing saying they may no
longer describe the warehouse (the app refuses such figures; the page could not). The next
report drawn is written whole, without the note.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

START, END = "<!-- not-drawn-again -->", "<!-- /not-drawn-again -->"
STYLE = "background:#fdecea;border:1px solid #e0a39e;padding:.8em 1em;border-radius:4px"


def mark_not_drawn_again(page: Path, why: str, when: datetime | None = None) -> bool:
    """Put (or replace) the note at the top of ``page``, after its title: the run of ``when``
    stopped before drawing it (``why``: the failure in a line). False when there is no page,
    or it is not one the report wrote (no title)."""
    try:
        text = page.read_text(encoding="utf-8")
    except OSError:
        return False
    text = re.sub(re.escape(START) + ".*?" + re.escape(END) + "\n?", "", text, flags=re.S)
    title = text.find("</h1>")
    if title < 0:
        return False
    when = when or datetime.now(UTC)
    note = (
        f'{START}<p style="{STYLE}"><strong>Not drawn again.</strong> The main job of '
        f"{when:%Y-%m-%d %H:%M} UTC stopped before this report: {html.escape(why)}. This page "
        "is the report drawn before (its date is below): what changed since is not in it "
        "(<code>python -m python_ml status</code> lists what is stale).</p>"
        f"{END}\n"
    )
    at = title + len("</h1>")
    at += text[at : at + 1] == "\n"
    try:
        page.write_text(text[:at] + note + text[at:], encoding="utf-8")
    except OSError:  # a read-only reports folder: the run's own failure says what happened
        return False
    return True
