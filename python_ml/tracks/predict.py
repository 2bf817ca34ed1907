"""`python -m python_ml predict --input new.csv`: score a CSV of new tracks with the champion.

One feature path: the CSV goes through the dbt project's own models, not a copy of them in
pandas. It becomes the `spotify_600k.tracks` source of a scratch DuckDB warehouse (beside the
project's artists.csv), dbt builds staging -> validation -> enrichment there with the var
``popularity_required`` false (new tracks have no popularity yet), and the features are read
from ``int_tracks_enriched`` exactly as the split tables select them. A row the pipeline
rejects is not scored: the output keeps it, with its file line and the pipeline's reason.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import logging
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from python_ml.clock import utc_now
from python_ml.raw.schemas import TRACK_COLUMNS
from python_ml.settings import Settings
from python_ml.steps import step
from python_ml.warehouse import catalog, db

log = logging.getLogger(__name__)

SCORED = "scored"
REJECTED = "rejected"


class PredictInputError(ValueError):
    """The input CSV cannot be scored; the message names the file, columns or rows."""


@dataclasses.dataclass
class DerivedTracks:
    """What the dbt models make of a tracks CSV: one row per input row (``rows``: file line,
    id, name, rejection reason and detail) and the features of the rows that pass."""

    rows: pd.DataFrame
    features: pd.DataFrame


def _read_header(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as binary:
            first = next(csv.reader(io.TextIOWrapper(binary, encoding="utf-8", newline="")), None)
    except UnicodeDecodeError as exc:
        raise PredictInputError(
            f"{path}: the header is not UTF-8 ({exc.reason} at byte {exc.start}). Save the "
            "file as UTF-8."
        ) from None
    except (OSError, EOFError) as exc:
        raise PredictInputError(f"{path} cannot be read ({exc}).") from None
    if not first:
        raise PredictInputError(f"{path} is empty: it needs a header and rows.")
    return [c.lstrip("\ufeff").strip() for c in first]


def check_input(path: Path) -> list[str]:
    """The header, once it is known to be a tracks.csv header (popularity optional)."""
    if path.is_dir():
        raise PredictInputError(f"{path} is a folder: give the CSV file of tracks to score.")
    if not path.is_file():
        raise PredictInputError(f"{path} does not exist.")
    header = _read_header(path)
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise PredictInputError(
            f"{path} has the column{'s' if len(twice) > 1 else ''} {', '.join(twice)} more "
            "than once in its header: keep one of each and score again."
        )
    if len(set(header) & set(TRACK_COLUMNS)) < len(TRACK_COLUMNS) // 2:
        raise PredictInputError(
            f"{path} does not look like a tracks CSV: its columns are {header[:10]}; expected "
            f"the columns of Kaggle's tracks.csv ({', '.join(TRACK_COLUMNS)})."
        )
    missing = [c for c in TRACK_COLUMNS if c != "popularity" and c not in header]
    if missing:
        raise PredictInputError(
            f"{path} is missing columns {missing}. It needs the columns of Kaggle's tracks.csv "
            "(popularity may be left out): the pipeline's validation rules read all of them."
        )
    return header


def _stage_input(path: Path, header: list[str], target: Path) -> None:
    """The input as the scratch source's tracks.csv: as it is, or with an empty popularity
    column added (values and line structure unchanged)."""
    if "popularity" in header:
        shutil.copyfile(
            path, target.with_name("tracks.csv.gz" if path.suffix == ".gz" else "tracks.csv")
        )
        return
    opener = gzip.open if path.suffix == ".gz" else open
    with (
        opener(path, "rt", encoding="utf-8", newline="") as source,
        open(target, "w", encoding="utf-8", newline="") as out,
    ):
        reader = csv.reader(source)
        writer = csv.writer(out, lineterminator="\n")
        next(reader)
        writer.writerow([*header, "popularity"])
        for record in reader:
            writer.writerow([*record, ""] if record else record)


def _stage_artists(settings: Settings, folder: Path) -> None:
    for name in ("artists.csv", "artists.csv.gz"):
        source = settings.raw_dir / "spotify_600k" / name
        if source.exists():
            (folder / name).symlink_to(source)
            return
    log.warning(
        "no artists.csv in %s: the artist features of the new tracks are missing (imputed)",
        settings.raw_dir / "spotify_600k",
    )
    (folder / "artists.csv").write_text("id,followers,genres,name,popularity\n", encoding="utf-8")


def derive_features(settings: Settings, path: Path, features: list[str]) -> DerivedTracks:
    """Run the project's dbt models on the CSV in a scratch warehouse (see the module doc)."""
    from python_ml.raw.schemas import ARTISTS, TRACKS
    from python_ml.warehouse.dbt import DbtError, run_dbt
    from python_ml.warehouse.load import LoadError, load_raw

    header = check_input(path)
    for feature in features:
        db.check_identifier(feature)
    with tempfile.TemporaryDirectory(prefix="music-predict-") as tmp:
        scratch = Path(tmp)
        raw = scratch / "raw" / "spotify_600k"
        raw.mkdir(parents=True)
        _stage_input(path, header, raw / "tracks.csv")
        _stage_artists(settings, raw)
        scratch_settings = dataclasses.replace(
            settings, raw_dir=scratch / "raw", warehouse=scratch / "scratch.duckdb"
        )
        try:
            load_raw(scratch_settings, [TRACKS, ARTISTS], enforce_threshold=False)
        except LoadError as exc:
            raise PredictInputError(str(exc).replace(str(raw / "tracks.csv"), str(path))) from None
        try:
            run_dbt(
                scratch_settings,
                "build",
                "--select",
                "+int_tracks_enriched",
                "--resource-type",
                "model",
                "--resource-type",
                "seed",
                "--vars",
                "{popularity_required: false}",
                "--quiet",
                capture=True,
                scratch=scratch,
            )
        except DbtError as exc:
            raise PredictInputError(
                f"{path}: the pipeline's models could not read it. {exc}"
            ) from None
        selected = ", ".join(f"cast(e.{f} as double) as {f}" for f in features)
        with db.connect(scratch_settings.warehouse) as con:
            rows = con.execute(
                "select source_row_number + 1 as line, track_id as id, track_name as name, "
                "rejection_reason, rejection_detail "
                "from intermediate.int_tracks_validated "
                "union all "
                "select file_line, null, null, 'unparseable row', "
                "lower(error_type) || ': ' || error_message "
                f"from {catalog.LOAD_REJECTS} where table_name = 'tracks' "
                "order by line"
            ).df()
            derived = con.execute(
                f"select e.track_id, {selected} from intermediate.int_tracks_enriched as e "
                "order by e.track_id"
            ).df()
    if rows.empty:
        raise PredictInputError(f"{path} has a header but no rows.")
    return DerivedTracks(rows, derived)


