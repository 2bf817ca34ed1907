"""Loading the raw files into the warehouse's ``raw`` schema: the EL before dbt's T.

Each file is read by DuckDB's CSV reader with every column as text and ``store_rejects``:
a row that does not parse (a field too many or too few, an unterminated quote, bytes that are
not in the file's encoding, a line over the size limit) is quarantined in ``raw.load_rejects``
with its file line, its raw text and DuckDB's reason, and the rest loads. Then

    rows read = rows kept + rows rejected

holds for every file (``raw.load_log``), and the dbt project's rejected-rows report lists
parse failures beside validation failures. A rejected share above ``max_rejected_share`` (a
dbt var, 1% by default; dbt's ``--vars`` override it, python_ml's ``load --vars`` and ``build
--vars`` too) stops the load: the warehouse keeps the previous tables.

Before anything is read: each source is exactly its own file (``name.csv`` or
``name.csv.gz``), a gzip file is checked whole (a truncated download is named), the 2023
file's encoding is detected (UTF-8 or latin-1), and the header is checked. Paths reach DuckDB
as query parameters, never inside SQL text. Everything is replaced in one transaction.

File lines: DuckDB numbers a row by the lines before it, but counts a record with a quoted
line break as one line. A pass of Python's CSV reader maps DuckDB's numbers to the file's
physical lines (blank lines counted as the file counts them), so every reported line is the
one an editor shows.

A file is loaded again only when it changed (``stale_files``): the log keeps each file's path,
size, load time and SHA-256, so a raw folder copied or moved elsewhere is recognised by its
content and not loaded again; the log then names the file where it now is (``record_moves``).
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import logging
import os
import sys
import tempfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from python_ml.clock import utc_now
from python_ml.errors import UserError
from python_ml.raw.extract import (
    EMPTY_FILE_FIX,
    ExtractError,
    check_header,
    find_raw_file,
    read_header,
)
from python_ml.raw.origin import file_sha256
from python_ml.raw.schemas import RAW_FILES, RawFile
from python_ml.settings import Settings
from python_ml.steps import step
from python_ml.warehouse import catalog, db

log = logging.getLogger(__name__)

EXAMPLES_SHOWN = 3


class LoadError(UserError, RuntimeError):
    """A raw file cannot be loaded; the message names the file (and line) and what to do."""


@dataclass
class PlannedFile:
    raw: RawFile
    path: Path
    encoding: str
    header: list[str]
    # The file the user gave, when ``path`` is a scratch copy of it (``predict``'s input): the
    # loader's messages name it.
    shown_as: Path | None = None

    @property
    def named(self) -> Path:
        return self.shown_as or self.path


@dataclass
class LoadedFile:
    raw: RawFile
    path: Path
    encoding: str
    rows_read: int
    rows_kept: int
    rows_rejected: int
    examples: list[str]
    # The rows of the same table's last load and when it was, when this file has far fewer.
    shrunk_from: tuple[int, Any] | None = None
    # The file's line it ends in the middle of, when that line does not parse (cut off).
    cut_at: int | None = None

    @property
    def rejected_share(self) -> float:
        return self.rows_rejected / self.rows_read if self.rows_read else 0.0

    def log(self) -> None:
        """One line per file, and a warning naming some quarantined lines."""
        log.info(
            # "kept" said the same as dbt's count after its checks, which reject more (953
            # kept here, 948 in `<source>: ... kept` after the build): these rows parse.
            "loaded %s: %s rows read, %s parse, %s quarantined (%s); dbt's checks come next",
            self.path,
            f"{self.rows_read:,}",
            f"{self.rows_kept:,}",
            f"{self.rows_rejected:,}",
            self.encoding,
        )
        if self.rows_rejected:
            log.warning(
                "%s: %s and %s quarantined (raw.load_rejects, marts.rpt_rejected_rows), e.g. %s",
                self.path,
                "1 row does not parse"
                if self.rows_rejected == 1
                else f"{self.rows_rejected:,} rows do not parse",
                "is" if self.rows_rejected == 1 else "are",
                "; ".join(self.examples),
            )
        if self.shrunk_from:
            before, loaded_at = self.shrunk_from
            log.warning(
                "%s has %s rows, %.0f%% fewer than the %s of the last load (%s UTC): a file "
                "cut short? Check it, or download it again (`python -m python_ml extract "
                "--force`); its rows replace the earlier ones",
                self.path,
                f"{self.rows_read:,}",
                100 * (1 - self.rows_read / before),
                f"{before:,}",
                f"{loaded_at:%Y-%m-%d %H:%M}",
            )

    def check_cut_short(self) -> None:
        """A LoadError for a file that ends in the middle of a line that does not parse and
        has far fewer rows than its last load: cut off while downloaded or copied. Loaded, it
        replaced the warehouse's rows and the split with half of them (and `predict` then
        said to train on this data)."""
        if self.cut_at is None or self.shrunk_from is None:
            return
        before, loaded_at = self.shrunk_from
        raise LoadError(
            f"{self.path} looks cut short: it ends in the middle of its line "
            f"{self.cut_at:,}, which does not parse, and has {self.rows_read:,} rows, "
            f"{100 * (1 - self.rows_read / before):.0f}% fewer than the {before:,} loaded at "
            f"{loaded_at:%Y-%m-%d %H:%M} UTC. Nothing in the warehouse was changed. Download "
            "it again (`python -m python_ml extract --force`) or copy it again; to load it as "
            "it is, remove its unfinished last line."
        )

    def check_share(self, threshold: float) -> None:
        """A LoadError when more than ``threshold`` of the file's rows do not parse."""
        if self.rejected_share > threshold:
            raise LoadError(
                f"{self.path}: {self.rejected_share:.1%} of its rows "
                f"({self.rows_rejected:,} of {self.rows_read:,}) do not parse, "
                f"above the {threshold:.1%} allowed (the dbt var {REJECTED_SHARE_VAR}: "
                f"dbt_project.yml's, or --vars '{{{REJECTED_SHARE_VAR}: 0.05}}' given to dbt "
                "or to python -m python_ml load or build), "
                f"e.g. {'; '.join(self.examples)}. Fix or download "
                "the file again; nothing in the warehouse was changed."
            )


