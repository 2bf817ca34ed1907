"""Which raw files each feature's values come from, and so whether a feature named beside a
figure (a reason, an importance bar, a drift row) is the built-in generated data: the one
definition the report, the model card, the app, the marts' reasons, ``predict`` and the HTTP
service share.

A user's real tracks.csv beside a generated artists.csv (``artists.csv: generated, tracks.csv:
user files``) is the case this is for: the tracks' own columns are real, the artist features
(followers, genre count) are drawn at random by the generator. Light on purpose (no DuckDB,
no pandas): scoring imports it on Spark's executors too, and training does not import it (an
edit here does not fit the models again).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from python_ml.raw.origin import draws_on_generated, files_origin, marked_apart
from python_ml.warehouse.catalog import dbt_var

# The features that come from a track's first artist: looked up in artists.csv by the first
# id of tracks.csv's id_artists (int_tracks_enriched); defined once, as dbt var
# artist_features (rpt_feature_correlations reads it too).
ARTIST_FEATURES: tuple[str, ...] = tuple(dbt_var("artist_features"))
TRACKS_FILE = "tracks.csv"
ARTISTS_FILE = "artists.csv"
GENERATED_MARK = "(generated)"  # what a feature whose values are generated is shown with


def feature_files(feature: str) -> tuple[str, ...]:
    """The raw files a feature's values are read from: an artist feature from artists.csv,
    by the track's artist ids in tracks.csv; every other feature from tracks.csv alone."""
    return (TRACKS_FILE, ARTISTS_FILE) if feature in ARTIST_FEATURES else (TRACKS_FILE,)


def feature_origin(feature: str, origin: str) -> str:
    """The origin of a feature's values, out of the data origin of what it was computed on
    (``artist_followers`` on ``artists.csv: generated, tracks.csv: user files`` is that
    origin; ``danceability`` on it, ``user files``)."""
    return files_origin(origin, feature_files(feature))


@lru_cache(maxsize=256)  # a few features and origins: asked once per reason
def is_generated_feature(feature: str, origin: str) -> bool:
    """Whether a feature's values are the built-in generated data (wholly or in part), on data
    of this origin: every feature of wholly generated data, the artist features beside a
    user's tracks and generated artists, none of real files."""
    return draws_on_generated(feature_origin(feature, origin))


@lru_cache(maxsize=256)
def marked_generated(feature: str, origin: str) -> bool:
    """Whether a feature is marked generated where it is named: its values are generated
    beside values that are not. With wholly generated data every figure already says so as a
    whole (its banner, its data origin), and no feature is marked again."""
    return marked_apart(feature_origin(feature, origin), origin)


def feature_label(feature: str, origin: str, shown: str | None = None) -> str:
    """The feature as a figure names it (``shown``, or its name), with the generated mark when
    :func:`marked_generated` (``artist_followers (generated)``)."""
    name = feature if shown is None else shown
    return f"{name} {GENERATED_MARK}" if marked_generated(feature, origin) else name


def marked_features(features: Any, origin: str) -> list[str]:
    """The features among these that are marked generated, in their order."""
    return [f for f in features if marked_generated(f, origin)]


def with_generated_flags(
    rows: list[list[dict[str, Any]]], origin: str
) -> list[list[dict[str, Any]]]:
    """Each row's reasons (``{"feature", "value", "contribution", "over"}``), each given
    ``generated`` in place: whether that feature's values are the built-in generated data
    (true for every reason of wholly generated data: a reader of one reason alone is told
    too). Worked out once per feature, not per reason (1,000 tracks' 3,000 reasons)."""
    flags: dict[str, bool] = {}
    for entries in rows:
        for entry in entries:
            feature = entry["feature"]
            flag = flags.get(feature)
            if flag is None:
                flag = flags[feature] = is_generated_feature(feature, origin)
            entry["generated"] = flag
    return rows


def reasons_in_words(entries: list[dict[str, Any]] | None, origin: str) -> str | None:
    """The reasons in words (tracks/explain.py ``reasons_text``), a generated feature marked:
    ``over lukewarm: release year +1.42, artist followers (generated) +0.91``."""
    from python_ml.tracks.explain import reasons_text

    if not entries or not any(marked_generated(e["feature"], origin) for e in entries):
        return reasons_text(entries)
    return reasons_text([{**e, "feature": feature_label(e["feature"], origin)} for e in entries])


def generated_features_note(features: Any, origin: str) -> str | None:
    """What a figure that names these features says under it when some are marked generated
    (None when none is): which, and whose values they are."""
    from python_ml.raw.origin import generated_files

    marked = marked_features(features, origin)
    if not marked:
        return None
    files = " and ".join(generated_files(origin)) or "data"
    them = "it" if len(marked) == 1 else "them"
    return (
        f"{', '.join(marked)} {GENERATED_MARK}: the built-in generated {files}'s values, not "
        f"real ones; what the champion draws from {them} says nothing about real artists or "
        "songs."
    )
