"""`python -m python_ml predict --input new.csv`: score a CSV of new tracks with the champion.

One feature path: the CSV goes through the dbt project's own models, not a copy of them in
pandas: the loader reads it as it reads tracks.csv, then the compiled staging -> validation ->
enrichment models run on it in an in-process DuckDB with the var ``popularity_required`` false
(tracks/feature_path.py, shared with the app and the HTTP service). Popularity, ``id`` and
``id_artists`` may be left out: a track without an id (no id column, or an empty id cell) gets
one made from its content. A row
the pipeline rejects is not scored: the output keeps it, with its file line and the pipeline's
reason. The output keeps the input's columns and adds the run, model version, data origin,
rounded probabilities and the class called.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import logging
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from python_ml.clock import utc_now
from python_ml.errors import UserError
from python_ml.processes import process_alive
from python_ml.raw.extract import GZIP_MAGIC, ZIP_MAGIC, first_line
from python_ml.raw.schemas import TRACK_COLUMNS
from python_ml.settings import Settings
from python_ml.steps import step
from python_ml.tracks.drift import log_drift
from python_ml.tracks.explain import CONTRIBUTION_DECIMALS
from python_ml.tracks.feature_origin import reasons_in_words
from python_ml.tracks.feature_path import NO_ARTIST_IDS, DerivedTracks, gives_artist_ids
from python_ml.tracks.scorer import (
    NOT_OUTPUT_COLUMNS,
    PROBABILITY_DECIMALS,
    REJECTED,
    SCORED,
    Champion,
    Scorer,
    artist_warnings,
    recency_warnings,
)

log = logging.getLogger(__name__)


class PredictInputError(UserError, ValueError):
    """The input CSV cannot be scored; the message names the file, columns or rows."""


def _damaged(path: Path, reason: str) -> str:
    return (
        f"{path} cannot be read to its end ({reason}): it was probably cut off while copying. "
        "Copy or compress it again and score it."
    )


# The first bytes of an Excel 97-2003 workbook (.xls: an OLE2 compound file).
XLS_MAGIC = b"\xd0\xcf\x11\xe0"


def _read_header(path: Path) -> list[str]:
    """The header line alone, decoded as UTF-8 (a later row that is not UTF-8 is the loader's
    to quarantine under its own line, not the header's fault)."""
    packed = path.suffix.lower() == ".gz"
    try:
        with path.open("rb") as raw:
            magic = raw.read(4)
    except OSError as exc:
        raise PredictInputError(f"{path} cannot be read ({exc.strerror}).") from None
    if not magic:
        raise PredictInputError(f"{path} is empty: it needs a header and rows.")
    # A workbook is no CSV: its bytes are not UTF-8, and "save it as UTF-8" would not help.
    if magic == ZIP_MAGIC:
        raise PredictInputError(
            f"{path} is a zip archive (an Excel .xlsx workbook is one), not a CSV file: save "
            "the sheet as 'CSV UTF-8 (Comma delimited)', or unzip the CSV, and score that."
        )
    if magic == XLS_MAGIC:
        raise PredictInputError(
            f"{path} is an Excel 97-2003 workbook (.xls), not a CSV file: save the sheet as "
            "'CSV UTF-8 (Comma delimited)' and score that."
        )
    magic = magic[:2]
    if magic == GZIP_MAGIC and not packed:
        raise PredictInputError(
            f"{path} is gzip-compressed: name it {path.name}.gz (or decompress it) and score it."
        )
    if packed and magic != GZIP_MAGIC:
        raise PredictInputError(
            f"{path} is not gzip-compressed, though named .gz: rename it to "
            f"{path.with_suffix('').name} and score it."
        )
    opener = gzip.open if packed else open
    try:
        with opener(path, "rb") as binary:
            line = binary.readline(1 << 20)
            # What follows a blank first line: a header below it is no empty file.
            blank = not line.removeprefix(codecs.BOM_UTF8).strip()
            after = binary.read(1 << 16) if blank else b""
    except (OSError, EOFError, zlib.error) as exc:
        raise PredictInputError(
            _damaged(path, str(exc)) if packed else f"{path} cannot be read ({exc})."
        ) from None
    if line.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise PredictInputError(f"{path} is UTF-16 text: save it as UTF-8 and score it again.")
    try:
        # Without its byte-order mark: a file of the mark alone is empty (its header was a
        # column "with no name").
        text = line.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise PredictInputError(
            f"{path}: the header (line 1) is not UTF-8 ({exc.reason} at byte {exc.start}). "
            "Save the file as UTF-8."
        ) from None
    if text.strip().lower() in ("sep=,", "sep=;", "sep=\t", 'sep=","', "sep=|"):
        raise PredictInputError(
            f"{path}: line 1 is {text.strip()!r}, the line Excel writes to name the delimiter, "
            "not the header: delete that line (the header must be line 1) and score it again."
        )
    if text.lstrip().startswith(("{", "[")):  # no tracks.csv column starts so
        raise PredictInputError(
            f"{path} holds JSON, not CSV: predict reads a CSV with tracks.csv's header. Save "
            "the tracks as CSV, or send the JSON to the scoring service (`python -m python_ml "
            'serve`, POST /predict with {"tracks": [...]}).'
        )
    first = next(csv.reader([first_line(text)]), None) if text.strip() else None
    if not first and after.strip():
        raise PredictInputError(
            f"{path}: line 1 is blank: the header (tracks.csv's column names) must be the "
            "first line. Remove the blank lines above it and score again."
        )
    if not first:
        raise PredictInputError(f"{path} is empty: it needs a header and rows.")
    return [c.lstrip("\ufeff").strip() for c in first]


# The columns predict adds to the input's (and prob_<class>, one per class).
OUTPUT_COLUMNS = (
    "line",
    "status",
    "rejection_reason",
    "rejection_detail",
    "run_id",
    "model_version",
    "data_origin",
    "predicted_class",
    "reasons",
    "runner_up_class",
    "explanation_baseline",
    "explained_score",
    "scored_at",
)
# Names the loader and the scoring path use for their own columns (the file's line, when it
# was loaded, a read's segment and row, DuckDB's row id): an input column of the same name
# would be renamed, lost in the output or hide the one they need.
LOADER_COLUMNS = ("file_line", "_loaded_at", "segment", "kept_index", "rowid")


def _output_clash(name: str) -> bool:
    """Whether an input column would be lost to (or overwrite) a column the output writes
    itself: column names are compared as DuckDB compares them, regardless of case."""
    lowered = name.lower()
    return lowered in OUTPUT_COLUMNS or lowered in LOADER_COLUMNS or lowered.startswith("prob_")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_input(path: Path) -> list[str]:
    """The header, once it is known to be a tracks.csv header (popularity and the ids
    optional)."""
    from python_ml.tracks.feature_path import OPTIONAL_COLUMNS, misspelt_columns

    if path.is_dir():
        raise PredictInputError(f"{path} is a folder: give the CSV file of tracks to score.")
    if str(path) == "-":
        raise PredictInputError(
            "--input - : predict does not read standard input (it reads the file more than "
            "once): save the tracks to a CSV file and give its path."
        )
    if path.exists() and not path.is_file():  # /dev/null, a named pipe, <(command)
        raise PredictInputError(
            f"{path} is not a regular file (a device, a pipe or a process substitution): predict "
            "reads the file more than once; save the tracks to a CSV file and give its path."
        )
    if not path.is_file():
        raise PredictInputError(f"{path} does not exist.")
    header = _read_header(path)
    unnamed = [i for i, name in enumerate(header, start=1) if not name]
    if unnamed:
        raise PredictInputError(
            f"{path}: column {unnamed[0]} of the header (line 1) has no name"
            + (" (a comma at the end of the line?)" if unnamed[0] == len(header) else "")
            + ": name it or remove that column from the file."
        )
    lowered = [c.lower() for c in header]
    other_case = [  # a name given once in capitals (Energy beside energy: twice, below)
        c
        for c in header
        if c != c.lower() and c.lower() in TRACK_COLUMNS and lowered.count(c.lower()) == 1
    ]
    if other_case:
        raise PredictInputError(
            f"{path}: the column names {other_case} are written in capitals: tracks.csv's "
            f"columns are lower case ({', '.join(c.lower() for c in other_case)}). Rename them "
            "in the header and score again."
        )
    # Before the repeated names: a file without its header line has its first row read as
    # one, and was told "has the column 0 more than once in its header".
    if len(set(header) & set(TRACK_COLUMNS)) < len(TRACK_COLUMNS) // 2:
        from python_ml.raw.extract import separator_hint

        hint = separator_hint(header)
        if not hint and sum(_is_number(name) for name in header) >= 3:
            hint = (
                " Line 1 holds values, not column names: the file has no header. Put "
                "tracks.csv's header line above the rows and score again."
            )
        raise PredictInputError(
            f"{path} does not look like a tracks CSV: its columns are {header[:10]}; expected "
            f"the columns of Kaggle's tracks.csv ({', '.join(TRACK_COLUMNS)}).{hint}"
        )
    twice = sorted({c for c in header if lowered.count(c.lower()) > 1})
    if twice:
        # The note on capitals only when it explains the repeat (`energy` twice needs none).
        cased = len(twice) > len({c.lower() for c in twice})
        raise PredictInputError(
            f"{path} has the column{'s' if len(twice) > 1 else ''} {', '.join(twice)} more "
            "than once in its header"
            + (" (names that differ only in capitals are one column)" if cased else "")
            + ": keep one of each and score again."
        )
    clashing = [c for c in header if _output_clash(c)]
    if clashing:
        several = len(clashing) > 1
        raise PredictInputError(
            f"{path} has the column{'s' if several else ''} {', '.join(clashing)}, which "
            f"predict writes in its output ({', '.join(OUTPUT_COLUMNS)}, prob_<class>) or the "
            f"loader adds ({', '.join(LOADER_COLUMNS)}): rename {'them' if several else 'it'} "
            "in the header and score again."
        )
    missing = [c for c in TRACK_COLUMNS if c not in OPTIONAL_COLUMNS and c not in header]
    if missing:
        raise PredictInputError(
            f"{path} is missing columns {missing}{misspelt_columns(missing, header)}. It needs "
            f"the columns of Kaggle's tracks.csv ({', '.join(OPTIONAL_COLUMNS)} may be left "
            "out): the pipeline's validation rules read all of them."
        )
    return header


def legacy_encoding(path: Path) -> str | None:
    """What to tell of a file saved in an 8-bit encoding (Excel's 'CSV (Comma delimited)' on
    Windows writes Windows-1252) rather than UTF-8: its lines with accented letters are each
    rejected as not UTF-8 text, the others scored, so the file as a whole wants saving again.
    None for a UTF-8 file, and for one whose other lines hold UTF-8 text beyond ASCII (a few
    damaged lines in a UTF-8 file: rejected one by one, as the loader does)."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    not_utf8: list[tuple[int, bytes]] = []
    try:
        with opener(path, "rb") as binary:
            for number, line in enumerate(binary, start=1):
                if line.isascii():
                    continue
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    not_utf8.append((number, line))
                else:
                    return None  # UTF-8 text beyond ASCII: the file is UTF-8
    except (OSError, EOFError, zlib.error):
        return None  # said by the loader, line by line or as a damaged file
    if not not_utf8:
        return None
    number, line = not_utf8[0]
    text = line.decode("cp1252", "replace").strip()
    at = next(i for i, c in enumerate(text) if not c.isascii())
    shown = text[max(0, at - 20) : at + 20]
    lines = f"{len(not_utf8):,} line{'s' if len(not_utf8) > 1 else ''}"
    return (
        f"{path} is not UTF-8 text but probably Windows-1252 or Latin-1 (as Excel's 'CSV "
        f"(Comma delimited)' saves): its {lines} with letters beyond ASCII (the first, line "
        f"{number}: ...{shown}...) cannot be read and are rejected. Save it as 'CSV UTF-8 "
        "(Comma delimited)', or convert it (`iconv -f cp1252 -t utf-8 old.csv > new.csv`), "
        "and score it again."
    )


MAX_NAMED = 20  # columns named in the warning on those not scored


def not_scored_columns(path: Path, header: list[str]) -> str | None:
    """What to tell of the header's columns that are not tracks.csv columns (each with the
    column it looks like a misspelling of): they are kept in the output, not scored. None when
    every column is one."""
    from python_ml.tracks.feature_path import not_track_columns

    unknown = not_track_columns(header)
    if not unknown:
        return None
    verb = "is not a tracks.csv column" if len(unknown) == 1 else "are not tracks.csv columns"
    # At most MAX_NAMED of them, the likely misspellings first: a sheet with 5,000 extra
    # columns made a warning line of 5,000 names (the service names at most 20 keys).
    named = sorted(unknown, key=lambda name: "(did you mean" not in name)[:MAX_NAMED]
    more = f" (and {len(unknown) - len(named):,} more)" if len(unknown) > len(named) else ""
    return f"{path}: {', '.join(named)}{more} {verb}: kept in the output, not used in scoring"


@contextlib.contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """The input as a scratch folder's tracks.csv, byte for byte: the loader reads it as it
    reads the warehouse's file (every line kept or quarantined under its own number), and the
    optional columns it lacks are added after loading (tracks/feature_path.py)."""
    with tempfile.TemporaryDirectory(prefix="music-predict-") as tmp:
        raw = Path(tmp) / "raw" / "spotify_600k"
        raw.mkdir(parents=True)
        staged = raw / ("tracks.csv.gz" if path.suffix.lower() == ".gz" else "tracks.csv")
        shutil.copyfile(path, staged)
        yield staged


def derive_features(settings: Settings, path: Path, features: list[str]) -> DerivedTracks:
    """What the project's models make of a tracks CSV (tracks/feature_path.py): every row with
    its rejection reason, and the features of the rows that pass (what `predict` scores; the
    tests compare it with the warehouse's build)."""
    from python_ml.tracks.feature_path import FeaturePath

    header = check_input(path)
    with _staged(path) as staged:
        return FeaturePath(settings).derive_csv(staged, features, header=header, shown_as=path)


def score_file(
    settings: Settings, path: Path, scorer: Scorer | None = None
) -> tuple[Champion, pd.DataFrame]:
    """Score a tracks CSV: the champion that scored it and one output row per input row (the
    input's columns, then the scores), in file order."""
    from python_ml.warehouse.load import DamagedFileError, LoadError

    header = check_input(path)
    scorer = scorer or Scorer(settings)
    with _staged(path) as staged:
        try:
            champion, scored, inputs = scorer.score_csv(staged, header=header, shown_as=path)
        except DamagedFileError as exc:  # the user's file, not a raw file to download again
            raise PredictInputError(_damaged(path, exc.reason)) from None
        except LoadError as exc:
            raise PredictInputError(str(exc).replace(str(staged), str(path))) from None
    if scored.empty:
        raise PredictInputError(f"{path} has a header but no rows.")
    kept = ["line", *(c for c in header if c in inputs.columns)]
    if "id" not in header:  # the id made from the row's content is the output's id
        kept.insert(1, "id")
    said_of_artists = []  # without the column, said once for the whole file (below)
    if "id_artists" in header:
        id_artists = inputs.set_index("line")["id_artists"]
        said_of_artists = artist_warnings(
            scored,
            lambda line: gives_artist_ids(id_artists.get(line)),
            lambda line: f"{path}: line {line}",
        )
    said_of_years = recency_warnings(
        scored, champion.details.get("last_release_year"), lambda line: f"{path}: line {line}"
    )
    scored = scored.drop(columns=list(NOT_OUTPUT_COLUMNS))
    result = inputs[kept].merge(scored.drop(columns=["id", "name"]), on="line", how="right")
    result.insert(result.columns.get_loc("predicted_class"), "run_id", champion.run_id)
    result.insert(result.columns.get_loc("predicted_class"), "model_version", champion.version)
    result.insert(result.columns.get_loc("predicted_class"), "data_origin", champion.data_origin)
    # In words, a feature whose values are generated marked (the artist features of a
    # generated artists.csv beside the user's tracks: "artist followers (generated) +0.91").
    origin = champion.data_origin
    result["reasons"] = result["reasons"].map(lambda entries: reasons_in_words(entries, origin))
    result["scored_at"] = f"{utc_now():%Y-%m-%dT%H:%M:%SZ}"
    # What the app shows above the table: the rows that do not parse (logged as they were
    # read), the columns not scored.
    warnings = list(inputs.attrs.get("warnings", []))
    said = [not_scored_columns(path, header)]
    if (result["rejection_detail"].fillna("").str.startswith("invalid encoding")).any():
        said.insert(0, legacy_encoding(path))
    if "id_artists" not in header:
        said.append(f"{path}: no id_artists column: {NO_ARTIST_IDS}")
    said += said_of_artists + said_of_years
    for warning in filter(None, said):
        log.warning(warning)
        warnings.append(warning)
    result.attrs["warnings"] = warnings
    return champion, result


def default_output(source: Path) -> Path:
    """Where `predict` writes by default: ``new.csv`` -> ``new.predictions.csv``, and
    ``new.csv.gz`` -> ``new.predictions.csv`` too (the output is plain CSV)."""
    name = source.name[: -len(".gz")] if source.name.lower().endswith(".gz") else source.name
    stem = name[: -len(".csv")] if name.lower().endswith(".csv") else Path(name).stem
    return source.with_name(stem + ".predictions.csv")


def project_file(settings: Settings, path: Path) -> str | None:
    """What of the project's own data ``path`` would write over or into (the warehouse, the
    raw folder the loader reads, MLflow's runs and models, Dagster's run history and its
    dagster.yaml, dbt's target folder), or None."""
    from python_ml.warehouse.db import RunLock

    target = path.resolve()
    warehouse = settings.warehouse.resolve()
    if target in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        return f"the warehouse {warehouse}"
    if target == RunLock.file(warehouse):  # replaced, a second run could take the lock
        return f"the warehouse's lock file {target}"
    for folder, what in (
        (settings.raw_dir, "the raw folder the loader reads (a file beside tracks.csv stops it)"),
        (settings.mlflow_dir, "the MLflow folder of the runs and models"),
        (settings.dagster_home, "Dagster's home of the run history ($DAGSTER_HOME)"),
        (settings.target_dir, "dbt's target folder (its manifest and compiled SQL)"),
    ):
        if target.is_relative_to(folder.resolve()):
            return f"{what} {folder.resolve()}"
    return None


def check_output(
    input_path: Path, output_path: Path, overwrite: bool = False, settings: Settings | None = None
) -> None:
    """Before any work: the output is not the input nor the project's own data (even with
    --overwrite), does not replace a file unless asked to, and its folder can be written."""
    inside = project_file(settings, output_path) if settings is not None else None
    if inside:
        raise PredictInputError(
            f"--output {output_path} is in {inside}: the predictions would "
            f"{'replace it' if inside.startswith('the warehouse') else 'be written into it'}. "
            "Give an --output elsewhere."
        )
    if output_path.name.lower().endswith((".gz", ".zip", ".bz2", ".xz", ".zst")):
        raise PredictInputError(
            f"--output {output_path}: predict writes plain CSV, which this name would call "
            "compressed. Give an --output ending in .csv."
        )
    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise PredictInputError(
            f"--output {output_path} is the input file: the predictions would replace the "
            "tracks. Give another --output (the default is <input>.predictions.csv)."
        )
    if output_path.is_dir():
        raise PredictInputError(f"--output {output_path} is a folder: give a file name.")
    if output_path.exists() and not output_path.is_file():
        # A device, a pipe or a socket: replacing it with the predictions would destroy it.
        raise PredictInputError(
            f"--output {output_path} is not a regular file (a device, pipe or socket): give "
            "the path of a file."
        )
    if output_path.exists() and not overwrite:
        raise PredictInputError(
            f"{output_path} exists already: pass --overwrite to replace it, or give another "
            "--output."
        )
    folder = output_path.parent
    existing = next((p for p in [folder, *folder.parents] if p.exists()), folder)
    if not existing.is_dir():
        # `--output new.csv/out.csv`: it said "new.csv cannot be written", as if the tool
        # had tried to write the user's file.
        raise PredictInputError(
            f"--output {output_path}: {existing} is a file, not a folder, so nothing can be "
            "written under it: give an --output in a folder."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PredictInputError(
            f"{folder} cannot be written (no permission, or not a folder): choose an --output "
            "in a folder you can write."
        )
    if existing == folder:  # permissions do not tell all (a read-only mount, /proc, root)
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise PredictInputError(
                f"{folder} cannot be written ({exc.strerror or exc}): choose an --output in a "
                "folder you can write."
            ) from None


def _file_mode(path: Path) -> int:
    """The mode a written file gets: the replaced file's, else the usual 0644 under the umask."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _remove_orphans(output_path: Path) -> None:
    """The partial outputs a `predict` killed while writing this output left beside it
    (``.<name>.<pid>.<random>``, their process gone): a `kill -9` gives no chance to remove
    its own, and they stayed for good."""
    for partial in output_path.parent.glob(f".{output_path.name}.*.*"):
        pid = partial.name[len(output_path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            partial.unlink(missing_ok=True)


def _write_csv(result: pd.DataFrame, output_path: Path) -> None:
    """The output beside its final name, then moved there in one step: a failure part-way
    leaves no half-written file and an existing one as it was. A folder that cannot take it
    (read-only, full, a system folder) is one line naming it."""
    tmp: str | None = None
    try:
        output_path.parent.mkdir(parents=True, exist_ok=True)
        _remove_orphans(output_path)
        prefix = f".{output_path.name}.{os.getpid()}."
        fd, tmp = tempfile.mkstemp(prefix=prefix, dir=output_path.parent)
        os.close(fd)
        # The lead and its baseline are rounded to CONTRIBUTION_DECIMALS (scorer.py): written
        # with the probabilities' six, 0.741 read 0.741000, a precision the figure lacks.
        result = result.assign(
            **{
                column: result[column].map(
                    lambda v: None if pd.isna(v) else f"{v:.{CONTRIBUTION_DECIMALS}f}"
                )
                for column in ("explanation_baseline", "explained_score")
                if column in result.columns
            }
        )
        result.to_csv(tmp, index=False, float_format=f"%.{PROBABILITY_DECIMALS}f")
        os.chmod(tmp, _file_mode(output_path))
        os.replace(tmp, output_path)
    except OSError as exc:
        import errno

        if exc.errno == errno.ENOSPC:  # the folder is writable: its disk is full
            raise PredictInputError(
                f"{output_path.parent} cannot take the predictions: its disk is full (No space "
                "left on device). Free space there, or choose an --output on another disk."
            ) from None
        raise PredictInputError(
            f"{output_path.parent} cannot be written ({exc.strerror or type(exc).__name__}): "
            "choose an --output in a folder you can write."
        ) from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def predict_csv(
    settings: Settings, input_path: Path, output_path: Path, overwrite: bool = False
) -> int:
    """Score the CSV; returns the rows scored. Every input row is in the output: scored ones
    with the class and probabilities, rejected ones with the pipeline's reason."""
    check_input(input_path)
    check_output(input_path, output_path, overwrite, settings)
    scorer = Scorer(settings)
    _, result = score_file(settings, input_path, scorer)
    _write_csv(result, output_path)
    scored = int((result["status"] == SCORED).sum())
    if scored:  # none scored: the step's error says so; a drift line about 0 tracks says nothing
        log_drift(scorer.last_drift, f"{input_path.name}'s {scored:,} scored tracks")
    rejected = len(result) - scored
    if rejected:
        reasons = result.loc[result["status"] == REJECTED, "rejection_reason"].value_counts()
        log.warning(
            "%d of %d rows not scored, as the pipeline rejects them: %s (see their lines and "
            "reasons in %s)",
            rejected,
            len(result),
            ", ".join(f"{reason} {count}" for reason, count in reasons.items()),
            output_path,
        )
    return scored


def predict_step(
    settings: Settings,
    input_path: Path,
    output_path: Path | None = None,
    overwrite: bool = False,
) -> Path:
    """The `predict` command: score a CSV of new tracks; returns the output file's path."""
    if str(input_path) == "-" or (input_path.exists() and not input_path.is_file()):
        # Said of the path as given: resolved, standard input was "<folder>/- does not exist"
        # and <(command) "/proc/<pid>/fd/pipe:[...] does not exist".
        check_input(input_path)
    source = input_path.resolve()
    output = output_path.resolve() if output_path else default_output(source)
    with step(f"predict {source} with the champion"):
        rows = predict_csv(settings, source, output, overwrite=overwrite)
        if not rows:  # a run that scored nothing is no success, whatever it wrote
            raise PredictInputError(
                f"No row of {source} was scored: the pipeline rejects every one. Each is in "
                f"{output} with its line and reason (above: the reasons counted)."
            )
    log.info("scored %s tracks; every input row, scored or not, is in %s", f"{rows:,}", output)
    return output