REJECTED_SHARE_VAR = "max_rejected_share"


def max_rejected_share(settings: Settings, dbt_vars: dict[str, Any] | None = None) -> float:
    """The dbt var ``max_rejected_share``, as dbt's ``var()`` reads it (the singular test
    assert_rejected_share_below_threshold), so dbt and the loader agree: from ``dbt_vars``
    (the command's ``--vars``: a plain ``dbt build --vars ...`` through the dbt plugin,
    python_ml's ``load`` and ``build``) when they give it, else dbt_project.yml's, its one
    definition."""
    if dbt_vars and REJECTED_SHARE_VAR in dbt_vars:
        value = dbt_vars[REJECTED_SHARE_VAR]
    else:
        value = catalog.dbt_var(REJECTED_SHARE_VAR, settings.project_root)
    try:
        share = float(value)
    except (TypeError, ValueError):
        share = -1.0
    if not 0 <= share <= 1:  # NaN too
        raise LoadError(
            f"The dbt var {REJECTED_SHARE_VAR} must be a share of a file's rows from 0 to 1 "
            f"(0.05 for 5%), not {value!r}."
        )
    return share


# --------------------------------------------------------------------------------------------
# before reading


class DamagedFileError(LoadError):
    """A .gz file that cannot be read to its end (``reason``: why); the message says to
    download or copy the raw file again (predict words its own for an input file)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"{path} is damaged ({reason}): it was probably cut off while downloading or "
            "copying. Download it again (`python -m python_ml extract --force`) or copy it again."
        )
        self.path, self.reason = path, reason


def check_gzip(path: Path) -> None:
    """Read a .gz file whole: a truncated or damaged archive is named before DuckDB reads it."""
    try:
        with gzip.open(path, "rb") as stream:
            while stream.read(1 << 24):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        raise DamagedFileError(path, str(exc)) from None


def _read_bytes(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        return stream.read()


def detect_encoding(path: Path, raw: RawFile) -> str:
    """The file's encoding among those its source accepts: UTF-8 when every byte decodes as
    UTF-8 and UTF-8 is accepted, else the first accepted one."""
    if len(raw.encodings) == 1:
        return raw.encodings[0]
    if "utf-8" in raw.encodings:
        try:
            _read_bytes(path).decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            pass
    return next(e for e in raw.encodings if e != "utf-8")


def plan(raw_dir: Path, files: list[RawFile] = RAW_FILES) -> list[PlannedFile]:
    """Every raw file, resolved and checked, or a LoadError saying what is wrong."""
    planned = []
    for raw in files:
        try:
            path = find_raw_file(raw_dir, raw)
            if path is None:
                raise LoadError(
                    f"{raw_dir / raw.dataset / raw.name} is missing. Run "
                    "`python -m python_ml extract` (downloads from Kaggle, or writes built-in "
                    "data without credentials), or copy the file there."
                )
            if path.suffix == ".gz":
                check_gzip(path)
            encoding = detect_encoding(path, raw)
            check_header(path, raw)
            header = read_header(path, (encoding,))
        except ExtractError as exc:
            raise LoadError(str(exc)) from None
        if path.stat().st_size == 0 or not header:
            raise LoadError(f"{path} is empty. {EMPTY_FILE_FIX}")
        unnamed = [i for i, name in enumerate(header, start=1) if not name.strip()]
        if unnamed:
            at_end = unnamed[0] == len(header)
            raise LoadError(
                f"{path}: column {unnamed[0]} of the header (line 1) has no name"
                + (" (a comma at the end of the line?)" if at_end else "")
                + ": name it or remove that column from the file."
            )
        planned.append(PlannedFile(raw, path, encoding, header))
    return planned


# --------------------------------------------------------------------------------------------
# file lines


def record_lines(path: Path, encoding: str) -> list[tuple[int, int, int]]:
    """For every non-blank record after the header: (DuckDB's line number, the physical line
    it starts on, the physical line it ends on: later than its start for a quoted line break,
    or the lines a quote never closed took in)."""
    csv.field_size_limit(sys.maxsize)
    opener = gzip.open if path.suffix == ".gz" else open
    out: list[tuple[int, int, int]] = []
    with opener(path, "rb") as binary:
        text = io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")
        reader = csv.reader(text, strict=False)
        previous_end = 0
        embedded = 0
        try:
            for record in reader:
                start = previous_end + 1
                end = reader.line_num
                if record:
                    out.append((start - embedded, start, end))
                embedded += end - start
                previous_end = end
        except csv.Error as exc:  # the mapping is best effort; DuckDB's numbers remain
            log.warning("%s: file lines after line %d are DuckDB's (%s)", path, previous_end, exc)
    return out[1:]


def physical_lines(path: Path, encoding: str, wanted: set[int]) -> dict[int, str]:
    """The ``wanted`` physical lines of a file (1 = its first line; lines end where
    :func:`record_lines` ends them), without their line ending. Bytes that are not valid in
    ``encoding`` are kept as surrogate escapes: written back with ``errors="surrogateescape"``
    they are the file's own bytes again."""
    out: dict[int, str] = {}
    if not wanted:
        return out
    last = max(wanted)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as binary:
        text = io.TextIOWrapper(binary, encoding=encoding, errors="surrogateescape", newline="")
        for number, line in enumerate(text, start=1):
            if number in wanted:
                out[number] = line.rstrip("\r\n")
            if number >= last:
                break
    return out


# --------------------------------------------------------------------------------------------
# loading


def _columns_literal(header: list[str]) -> str:
    """A DuckDB struct literal naming every header column as VARCHAR (names quoted)."""
    entries = ", ".join("'" + name.replace("'", "''") + "': 'VARCHAR'" for name in header)
    return "{" + entries + "}"


