"""Extraction: get the three raw Kaggle files into the raw-data folder.

Layout (what the dbt sources read; one folder per Kaggle dataset)::

    $MUSIC_RAW_DIR/spotify_600k/tracks.csv      (or tracks.csv.gz)
    $MUSIC_RAW_DIR/spotify_600k/artists.csv     (or artists.csv.gz)
    $MUSIC_RAW_DIR/spotify_2023/spotify-2023.csv (or spotify-2023.csv.gz)

A file already there is kept (``force`` downloads again). With Kaggle credentials, missing
datasets are downloaded into a temporary folder beside the target, checked, then moved into
place, so a failed or interrupted download never leaves half a file. Without credentials the
built-in generator writes what is missing, and says so.

The ``kaggle`` package authenticates when it is imported and calls ``sys.exit`` when no
credentials exist, so it is imported only after :func:`kaggle_credentials` found some.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_ml.errors import UserError
from python_ml.raw import generate, origin, schemas
from python_ml.raw.schemas import RawFile
from python_ml.settings import Settings
from python_ml.steps import step

log = logging.getLogger(__name__)

# What to do about an empty raw file: deleting it and running `extract` downloads Kaggle's
# with credentials, and writes the built-in GENERATED data without (not the user's file back).
EMPTY_FILE_FIX = (
    "Copy the complete file there again (e.g. from Kaggle's download), or delete it and run "
    "`python -m python_ml extract`: that downloads it with Kaggle credentials, and without them "
    "writes built-in generated data in its place."
)

KAGGLE_HELP = """\
No Kaggle credentials found, so the real datasets cannot be downloaded. To use them, either
  * save your API token (kaggle.com -> Settings -> API -> Create New Token) as
    ~/.kaggle/kaggle.json and run `chmod 600 ~/.kaggle/kaggle.json`, or
  * export KAGGLE_USERNAME=<your user name> and KAGGLE_KEY=<your key>,
or copy the CSV files into {raw_dir} yourself (layout in the README)."""


class ExtractError(UserError, RuntimeError):
    """A raw file is missing, unreadable or not what it should be; the message says what to do."""


class DownloadError(ExtractError):
    """Kaggle could not be reached or refused: worth retrying (the asset graph does)."""


@dataclass(frozen=True)
class Dataset:
    folder: str
    kaggle_ref: str
    files: list[RawFile] = field(default_factory=list)


DATASETS = [
    Dataset(
        folder="spotify_600k",
        kaggle_ref="yamaerenay/spotify-dataset-19212020-600k-tracks",
        files=[
            schemas.TRACKS,
            schemas.ARTISTS,
        ],
    ),
    Dataset(
        folder="spotify_2023",
        kaggle_ref="nelgiriyewithana/top-spotify-songs-2023",
        files=[
            schemas.SONGS_2023,
        ],
    ),
]


@dataclass
class ExtractReport:
    present: list[Path] = field(default_factory=list)
    downloaded: list[Path] = field(default_factory=list)
    generated: list[Path] = field(default_factory=list)

    @property
    def used_builtin_data(self) -> bool:
        return bool(self.generated)


# --------------------------------------------------------------------------------------------
# files and headers


def find_raw_file(raw_dir: Path, raw: RawFile) -> Path | None:
    """Exactly the raw file: ``<name>`` or ``<name>.gz``. Both, or another file that looks
    like a copy of it (``tracks (1).csv``, ``tracks.csv.bak``), is an error naming them: the
    loader never guesses which one is meant."""
    folder = raw_dir / raw.dataset
    for place in (raw_dir, folder, folder / raw.name):
        if place.is_symlink() and not place.exists():
            try:
                place.resolve(strict=True)
                reason = "its target does not exist"
            except RuntimeError:
                reason = "it is a loop of links"
            except OSError as exc:
                reason = exc.strerror or "its target cannot be reached"
            raise ExtractError(
                f"{place} is a symbolic link that leads nowhere ({reason}). Point it at the "
                "folder or file that holds the data, or replace it with the real one."
            )
    plain = folder / raw.name
    gz = plain.with_name(raw.name + ".gz")
    if plain.exists() and gz.exists():
        raise ExtractError(f"Both {plain} and {gz} exist: which one is meant? Remove one of them.")
    found = plain if plain.exists() else gz if gz.exists() else None
    if found is not None and found.is_dir():  # read, it failed with Python's IsADirectoryError
        raise ExtractError(
            f"{found} is a folder, not the CSV file (a download unpacked under the file's "
            f"name?): put the file itself at {found}, or move the folder away and run "
            "`python -m python_ml extract`."
        )
    stem = raw.name.removesuffix(".csv")
    if folder.is_dir():
        others = sorted(
            p.name
            for p in folder.iterdir()
            if p.is_file()
            and p.name.startswith(stem)
            and p not in (plain, gz)
            and not p.name.startswith(".")
        )
        if others:
            raise ExtractError(
                f"{folder} holds {others} beside {raw.name}: only {raw.name} (or "
                f"{raw.name}.gz) is read. Move the other files out of the folder."
            )
    return found


ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"  # the first two bytes of every gzip file
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # little- and big-endian UTF-16's byte-order marks


def first_line(text: str) -> str:
    """The first line of ``text``, however it ends: LF, CR LF, or CR alone (a file of an old
    Mac's, which ``readline`` returns whole)."""
    return re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]