def check_output(input_path: Path, output_path: Path, overwrite: bool = False) -> None:
    """Before any work: the output is not the input, does not replace a file unless asked to,
    and its folder can be written."""
    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise PredictInputError(
            f"--output {output_path} is the input file: the predictions would replace the "
            "tracks. Give another --output (the default is <input>.predictions.csv)."
        )
    if output_path.is_dir():
        raise PredictInputError(f"--output {output_path} is a folder: give a file name.")
    if output_path.exists() and not overwrite:
        raise PredictInputError(
            f"{output_path} exists already: pass --overwrite to replace it, or give another "
            "--output."
        )
    folder = output_path.parent
    existing = next((p for p in [folder, *folder.parents] if p.exists()), folder)
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise PredictInputError(
            f"{folder} cannot be written (no permission, or not a folder): choose an --output "
            "in a folder you can write."
        )


def _file_mode(path: Path) -> int:
    """The mode a written file gets: the replaced file's, else the usual 0644 under the umask."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def predict_csv(
    settings: Settings, input_path: Path, output_path: Path, overwrite: bool = False
) -> int:
    """Score the CSV; returns the rows scored. Every input row is in the output: scored ones
    with the class and probabilities, rejected ones with the pipeline's reason."""
    from python_ml.tracking.registry import load_champion, model_output

    check_input(input_path)
    check_output(input_path, output_path, overwrite)
    run_id, _, model = load_champion(settings)
    derived = derive_features(settings, input_path, model.features)
    result = derived.rows.copy()
    result["status"] = result["rejection_reason"].isna().map({True: SCORED, False: REJECTED})
    result["run_id"] = run_id
    if not derived.features.empty:
        output = model_output(model, derived.features)
        output.insert(0, "id", derived.features["track_id"].to_numpy())
        result = result.merge(output, on="id", how="left")
        result.loc[result["status"] == REJECTED, output.columns[1:]] = None
    else:
        for name in model.class_names:
            result[f"prob_{name}"] = None
        result["predicted_class"] = None
    result["scored_at"] = utc_now()
    columns = [
        "line",
        "id",
        "name",
        "status",
        "rejection_reason",
        "rejection_detail",
        "run_id",
        "predicted_class",
        *[f"prob_{name}" for name in model.class_names],
        "scored_at",
    ]
    result = result[columns]
    output_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output_path.name}.", dir=output_path.parent)
    os.close(fd)
    try:
        result.to_csv(tmp, index=False)
        os.chmod(tmp, _file_mode(output_path))
        os.replace(tmp, output_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    scored = int((result["status"] == SCORED).sum())
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
    source = input_path.resolve()
    output = (
        output_path.resolve() if output_path else source.with_name(source.stem + ".predictions.csv")
    )
    with step(f"predict {source} with the champion"):
        rows = predict_csv(settings, source, output, overwrite=overwrite)
    log.info("scored %s tracks; every input row, scored or not, is in %s", f"{rows:,}", output)
    return output