# DuckDB's CSV reader's longest line (its max_line_size): a longer line is rejected as "line
# size over maximum", or, longer than its read buffer, lost without an error.
MAX_LINE_BYTES = 2_000_000


def _lines_longer_than(parts: list[_Part], limit: int) -> list[tuple[int, int]]:
    """The physical lines of ``parts`` longer than ``limit`` bytes, as (file line, bytes)."""
    found: list[tuple[int, int]] = []
    for part in parts:
        number, length = 1, 0

        def over(number: int, length: int, part: _Part = part) -> None:
            if length > limit:
                found.append((part.file_line(number) if number > 1 else number, length))

        opener = gzip.open if part.path.suffix == ".gz" else open
        with opener(part.path, "rb") as binary:
            while chunk := binary.read(CHUNK):
                pieces = chunk.split(b"\n")
                for piece in pieces[:-1]:
                    over(number, length + len(piece))
                    number, length = number + 1, 0
                length += len(pieces[-1])
        over(number, length)
    return found


PART_COLUMN = "_music_part_path"  # the column naming the part each kept row was read from


@dataclass
class _Part:
    """A file DuckDB reads in a pass: the raw file itself, or the lines a quote never closed
    took in, written out after the header to be read again. ``file_lines[i]`` is the file line
    of the part's physical line ``i + 2`` (the line after its header); None: the part is the
    file (its lines are the file's)."""

    path: Path
    file_lines: list[int] | None = None

    def file_line(self, line: int) -> int:
        return line if self.file_lines is None else self.file_lines[line - 2]


@dataclass
class _Rejected:
    """A record DuckDB rejected, at the part's physical lines ``start`` .. ``end`` (``end``
    None: its lines are unknown, the part's line scan disagreeing with DuckDB's numbers, and
    ``start`` is DuckDB's number). ``text`` and ``message`` are DuckDB's; ``broken_quote``:
    DuckDB found a quote never closed in it."""

    part: _Part
    start: int
    end: int | None
    error_type: str
    column: str | None
    text: str | None
    message: str | None
    broken_quote: bool


def _read_parts(
    con: duckdb.DuckDBPyConnection, item: PlannedFile, parts: list[_Part], number: int
) -> tuple[str, list[int | None], list[_Rejected], list[_Part]]:
    """One DuckDB pass over ``parts``, each read as a file of its own: (the stage table of the
    kept rows, in the parts' order, each kept row's file line in the same order, the rejected
    records, the parts to read again on their own)."""
    raw = item.raw
    stage = f"stage_{raw.dataset}__{raw.table}_{number}"
    rejects = f"rejects_{raw.table}_{raw.dataset}_{number}"
    scans = f"rejects_scan_{raw.table}_{raw.dataset}_{number}"
    # DuckDB appends to rejects tables that exist: a connection that reads a file again (the
    # scoring path's, for each CSV `predict` or the app's upload scores) must not see the
    # rejects of the file before.
    con.execute(f"drop table if exists {rejects}")
    con.execute(f"drop table if exists {scans}")
    con.execute(
        f"""
        create or replace temp table {stage} as
        select row_number() over () as kept_index, *
        from read_csv(
            $paths,
            auto_detect = false, header = true, delim = ',', quote = '"', escape = '"',
            encoding = '{item.encoding}', columns = {_columns_literal(item.header)},
            filename = '{PART_COLUMN}',
            store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{scans}'
        )
        """,
        {"paths": [str(part.path) for part in parts]},
    )
    # One row per rejected record: a quote never closed if it has one (the columns it took
    # in are missing after it), else its first failing column's error (a line over the size
    # limit has no column), and whether any of its errors is a quote never closed.
    found = con.execute(
        f"""
        select s.file_path, e.line, min_by(e.error_type, e.rank),
               min_by(e.column_name, e.rank), min_by(e.csv_line, e.rank),
               min_by(e.error_message, e.rank), bool_or(e.error_type = 'UNQUOTED VALUE')
        from (select *, (error_type <> 'UNQUOTED VALUE')::int * 1000000
                        + coalesce(column_idx, 0) as rank
              from {rejects}) as e
        inner join {scans} as s on s.scan_id = e.scan_id and s.file_id = e.file_id
        group by s.file_path, e.line order by e.line
        """
    ).fetchall()
    # Each part's kept rows are together in the stage, in the parts' order (DuckDB keeps the
    # order it reads in): the kept rows' lines below follow that order.
    spans = con.execute(
        f"select {PART_COLUMN}, min(kept_index), max(kept_index), count(*) from {stage} "
        "group by all order by 2"
    ).fetchall()
    listed = [str(part.path) for part in parts]
    if [row[0] for row in spans] != [p for p in listed if p in {row[0] for row in spans}] or any(
        last - first + 1 != count for _, first, last, count in spans
    ):
        raise RuntimeError(f"DuckDB read the parts of {item.named} out of their order")
    ranges = {path: count for path, _, _, count in spans}
    by_part: dict[str, list[tuple]] = {}
    for row in found:
        by_part.setdefault(row[0], []).append(row[1:])
    kept_lines: list[int | None] = []
    rejected: list[_Rejected] = []
    accounted = records_found = 0
    retry: list[_Part] = []
    for part in parts:
        key = str(part.path)
        kept = ranges.get(key, 0)
        rows = by_part.get(key, [])
        records = record_lines(part.path, item.encoding)
        rejected_lines = {row[0] for row in rows}
        extent = {duck: (start, end) for duck, start, end in records}
        lines: list[int | None] = [s for d, s, _ in records if d not in rejected_lines]
        if len(parts) > 1 and (len(lines) != kept or kept + len(rows) != len(records)):
            # Reading many files at once, DuckDB's reader loses some of their rejected records
            # (153 of 1,834 parts of a file with a broken quote every 7 lines; none of them
            # when each part was read alone): such a part is read again on its own.
            retry.append(part)
            continue
        accounted += kept + len(rows)
        records_found += len(records)
        if len(lines) != kept:
            log.warning(
                "%s: DuckDB kept %d rows, the line scan found %d: lines are DuckDB's numbers",
                item.named,
                kept,
                len(lines),
            )
            lines = [d for d, _, _ in records if d not in rejected_lines][:kept]
            lines += [None] * (kept - len(lines))
            extent = {}
        kept_lines += [None if line is None else part.file_line(line) for line in lines]
        for line, error_type, column, text, message, quote in rows:
            start, end = extent.get(line, (line, None))
            rejected.append(
                _Rejected(part, start, end, error_type, column, text, message, bool(quote))
            )
    if accounted < records_found:
        # DuckDB's reader accounted for fewer rows than the file has: seen on a 586,672-row
        # file with many lines that are not UTF-8, which it read to line 542,481 and then
        # stopped at without an error. Rows neither kept nor quarantined would be lost.
        encoding = item.encoding.upper()
        not_text = sum(1 for r in rejected if r.error_type == "INVALID ENCODING")
        long_lines = [] if not_text else _lines_longer_than(parts, MAX_LINE_BYTES)
        if long_lines:
            # A line of tens of MB (a field holding a whole file): DuckDB rejects a line over
            # its limit as "line size over maximum", but loses one longer than its read buffer
            # without a word.
            line, size = long_lines[0]
            more = f" (and {len(long_lines) - 1:,} more)" if len(long_lines) > 1 else ""
            raise LoadError(
                f"{item.named}: line {line}{more} is {size:,} bytes long, more than DuckDB's "
                f"CSV reader reads ({MAX_LINE_BYTES:,} bytes a line), and was neither read nor "
                "rejected; nothing was loaded: shorten that line's values or remove the line."
            )
        why = (
            f"; {not_text:,} of its lines are not {encoding} text: save the file as {encoding} "
            "(e.g. `iconv -f latin1 -t utf-8`) and load it again"
            if not_text
            else ": check the file, or download it again"
        )
        raise LoadError(
            f"{item.named}: DuckDB's CSV reader read {accounted:,} of its "
            f"{records_found:,} rows (kept or rejected) and stopped without an error, so the "
            f"rest would be lost; nothing was loaded{why}."
        )
    if retry:  # their rows leave the stage, the others' are numbered again in order
        paths = [str(part.path) for part in retry]
        con.execute(
            f"""
            create or replace temp table {stage}_read as
            select row_number() over (order by kept_index) as kept_index,
                   * exclude (kept_index)
            from {stage} where {PART_COLUMN} not in (select unnest($paths))
            """,
            {"paths": paths},
        )
        con.execute(f"drop table {stage}")
        con.execute(f"alter table {stage}_read rename to {stage}")
    return stage, kept_lines, rejected, retry