def read_header(path: Path, encodings: tuple[str, ...] | str) -> list[str]:
    encodings = (encodings,) if isinstance(encodings, str) else encodings
    opener = gzip.open if path.suffix == ".gz" else open
    with open(path, "rb") as stream:
        magic = stream.read(4)
    if magic == ZIP_MAGIC:
        raise ExtractError(
            f"{path} is a zip archive, not a CSV file (Kaggle's downloads are zips). Rename it "
            f"to {path.name.split('.')[0]}.zip, unzip it in {path.parent} so the CSV is "
            f"{path.name}, or run `python -m python_ml extract --force`."
        )
    if magic[:2] == GZIP_MAGIC and opener is open:
        raise ExtractError(
            f"{path} is gzip-compressed, though named {path.suffix}: rename it to "
            f"{path.name}.gz (the loader reads it so), or decompress it."
        )
    try:
        with opener(path, "rb") as binary:
            line = binary.readline(1 << 20)  # only the header: later bytes are rows
    except (OSError, EOFError) as exc:
        raise ExtractError(
            f"{path}: cannot be read ({exc}). The file is damaged: download or copy it again."
        ) from exc
    if line[:2] in UTF16_BOMS:
        # Latin-1, the 2023 file's fallback, decodes any byte: the header came out as
        # mojibake (``ÿþt\x00r\x00...``) and the columns were "missing". (Compressed too.)
        raise ExtractError(
            f"{path} is UTF-16 text (as Excel's 'Unicode Text' saves it), not a UTF-8 CSV: "
            "save it again as 'CSV UTF-8 (Comma delimited)', or download it again."
        )
    if line.startswith(codecs.BOM_UTF8) and "utf-8" in encodings:
        # UTF-8 with a byte-order mark (Excel's "CSV UTF-8"): latin-1, the 2023 file's first
        # choice, read the mark as part of the first column's name ("ï»¿track_name").
        encodings = ("utf-8", *(e for e in encodings if e != "utf-8"))
    error: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            text = first_line(line.decode(encoding).removeprefix("\ufeff"))
            first = next(csv.reader([text]), None) if text else None
            break
        except UnicodeDecodeError as exc:
            error = exc
    else:
        assert error is not None
        raise ExtractError(
            f"{path}: the header is not valid {' or '.join(encodings)} ({error.reason} at byte "
            f"{error.start}). Save the file as {encodings[0]}, or download it again."
        ) from error
    if not first:
        raise ExtractError(f"{path} is empty. {EMPTY_FILE_FIX}")
    return [column.lstrip("\ufeff").strip() for column in first]


