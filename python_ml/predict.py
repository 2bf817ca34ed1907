"""`python -m python_ml predict --input new.csv`: score a CSV of new tracks with the champion.

The CSV has the columns of Kaggle's tracks.csv (``popularity`` is not needed). The features
are derived as dbt derives them: ``release_year`` from the first four characters of
``release_date``, the artist features from the warehouse's artists (first-listed artist),
left empty (imputed) when the warehouse does not know the artist.
"""

from __future__ import annotations

import ast
import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from python_ml import warehouse
from python_ml.generate import TRACK_COLUMNS
from python_ml.score import prediction_frame
from python_ml.settings import Settings

log = logging.getLogger(__name__)

ARTIST_FEATURES = {"artist_followers", "artist_genre_count"}
DERIVED = {"release_year": "release_date"} | {f: "id_artists" for f in ARTIST_FEATURES}
MAX_ROWS_LISTED = 5


class PredictInputError(ValueError):
    """The input CSV cannot be scored; the message names the columns or rows."""


def _raw_columns_for(features: list[str]) -> list[str]:
    columns = ["id"]
    for feature in features:
        raw = DERIVED.get(feature, feature)
        if raw not in columns:
            columns.append(raw)
    return columns


def read_tracks_csv(path: Path, features: list[str]) -> pd.DataFrame:
    """Read and check the CSV: the columns the model needs, with values of the right type."""
    if not path.is_file():
        raise PredictInputError(f"{path} does not exist.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise PredictInputError(f"{path} is empty: it needs a header and rows.") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise PredictInputError(f"{path} is not a readable UTF-8 CSV ({exc}).") from None
    header = [c.strip() for c in frame.columns]
    frame.columns = header
    if len(set(header) & set(TRACK_COLUMNS)) < len(TRACK_COLUMNS) // 2:
        raise PredictInputError(
            f"{path} does not look like a tracks CSV: its columns are {header[:10]}; expected "
            f"the columns of Kaggle's tracks.csv ({', '.join(TRACK_COLUMNS)})."
        )
    needed = _raw_columns_for(features)
    missing = [c for c in needed if c not in header]
    if missing:
        raise PredictInputError(
            f"{path} is missing columns {missing}, which the champion model needs "
            f"(it uses {', '.join(features)})."
        )
    if frame.empty:
        raise PredictInputError(f"{path} has a header but no rows.")
    if frame["id"].str.strip().eq("").any():
        rows = (frame.index[frame["id"].str.strip().eq("")] + 2).tolist()[:MAX_ROWS_LISTED]
        raise PredictInputError(f"{path}: empty id on line(s) {rows}.")
    problems = []
    for column in needed:
        if column in ("id", "id_artists", "release_date"):
            continue
        values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        bad = values.isna() & frame[column].str.strip().ne("")
        if bad.any():
            lines = (frame.index[bad] + 2).tolist()[:MAX_ROWS_LISTED]
            problems.append(
                f"{column} is not a number on line(s) {lines} "
                f"(e.g. {frame.loc[bad, column].iloc[0]!r})"
            )
    if "release_date" in needed:
        year = pd.to_numeric(frame["release_date"].str.strip().str[:4], errors="coerce")
        bad = year.isna()
        if bad.any():
            lines = (frame.index[bad] + 2).tolist()[:MAX_ROWS_LISTED]
            problems.append(f"release_date has no YYYY year on line(s) {lines}")
    if problems:
        raise PredictInputError(f"{path}: " + "; ".join(problems) + ". Fix those values.")
    return frame


def feature_frame(frame: pd.DataFrame, features: list[str], settings: Settings) -> pd.DataFrame:
    out = pd.DataFrame({"track_id": frame["id"].str.strip()})
    for feature in features:
        if feature == "release_year":
            out[feature] = pd.to_numeric(frame["release_date"].str.strip().str[:4])
        elif feature not in ARTIST_FEATURES:
            out[feature] = pd.to_numeric(frame[feature].str.strip(), errors="coerce")
    wanted = [f for f in features if f in ARTIST_FEATURES]
    if wanted:
        first_artist = frame["id_artists"].map(_first_artist)
        artists = _artist_features(settings, first_artist.dropna().unique().tolist())
        joined = pd.DataFrame({"artist_id": first_artist}).merge(
            artists, on="artist_id", how="left"
        )
        for feature in wanted:
            out[feature] = joined[feature].to_numpy(dtype=float)
    return out


def _first_artist(literal: str) -> str | None:
    try:
        ids = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return None
    return ids[0] if isinstance(ids, list) and ids else None


def _artist_features(settings: Settings, artist_ids: list[str]) -> pd.DataFrame:
    empty = pd.DataFrame(
        {
            "artist_id": pd.Series(dtype=str),
            "artist_followers": pd.Series(dtype=float),
            "artist_genre_count": pd.Series(dtype=float),
        }
    )
    if not artist_ids or not settings.warehouse.exists():
        log.warning("no warehouse artists to look up: artist features are imputed")
        return empty
    with warehouse.connect(settings.warehouse) as con:
        con.register("wanted_artists", pd.DataFrame({"artist_id": artist_ids}))
        return con.execute(
            "select a.artist_id, a.followers as artist_followers, "
            "a.genre_count::double as artist_genre_count "
            f"from {warehouse.ARTISTS} as a "
            "inner join wanted_artists as w on a.artist_id = w.artist_id "
            "where a.rejection_reason is null"
        ).df()


def predict_csv(settings: Settings, input_path: Path, output_path: Path) -> int:
    from python_ml.tracking import load_champion

    run_id, _, model = load_champion(settings)
    raw = read_tracks_csv(input_path, model.features)
    features = feature_frame(raw, model.features, settings)
    result = prediction_frame(model, features, run_id, datetime.now(UTC).replace(tzinfo=None))
    result.insert(1, "name", raw["name"].to_numpy() if "name" in raw else "")
    result = result.rename(columns={"track_id": "id"})
    output_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output_path.name}.", dir=output_path.parent)
    os.close(fd)
    try:
        result.to_csv(tmp, index=False)
        os.replace(tmp, output_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return len(result)