def _swallowed(text: str | None) -> list[str]:
    """The lines after the first of a rejected record: what an unterminated quote took in."""
    lines = (text or "").replace("\r\n", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines[1:]


def _settle(
    rejected: list[_Rejected], item: PlannedFile, scratch: Path, number: int
) -> tuple[list[tuple], list[_Part]]:
    """The rejected records as raw.load_rejects rows (file line, error type, column, text,
    message), each with its text as the file has it (DuckDB's can be another line's), and the
    parts to read in the next pass: the lines each quote never closed took in, each its own
    part, from the file's own bytes (a byte not valid in the file's encoding stays invalid and
    is quarantined under its own line, instead of turning into '?' and being kept)."""
    from_file = []  # per record: its text read from the file (else DuckDB's is shown)
    for r in rejected:
        from_file.append(r.end is not None)
        if r.end is None:  # its lines unknown: what DuckDB's text says a broken quote took in
            r.end = r.start + (len(_swallowed(r.text)) if r.broken_quote else 0)
            if r.broken_quote:
                r.text = (r.text or "").split("\n", 1)[0]
    wanted: dict[Path, set[int]] = {}
    for r in rejected:
        wanted.setdefault(r.part.path, set()).update(range(r.start, r.end + 1))
    # One read of each part for all of its records.
    lines_of = {path: physical_lines(path, item.encoding, want) for path, want in wanted.items()}
    header = ",".join('"' + h.replace('"', '""') + '"' for h in item.header)
    rows: list[tuple] = []
    parts: list[_Part] = []
    for r, own_text in zip(rejected, from_file, strict=True):
        own = lines_of[r.part.path]
        message = r.message
        taken = list(range(r.start + 1, r.end + 1)) if r.broken_quote else []
        if own_text:
            shown = [r.start] if r.broken_quote else list(range(r.start, r.end + 1))
            text = "\n".join(own.get(k, "") for k in shown)
            r.text = text.encode(item.encoding, "surrogateescape").decode(item.encoding, "replace")
        if taken:
            again = scratch / f"{item.raw.dataset}__{item.raw.table}_{number}_{len(parts)}.csv"
            body = [header, *(own.get(k, "") for k in taken)]
            again.write_bytes(("\n".join(body) + "\n").encode(item.encoding, "surrogateescape"))
            parts.append(_Part(again, [r.part.file_line(k) for k in taken]))
            message = (
                f"{message} The quote is not closed on this line; the lines after it "
                "were read on their own."
            )
        if r.error_type == "INVALID ENCODING":  # DuckDB's text names neither cause nor fix
            text_kind = item.encoding.upper()
            message = (
                f"the line is not {text_kind} text: save the file as {text_kind} (its other "
                "lines are read)."
            )
        else:
            message = _in_words(r.error_type, message)
        line = r.part.file_line(r.start)
        # DuckDB names the column where its reading stopped, not the one the quote opened in.
        column = None if r.broken_quote else r.column
        rows.append((line, r.error_type or "UNPARSEABLE", column, r.text, message))
    return rows, parts


def _in_words(error_type: str | None, message: str) -> str:
    """DuckDB's message for a line it could not read, said as the project says things (its
    text was shown as it was: "Maximum line size of 2000000 bytes exceeded. Actual Size:
    5000203 bytes.", "Expected Number of Columns: 20 Found: 17", "Value with unterminated quote
    found."); any other as DuckDB's."""
    import re

    if error_type == "LINE SIZE OVER MAXIMUM":
        size = re.search(r"Actual Size:\s*(\d+)", message or "")
        over = f"{int(size.group(1)) / 1e6:.1f} MB, " if size else ""
        return (
            f"the line is {over}over the {MAX_LINE_BYTES / 1e6:g} MB a line may hold: "
            "shorten its long value (a whole text pasted into one field?)."
        )
    counts = re.search(r"Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)", message or "")
    if error_type in ("MISSING COLUMNS", "TOO MANY COLUMNS") and counts:
        expected, found = (int(n) for n in counts.groups())
        fix = (
            "a value or its comma is missing, or the line was cut off"
            if found < expected
            else "a value holds a comma without quotes around it, or a comma too many"
        )
        values = "1 value" if found == 1 else f"{found} values"
        return f"the line has {values} where the header has {expected} columns: {fix}."
    if error_type == "UNQUOTED VALUE":  # DuckDB: "Value with unterminated quote found."
        return (
            "a value's opening quote (\") is not closed where the value ends: end the value "
            'with a quote, and write a quote inside it as two (""); a file cut off inside a '
            "quoted value ends so."
        )
    return message


CHUNK = 1 << 24  # bytes read at a time by the byte-level passes below


def cut_off_line(path: Path, rejected_lines: list[int]) -> int | None:
    """The line the file ends in the middle of (no line break after it), when it is among
    the lines that do not parse (``rejected_lines``): the file was cut off while written,
    downloaded or copied. None otherwise (a .gz file cut off is damaged: check_gzip)."""
    if not rejected_lines or path.suffix == ".gz":
        return None
    with path.open("rb") as stream:
        if stream.seek(0, os.SEEK_END) == 0:
            return None
        stream.seek(-1, os.SEEK_END)
        if stream.read(1) == b"\n":
            return None
        stream.seek(0)
        last = 1
        while chunk := stream.read(CHUNK):
            last += chunk.count(b"\n")
    return last if max(rejected_lines) == last else None


def mixed_line_endings(path: Path) -> bool:
    """True when some lines of the file end with CR LF (Windows) and others with LF alone:
    DuckDB's CSV reader stops on such a file with "state machine reached an invalid state"
    and reads none of it (a row added in another editor, say)."""
    opener = gzip.open if path.suffix == ".gz" else open
    windows = unix = False
    ended_with_cr = False
    with opener(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            if b"\r" not in chunk and not ended_with_cr:  # the usual case, found fast
                unix = unix or b"\n" in chunk
            else:
                both = chunk.count(b"\r\n") + (ended_with_cr and chunk.startswith(b"\n"))
                windows = windows or both > 0
                unix = unix or chunk.count(b"\n") > both
            if windows and unix:
                return True
            ended_with_cr = chunk.endswith(b"\r")
    return False


def write_with_lf_endings(path: Path, out: Path) -> None:
    """The file with every CR LF line ending written as LF (``out``, not compressed): the same
    lines, numbered the same, that DuckDB's reader can read."""
    opener = gzip.open if path.suffix == ".gz" else open
    pending = b""
    with opener(path, "rb") as source, out.open("wb") as target:
        while chunk := source.read(CHUNK):
            chunk = pending + chunk
            pending = b"\r" if chunk.endswith(b"\r") else b""
            target.write(chunk[: len(chunk) - len(pending)].replace(b"\r\n", b"\n"))
        target.write(pending)


def _load_one(
    con: duckdb.DuckDBPyConnection,
    item: PlannedFile,
    loaded_at: datetime,
    scratch: Path,
    raw_dir: Path,
) -> LoadedFile:
    """Read one raw file into its raw table. A quote that is never closed makes DuckDB take
    the following lines into one rejected record; that record is quarantined as its own line
    and the lines it took in are read again, so every line of the file is kept or rejected
    under its own number."""
    raw = item.raw
    # Taken before the file is read: a file that changes while it loads does not match them.
    size, sha256 = item.path.stat().st_size, file_sha256(item.path)
    data_origin = _file_origin(raw_dir, item.path)
    source = item.path
    if mixed_line_endings(item.path):
        source = scratch / f"{raw.dataset}__{raw.table}_lf.csv"
        write_with_lf_endings(item.path, source)
        log.info(
            "%s mixes Windows (CR LF) and Unix (LF) line endings: read with LF throughout "
            "(the same rows and lines)",
            item.named,
        )
    passes = [[_Part(source)]]
    stages: list[tuple[str, list[int | None]]] = []
    rejected: list[tuple] = []
    # A pass reads all the parts a pass before left at once: a file with thousands of quotes
    # never closed takes a pass per level of quotes inside what a quote took in, not one per
    # quote (a part DuckDB miscounts among many is read again alone).
    while passes:
        stage, kept_lines, found, retry = _read_parts(con, item, passes.pop(0), len(stages))
        stages.append((stage, kept_lines))
        rows, parts = _settle(found, item, scratch, len(stages))
        rejected += rows
        passes += [[part] for part in retry] + ([parts] if parts else [])
    rejected.sort(key=lambda r: r[0])
    kept = sum(len(lines) for _, lines in stages)
    lines = pa.table(
        {
            "segment": pa.array([i for i, (_, ls) in enumerate(stages) for _ in ls], pa.int64()),
            "kept_index": pa.array(
                [k for _, ls in stages for k in range(1, len(ls) + 1)], pa.int64()
            ),
            "file_line": pa.array([line for _, ls in stages for line in ls], pa.int64()),
        }
    )
    union = " union all ".join(
        f"select {i} as segment, * from {stage}" for i, (stage, _) in enumerate(stages)
    )
    con.register("kept_lines", lines)
    con.execute("create schema if not exists raw")
    con.execute(
        f"""
        create or replace table {raw.raw_table} as
        select kept_lines.file_line, s.* exclude (segment, kept_index, {PART_COLUMN}),
               $loaded_at as _loaded_at
        from ({union}) as s
        inner join kept_lines
            on s.segment = kept_lines.segment and s.kept_index = kept_lines.kept_index
        order by kept_lines.file_line nulls last, s.segment, s.kept_index
        """,
        {"loaded_at": loaded_at},
    )
    con.unregister("kept_lines")
    for stage, _ in stages:
        con.execute(f"drop table {stage}")
    reject_rows = [
        (
            raw.dataset,
            raw.table,
            str(item.path),
            line,
            error_type,
            column_name,
            csv_line[:10_000] if csv_line else csv_line,
            error_message,
            loaded_at,
        )
        for line, error_type, column_name, csv_line, error_message in rejected
    ]
    con.execute(
        f"delete from {catalog.LOAD_REJECTS} where dataset = ? and table_name = ?",
        [raw.dataset, raw.table],
    )
    if reject_rows:
        con.executemany(
            f"insert into {catalog.LOAD_REJECTS} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            reject_rows,
        )
    examples = [f"line {r[3]}: {r[4].lower()} ({r[7]})" for r in reject_rows[:EXAMPLES_SHOWN]]
    result = LoadedFile(
        raw, item.path, item.encoding, kept + len(rejected), kept, len(rejected), examples
    )
    result.cut_at = cut_off_line(item.path, [r[0] for r in rejected])
    before = con.execute(
        f"select rows_read, loaded_at from {catalog.LOAD_LOG} where dataset = ? and table_name = ?",
        [raw.dataset, raw.table],
    ).fetchone()
    if before and before[0] and result.rows_read < SHRUNK_SHARE * before[0]:
        result.shrunk_from = (int(before[0]), before[1])
    con.execute(
        f"delete from {catalog.LOAD_LOG} where dataset = ? and table_name = ?",
        [raw.dataset, raw.table],
    )
    con.execute(
        f"insert into {catalog.LOAD_LOG} ({', '.join(LOAD_LOG_COLUMNS)}) "
        f"values ({', '.join('?' for _ in LOAD_LOG_COLUMNS)})",
        [
            raw.dataset,
            raw.table,
            str(item.path),
            item.encoding,
            size,
            result.rows_read,
            result.rows_kept,
            result.rows_rejected,
            loaded_at,
            sha256,
            data_origin,
            loader_version(),
        ],
    )
    return result


# A file with fewer rows than this share of its last load's is warned of (cut short?).
SHRUNK_SHARE = 0.9

# raw.load_log's columns, in the order the table has them (file_sha256 and data_origin came
# last: a warehouse from before them gains the columns, see create_log_tables).
LOAD_LOG_COLUMNS = (
    "dataset",
    "table_name",
    "file_path",
    "encoding",
    "file_bytes",
    "rows_read",
    "rows_kept",
    "rows_rejected",
    "loaded_at",
    "file_sha256",
    "data_origin",
    "loader_version",
)


def loader_version() -> str:
    """The version of the loader's code, recorded with each file's load: a file loaded by
    other code loads again (an edit to the loader, to a file's columns or to how its origin is
    told changed nothing until the file did). codebase.LOADER says which code."""
    from python_ml.codebase import loader_version as version

    return version()


def _file_origin(raw_dir: Path, path: Path) -> str:
    """Where the file came from (kaggle, generated or user files: python_ml/raw/origin.py),
    recorded with its load so that every report built on it can say so."""
    from python_ml.raw import origin

    try:
        return origin.file_origin(raw_dir, path)
    except ValueError:  # not inside the raw folder: put there by the user
        return origin.USER


def create_log_tables(con: duckdb.DuckDBPyConnection) -> None:
    """raw.load_rejects and raw.load_log (Spark's copies take their columns from here too). A
    warehouse made before raw.load_log recorded each file's SHA-256 and origin gains the
    columns when it loads (stale_files counts every file of such a log as stale, so they all
    load once more and every row has them)."""
    con.execute("create schema if not exists raw")
    con.execute(
        f"""
        create table if not exists {catalog.LOAD_REJECTS} (
            dataset varchar not null, table_name varchar not null, file_path varchar not null,
            file_line bigint not null, error_type varchar not null, column_name varchar,
            raw_text varchar, error_message varchar, loaded_at timestamp not null
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {catalog.LOAD_LOG} (
            dataset varchar not null, table_name varchar not null, file_path varchar not null,
            encoding varchar not null, file_bytes bigint not null, rows_read bigint not null,
            rows_kept bigint not null, rows_rejected bigint not null,
            loaded_at timestamp not null, file_sha256 varchar, data_origin varchar,
            loader_version varchar
        )
        """
    )
    for column in catalog.LOAD_LOG_NEWER_COLUMNS:
        con.execute(f"alter table {catalog.LOAD_LOG} add column if not exists {column} varchar")


def load_into(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    files: list[RawFile] = RAW_FILES,
    enforce_threshold: bool = True,
    loaded_at: datetime | None = None,
    log_results: bool = True,
    dbt_vars: dict[str, Any] | None = None,
    shown_as: Path | None = None,
) -> list[LoadedFile]:
    """Load the raw files into ``raw`` of the open warehouse ``con`` in one transaction (see
    the module doc): every check first, then every table, or nothing at all. Every row is
    stamped ``loaded_at`` (now, by default). ``log_results`` false: the caller reports the
    files' figures itself (``predict`` names the user's file, not its scratch copy).
    ``dbt_vars``: the command's dbt ``--vars`` (:func:`max_rejected_share`). ``shown_as``: the
    file the user gave, which the messages name, when the one file loaded is a copy of it."""
    threshold = max_rejected_share(settings, dbt_vars) if enforce_threshold else 1.0
    planned = plan(settings.raw_dir, files)
    if shown_as is not None:
        planned = [dataclasses.replace(item, shown_as=shown_as) for item in planned]
    loaded_at = loaded_at or utc_now()
    results = []
    con.execute("begin transaction")
    try:
        create_log_tables(con)
        for item in planned:
            try:
                with tempfile.TemporaryDirectory(prefix="music-load-") as scratch:
                    result = _load_one(con, item, loaded_at, Path(scratch), settings.raw_dir)
            except duckdb.Error as exc:
                raise LoadError(
                    f"{item.named} cannot be read as a CSV file ({str(exc).splitlines()[0]}). "
                    "Check that it is the Kaggle file, or download it again."
                ) from None
            results.append(result)
            if enforce_threshold:
                result.check_cut_short()
            result.check_share(threshold)
            if enforce_threshold and not result.rows_read:
                # Loaded, it would replace the warehouse's rows with none: the champion's
                # artists, say, which scoring reads (a file cut to its header, not a new one).
                raise LoadError(
                    f"{item.path} has a header but no rows: nothing in the warehouse was "
                    f"changed. {EMPTY_FILE_FIX}"
                )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    if log_results:  # "loaded" once they are: a file refused after it said so had not been
        for result in results:
            result.log()
    return results


def load_raw(
    settings: Settings,
    files: list[RawFile] = RAW_FILES,
    enforce_threshold: bool = True,
    dbt_vars: dict[str, Any] | None = None,
) -> list[LoadedFile]:
    """Load the raw files into the warehouse's schema ``raw`` (:func:`load_into`). The others
    found at a new path with the content loaded are then recorded there, as the dbt plugin
    does (only when nothing was loaded were they: the log kept naming a scratch folder, which
    a later error gave as where the tables came from)."""
    plan(settings.raw_dir, files)  # a missing or bad file is named before the warehouse opens
    with db.connect(settings.warehouse, read_only=False) as con:
        loaded = load_into(con, settings, files, enforce_threshold, dbt_vars=dbt_vars)
        others = [raw for raw in RAW_FILES if raw not in files]
        if others:
            moved: list[tuple[RawFile, str]] = []
            stale_files(con, settings, others, moved=moved)
            record_moves(con, moved)
        return loaded


def stale_files(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    files: list[RawFile] = RAW_FILES,
    moved: list[tuple[RawFile, str]] | None = None,
) -> list[tuple[RawFile, str]]:
    """The raw files whose tables in the open warehouse ``con`` need loading again, each with
    why (:func:`stale_reasons`; ``moved`` collects the files found at a new path with the
    loaded content, for :func:`record_moves`). A log from before the loader kept each file's
    SHA-256 counts every file as stale: they load once more and are compared by content
    from then on."""
    tables = _tables(con)
    if catalog.LOAD_LOG not in tables:
        return [(raw, "nothing was loaded yet") for raw in files]
    missing = catalog.load_log_lacks(con)
    if missing:
        reason = (
            f"raw.load_log is from before it recorded each file's {catalog.in_words(missing)}: "
            "loaded once more"
        )
        return [(raw, reason) for raw in files]
    logged = con.execute(
        "select dataset, table_name, file_path, file_bytes, loaded_at, file_sha256, "
        f"loader_version from {catalog.LOAD_LOG}"
    ).fetchall()
    return stale_reasons(settings.raw_dir, files, logged, tables, moved)


def record_moves(con: duckdb.DuckDBPyConnection, moved: list[tuple[RawFile, str]]) -> None:
    """The new path of each file found at a new path with the loaded content (``moved`` from
    :func:`stale_files`), in ``raw.load_log`` and ``raw.load_rejects``: their tables stay as
    they are, later commands find the file where the log says it is, and the rejected rows
    name the file as it now is."""
    if not moved:
        return
    con.execute("begin transaction")
    try:
        for raw, path in moved:
            was = con.execute(
                f"select file_path, loaded_at from {catalog.LOAD_LOG} "
                "where dataset = ? and table_name = ?",
                [raw.dataset, raw.table],
            ).fetchone()
            if was is not None and was[0] != path:  # once, as the new path is recorded
                log.info(
                    "%s has the content loaded from %s at %s UTC: not loaded again",
                    path,
                    was[0],
                    f"{was[1]:%Y-%m-%d %H:%M}",
                )
            for table in (catalog.LOAD_LOG, catalog.LOAD_REJECTS):
                con.execute(
                    f"update {table} set file_path = ? where dataset = ? and table_name = ?",
                    [path, raw.dataset, raw.table],
                )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def stale_reasons(
    raw_dir: Path,
    files: list[RawFile],
    logged: list[tuple[str, str, str, int, datetime, str | None, str | None]],
    tables: set[str],
    moved: list[tuple[RawFile, str]] | None = None,
    version: str | None = None,
) -> list[tuple[RawFile, str]]:
    """The raw files whose tables need loading again, each with why (empty: the tables hold
    exactly the files in ``raw_dir`` now). ``logged`` are the ``raw.load_log`` rows
    (dataset, table, path, bytes, loaded at, SHA-256, loader version), ``tables`` the tables
    that exist (``raw.<dataset>__<table>``): DuckDB's warehouse and Spark's catalogue answer
    the same way. A file loaded by another version of the loader (``version``: today's,
    :func:`loader_version` when not given) loads again.

    A file is unchanged when it has the logged size and either is the logged path, not
    modified (or replaced: its status-change time) after it was loaded, or has the logged
    content (SHA-256): a copied or moved raw
    folder, or a file touched without a change, is not loaded again (a file at a new path is
    added to ``moved``, when given, as (raw file, its path)). The file is only read to hash it
    when its path or time differ."""
    entries = {(row[0], row[1]): row[2:] for row in logged}
    version = version or loader_version()
    reasons: list[tuple[RawFile, str]] = []
    for raw in files:
        try:
            path = find_raw_file(raw_dir, raw)
        except ExtractError as exc:
            # Both tracks.csv and tracks.csv.gz, a copy beside it, a folder in its place: the
            # load names it and stops (it was warned of as missing, and the old table used).
            reasons.append((raw, str(exc)))
            continue
        entry = entries.get((raw.dataset, raw.table))
        if path is None:
            if raw.raw_table not in tables:
                reasons.append((raw, f"{raw.dataset}/{raw.name} is missing"))
            else:  # the file moved away: the tables loaded from it stay in use
                log.warning(
                    "%s is missing: the raw table %s loaded from it is used as it is",
                    raw_dir / raw.dataset / raw.name,
                    raw.raw_table,
                )
            continue
        if entry is None:
            reasons.append((raw, f"{path} was never loaded"))
        elif raw.raw_table not in tables:
            reasons.append((raw, f"{raw.raw_table} does not exist"))
        else:
            logged_path, logged_size, loaded_at, logged_sha, logged_version = entry
            stat = path.stat()
            when = f"{loaded_at:%Y-%m-%d %H:%M}"
            if logged_version != version:  # one reason for all: said once
                reasons.append((raw, "the loader's code changed since the files were loaded"))
                continue
            if logged_path == str(path) and untouched_since(path, logged_size, loaded_at):
                continue
            if logged_size == stat.st_size and logged_sha and file_sha256(path) == logged_sha:
                if logged_path != str(path) and moved is not None:  # said as it is recorded
                    moved.append((raw, str(path)))
                continue
            if logged_path == str(path):
                reasons.append((raw, f"{path} changed since it was loaded at {when}"))
            else:
                reasons.append((raw, f"{path} is not the file loaded from {logged_path} at {when}"))
    return reasons


def untouched_since(path: Path, size: int, loaded_at: datetime) -> bool:
    """The file at ``path`` has ``size`` bytes and was neither modified nor replaced after
    ``loaded_at`` (naive UTC): it holds what was loaded from it then."""
    stat = path.stat()
    # The later of its modification and status-change times: `cp -p`, `rsync -a` or a
    # backup's `tar x` give a replaced file an old modification time (and, of the same
    # size, it was taken for the loaded one: "up to date"), but not an old status
    # change, which only the kernel sets.
    modified = datetime.fromtimestamp(max(stat.st_mtime, stat.st_ctime), UTC).replace(tzinfo=None)
    return size == stat.st_size and modified <= loaded_at


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }


def loaded_raw_folders(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The raw folders the warehouse's raw tables were loaded from (the load log's)."""
    if not db.has_table(con, catalog.LOAD_LOG):
        return []
    paths = [r[0] for r in con.execute(f"select file_path from {catalog.LOAD_LOG}").fetchall()]
    return sorted({str(Path(p).parent.parent) for p in paths})


def missing_raw_folder(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> str | None:
    """A raw folder that does not exist, on a warehouse loaded from one, is a mistyped or
    unset MUSIC_RAW_DIR: the sentence naming both folders (plain `dbt build` and `load` stop
    on it), or None. A file missing from an existing folder is still used as loaded
    (stale_reasons)."""
    folders = [] if raw_dir.is_dir() else loaded_raw_folders(con)
    if not folders:
        return None
    state = "is a file, not a folder" if raw_dir.exists() else "does not exist"
    return (
        f"The raw folder {raw_dir} (MUSIC_RAW_DIR) {state}; the warehouse's raw "
        f"tables were loaded from {', '.join(folders)}. Set MUSIC_RAW_DIR to the folder of "
        "the raw files (or, with plain dbt, build from the tables as loaded: "
        "MUSIC_AUTOLOAD_RAW=false dbt build)."
    )


def refuse_a_mistyped_raw_folder(settings: Settings) -> None:
    """Before `run` extracts: a raw folder that does not exist, on a warehouse loaded from
    another one, stops it (:func:`missing_raw_folder`). Extract would write built-in data
    into the new folder, and the run would load it over the loaded files and train on it.
    The folder the tables were loaded from, removed, is made again by extract, as before."""
    if settings.raw_dir.is_dir() or not settings.warehouse.exists():
        return
    with db.connect(settings.warehouse) as con:
        loaded_here = str(settings.raw_dir) in loaded_raw_folders(con)
        mistyped = None if loaded_here else missing_raw_folder(con, settings.raw_dir)
    if mistyped:
        raise LoadError(
            f"{mistyped} To start from new raw files in that folder, put them there (or run "
            "`python -m python_ml extract`) first; `run` does not make it (it would write "
            "built-in data there and train on it)."
        )


def files_to_load(settings: Settings, force: bool = False) -> list[RawFile]:
    """The raw files the warehouse's raw tables do not hold as they are now (each with a line
    saying why), none when they all do, every one with ``force`` or without a warehouse. The
    same files found at a new path are recorded there (the log follows a moved folder). What
    the `load` command and the raw-table assets of `run` load."""
    if force or not settings.warehouse.exists():
        return list(RAW_FILES)
    moved: list = []
    with db.connect(settings.warehouse) as con:
        # `load` and `build` said each file was missing, used the tables and passed.
        mistyped = missing_raw_folder(con, settings.raw_dir)
        if mistyped:
            raise LoadError(mistyped)
        stale = stale_files(con, settings, moved=moved)
    # A moved file's new path, recorded when nothing is loaded (a load that fails changes
    # nothing; the next look finds the moved file again).
    if moved and not stale:
        with db.RunLock(settings.warehouse), db.connect(settings.warehouse, read_only=False) as con:
            record_moves(con, moved)
    if not stale:
        log.info("==> load the raw files: up to date (the raw tables hold these files)")
        return []
    for reason in dict.fromkeys(reason for _, reason in stale):  # a shared one once
        log.info("==> load the raw files: %s", reason)
    return [raw for raw, _ in stale]  # the others stay as they were loaded


def load_step(
    settings: Settings, files: list[RawFile] = RAW_FILES, dbt_vars: dict[str, Any] | None = None
) -> list[LoadedFile]:
    """The `load` step (the command, `build` and the raw-table assets): the raw files (all, or
    ``files``) into the DuckDB warehouse's schema ``raw``, holding its lock (Spark:
    warehouse/spark.py). ``dbt_vars``: the command's ``--vars``."""
    with (
        db.RunLock(settings.warehouse),
        step(f"load the raw files from {settings.raw_dir} into schema raw"),
    ):
        return load_raw(settings, files, dbt_vars=dbt_vars)