def has_rows(path: Path) -> bool:
    """Whether anything but blank lines follows the header (read_header has read it)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as binary:
            chunk = binary.read(1 << 20)
    except (OSError, EOFError) as exc:  # a .gz cut short after its header, say
        raise ExtractError(
            f"{path}: cannot be read ({exc}). The file is damaged: download or copy it again."
        ) from exc
    parts = re.split(rb"\r\n|\r|\n", chunk, maxsplit=1)
    if len(parts) == 1:  # no line ends in the first MiB: one line, or a header longer than that
        return len(chunk) == 1 << 20
    return bool(parts[1].strip())


# What a header of one column may hide: values separated by another character.
SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def separator_hint(header: list[str]) -> str:
    """For a header of one or two columns that holds another separator, the sentence saying
    so (" The values seem to be separated by semicolons: ..."); else empty."""
    name = next(
        (
            name
            for sep, name in SEPARATORS.items()
            if header and len(header) <= 2 and sep in header[0]
        ),
        None,
    )
    if name is None:
        return ""
    return (
        f" The values seem to be separated by {name}: save the file with commas between "
        "values (CSV)."
    )


def check_header(path: Path, raw: RawFile) -> None:
    """Fail with the missing and unexpected column names when the header is not the Kaggle one."""
    header = read_header(path, raw.encodings)
    twice = sorted({c for c in header if c and header.count(c) > 1})  # unnamed: the loader's
    if twice:
        raise ExtractError(
            f"{path}: the header names {', '.join(twice)} more than once. The file must have "
            f"the Kaggle header {','.join(raw.columns)}: keep one of each column."
        )
    missing = [c for c in raw.columns if c not in header]
    if missing:
        separated = separator_hint(header)
        if separated:  # one column holding them all: listing 20 missing columns said nothing
            raise ExtractError(f"{path}: its header is not comma-separated.{separated}")
        unexpected = [c for c in header if c not in raw.columns]
        hint = f"; columns not expected: {unexpected}" if unexpected else ""
        raise ExtractError(
            f"{path}: missing columns {missing}{hint}. The file must have the Kaggle header "
            f"{','.join(raw.columns)}"
        )


def check_raw_files(raw_dir: Path) -> list[Path]:
    """Every raw file is present with the expected header; returns their paths."""
    found = []
    for dataset in DATASETS:
        for raw in dataset.files:
            path = find_raw_file(raw_dir, raw)
            if path is None:
                raise ExtractError(
                    f"{raw_dir / raw.dataset / raw.name} is missing. Run "
                    "`python -m python_ml extract` (downloads from Kaggle, or writes built-in "
                    "data without credentials), or copy the file there."
                )
            check_header(path, raw)
            if not has_rows(path):
                # `load` refused it after extract had said it was present and kept.
                raise ExtractError(f"{path} has a header but no rows. {EMPTY_FILE_FIX}")
            found.append(path)
    return found


# --------------------------------------------------------------------------------------------
# Kaggle


def kaggle_credentials(
    environ: dict[str, str] | None = None, home: Path | None = None
) -> str | None:
    """Where Kaggle credentials come from ('environment' or the kaggle.json path), or None."""
    env = os.environ if environ is None else environ
    if env.get("KAGGLE_USERNAME") and env.get("KAGGLE_KEY"):
        return "environment"
    config_dir = (
        Path(env["KAGGLE_CONFIG_DIR"])
        if env.get("KAGGLE_CONFIG_DIR")
        else ((home or Path.home()) / ".kaggle")
    )
    token = config_dir / "kaggle.json"
    if token.is_file():
        try:
            content = json.loads(token.read_text())
        except (OSError, ValueError) as exc:
            raise ExtractError(
                f"{token} is not a readable Kaggle token ({exc}). Download a new token from "
                "kaggle.com -> Settings -> API."
            ) from exc
        if content.get("username") and content.get("key"):
            return str(token)
    return None


def _default_kaggle_api() -> Any:
    from kaggle.api.kaggle_api_extended import KaggleApi  # imported only with credentials

    api = KaggleApi()
    api.authenticate()
    return api


def download_dataset(api: Any, dataset: Dataset, raw_dir: Path) -> list[Path]:
    """Download one dataset into a temporary folder, check it, then move its files into place."""
    target = raw_dir / dataset.folder
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        return _download_into(api, dataset, target)
    except BaseException:
        if created and not any(target.iterdir()):
            target.rmdir()  # leave the raw folder exactly as it was
        raise


def _download_into(api: Any, dataset: Dataset, target: Path) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target) as tmp:
        try:
            api.dataset_download_files(dataset.kaggle_ref, path=tmp, unzip=True, quiet=True)
        except (Exception, SystemExit) as exc:  # the kaggle client may sys.exit
            raise DownloadError(_kaggle_failure(dataset, exc, target)) from None
        staged = []
        for raw in dataset.files:
            matches = sorted(Path(tmp).rglob(raw.name))
            if not matches:
                raise ExtractError(
                    f"Kaggle dataset {dataset.kaggle_ref} has no {raw.name}; found "
                    f"{sorted(p.name for p in Path(tmp).rglob('*') if p.is_file())}. "
                    "The dataset may have changed: copy the file into "
                    f"{target} yourself."
                )
            check_header(matches[0], raw)
            staged.append((matches[0], target / raw.name))
        moved = []
        for source, destination in staged:
            destination.with_name(destination.name + ".gz").unlink(missing_ok=True)
            shutil.move(str(source), destination)  # same folder tree: an atomic rename
            origin.record(target.parent, destination, origin.KAGGLE)
            moved.append(destination)
    return moved


def _kaggle_failure(dataset: Dataset, exc: BaseException, target: Path) -> str:
    text = str(exc) or type(exc).__name__
    if "404" in text or "not found" in text.lower():
        why = f"dataset {dataset.kaggle_ref} was not found on Kaggle"
    elif "401" in text or "403" in text:
        why = "Kaggle refused the credentials (check the key, and accept the dataset's terms)"
    elif any(word in text.lower() for word in ("connection", "resolve", "network", "timed out")):
        why = "Kaggle could not be reached (no network?)"
    else:
        why = f"the download failed ({type(exc).__name__})"
    return (
        f"Downloading {dataset.kaggle_ref} failed: {why}. Nothing in {target} was changed. "
        "Try again, copy the files there yourself, or run with --offline to use built-in data."
    )


# --------------------------------------------------------------------------------------------
# entry point


def _can_download(offline: bool) -> bool:
    """Whether a download could start: online, with Kaggle credentials (an unreadable token
    is said when a download is needed)."""
    if offline:
        return False
    try:
        return kaggle_credentials() is not None
    except ExtractError:
        return False


def extract(
    raw_dir: Path,
    force: bool = False,
    offline: bool = False,
    seed: int = 42,
    rows: int = schemas.REAL_TRACK_ROWS,
    api_factory: Callable[[], Any] | None = None,
) -> ExtractReport:
    report = ExtractReport()
    missing = [
        dataset
        for dataset in DATASETS
        if force or any(find_raw_file(raw_dir, raw) is None for raw in dataset.files)
    ]
    # Generated files of an older generator, made again as they were made (with --force every
    # file is made or downloaded anew).
    remade = [] if force or not raw_dir.is_dir() else generate.make_again(raw_dir)
    report.generated += remade
    # --force downloads a file again only with Kaggle credentials (and online).
    again = "; --force downloads it again" if _can_download(offline) else ""
    for dataset in DATASETS:
        if dataset not in missing:
            for raw in dataset.files:
                path = find_raw_file(raw_dir, raw)
                if path in remade:
                    continue
                log.info("present: %s (kept%s)", path, again)
                report.present.append(path)

    if missing and not offline:
        source = kaggle_credentials()
        if source is None:
            log.warning(KAGGLE_HELP.format(raw_dir=raw_dir))
        else:
            log.info(
                "Kaggle credentials found (%s)",
                "environment variables" if source == "environment" else source,
            )
            api = (api_factory or _default_kaggle_api)()
            for dataset in missing:
                log.info("downloading %s", dataset.kaggle_ref)
                report.downloaded.extend(download_dataset(api, dataset, raw_dir))
            missing = []

    if missing:
        before = {p for p in raw_dir.rglob("*.csv*")} if raw_dir.exists() else set()
        generate.generate(raw_dir, rows=rows, seed=seed)
        report.generated = remade + sorted(p for p in raw_dir.rglob("*.csv*") if p not in before)
        # The files generated, not the datasets missing them: with a real tracks.csv present,
        # only artists.csv is (it said "using built-in generated data for: <the 600k dataset>").
        if report.generated:
            log.warning(
                "using built-in generated data for: %s",
                ", ".join(p.relative_to(raw_dir).as_posix() for p in report.generated),
            )
        # `--force --offline` on a folder that holds every file: nothing to download, and the
        # generator writes only missing files (it said "using built-in generated data for: ").
        for dataset in missing:
            for raw in dataset.files:
                path = find_raw_file(raw_dir, raw)
                if path is not None and path not in report.generated:
                    log.info(
                        "present: %s (kept: %s)",
                        path,
                        "--offline downloads nothing" if offline else "no Kaggle credentials",
                    )
                    report.present.append(path)
    elif rows != schemas.REAL_TRACK_ROWS and report.present:
        # `run --rows 20000` on a folder that holds the files: the run is on those, whatever
        # their size, and only "present: ... (kept)" said so.
        log.warning(
            "--rows %s not used: %s holds the raw files, which are kept (--rows sizes generated "
            "data only: point MUSIC_RAW_DIR at an empty folder for a run on that many)",
            f"{rows:,}",
            raw_dir,
        )

    check_raw_files(raw_dir)
    return report


def extract_step(
    settings: Settings,
    *,
    force: bool = False,
    offline: bool = False,
    seed: int = 42,
    rows: int = schemas.REAL_TRACK_ROWS,
) -> ExtractReport:
    """The `extract` step (the command and the ``raw_files`` asset): :func:`extract` into
    ``settings.raw_dir``, with its timed log line and the generated-data warning."""
    with step(f"extract raw data into {settings.raw_dir}"):
        report = extract(settings.raw_dir, force=force, offline=offline, seed=seed, rows=rows)
    if report.used_builtin_data:
        raw_dir = settings.raw_dir
        files = [find_raw_file(raw_dir, raw) for dataset in DATASETS for raw in dataset.files]
        said = origin.data_origin(raw_dir, [f for f in files if f is not None])
        if origin.is_partly_generated(said):  # a user's tracks.csv beside generated artists
            log.warning("%s", origin.partly_generated_notice(said))
        else:
            log.warning("%s", origin.GENERATED_WARNING)
    return report
