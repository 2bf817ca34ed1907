"""Loading the tracks task's training data: the train split from the warehouse, read-only, as
float32 features with integer labels, its fingerprint and data origin. Training
(python_ml/tracks/train.py) fits and evaluates on it; nothing here fits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from python_ml.errors import UserError
from python_ml.raw import origin
from python_ml.settings import Settings
from python_ml.warehouse import catalog, db


class TrainingError(UserError, RuntimeError):
    """An experiment failed; the message names it and says the champion did not move."""


@dataclass
class TrackData:
    """Features (float32), integer labels (`label`, the seed's class_index) and the first
    artist (`group`, for the new-artist check) of the train split."""

    class_names: list[str]
    train: pd.DataFrame
    fingerprint: str
    data_origin: str
    # The dbt var `split_seed` the train split was cut with, as the build recorded it (text);
    # None when not recorded (a split built before the record, or not by dbt).
    split_seed: str | None = None
    # Folds and splits are the same for every experiment: computed once, keyed by subset.
    cache: dict[str, Any] = field(default_factory=dict)


def _fingerprinted_columns(con: Any) -> list[str]:
    """The train table's columns a model can learn from (its id, class, first artist and every
    feature column of the ML inputs' contract), those the table has, in a fixed order."""
    from python_ml.warehouse.catalog import TRACK_FEATURE_COLUMNS

    schema, table = catalog.TRAIN_TRACKS.split(".")
    present = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }
    wanted = ["track_id", "popularity_class", "primary_artist_id", *sorted(TRACK_FEATURE_COLUMNS)]
    return [c for c in wanted if c in present]


def train_fingerprint(con: Any) -> str:
    """What identifies the data a model is trained on: a hash of the train split's rows, each
    row its track id, class, first artist and every feature value: its row count and each
    row's md5, combined without regard to order (no sort, no text of the feature values:
    0.08 s at 1x, where an md5 of each row's values as text took 0.6 s). A champion belongs to
    the warehouse whose train table has its fingerprint: new follower counts in artists.csv,
    say, make other data, as other tracks or classes do. (Should a DuckDB upgrade change its
    hash function, the champion is refused until the next `train`, never taken for another
    data's.)"""
    columns = ", ".join(db.check_identifier(c) for c in _fingerprinted_columns(con))
    # Each row's md5 (of its id, class and the hash of all its values) before the XOR: DuckDB
    # combines a hash of several values by XOR, so XOR-ing those alone would not see two rows'
    # classes swapped.
    return (
        con.execute(
            "select case when count(*) > 0 then md5(count(*) || ':' || "
            f"bit_xor(md5_number(track_id || ':' || popularity_class || ':' || hash({columns}))))"
            f" end from {catalog.TRAIN_TRACKS}"
        ).fetchone()[0]
        or ""
    )


def ids_and_classes_fingerprints(con: Any) -> set[str]:
    """The train table's fingerprint as runs recorded it before 2026-12-06, of its track ids and
    classes only (two definitions, before and after 2026-12-05): a run recorded with one of
    them cannot say whether it learnt from the feature values the table holds now."""
    return {
        con.execute(
            "select case when count(*) > 0 then md5(count(*) || ':' || "
            "bit_xor(md5_number(track_id || ':' || popularity_class))) end "
            f"from {catalog.TRAIN_TRACKS}"
        ).fetchone()[0]
        or "",
        con.execute(
            f"select md5(string_agg(track_id || ':' || popularity_class, ',' order by track_id))"
            f" from {catalog.TRAIN_TRACKS}"
        ).fetchone()[0]
        or "",
    } - {""}


def trained_on_this_data(recorded: str | None, current: str) -> bool:
    """Whether a run's recorded train fingerprint is that of the train table now (``current``,
    :func:`train_fingerprint`)."""
    return recorded is not None and recorded == current


def built_split_seed(con: Any) -> str | None:
    """The ``split_seed`` var the warehouse's train split was built with, as the dbt build
    that made it recorded it (``audit.train_tracks_build``, from int_tracks_split's rows:
    macros/record_train_build.sql); None when no build recorded it."""
    if not db.has_table(con, catalog.TRAIN_BUILD):
        return None
    columns = {
        d[0] for d in con.execute(f"select * from {catalog.TRAIN_BUILD} limit 0").description
    }
    if "split_seed" not in columns:
        return None
    row = con.execute(f"select split_seed from {catalog.TRAIN_BUILD}").fetchone()
    return None if row is None or row[0] is None else str(row[0])


def load_track_data(settings: Settings, features: list[str]) -> TrackData:
    """Read the train split (read-only) in a fixed order, so the same data gives the same
    folds and metrics. Only the needed columns, as float32 with integer labels: at 10x the
    real size the frame is the bulk of training's memory."""
    columns = sorted({*features, "release_year"})
    for column in columns:
        db.check_identifier(column)
    selected = ", ".join(f"cast(t.{c} as float) as {c}" for c in columns)
    with db.connect(settings.warehouse) as con:
        db.require_tables(con, catalog.TRAIN_TRACKS, catalog.POPULARITY_CLASSES)
        seed = con.execute(
            f"select class_name, min_popularity, max_popularity from {catalog.POPULARITY_CLASSES} "
            "order by class_index"
        ).fetchall()
        class_names = [name for name, _, _ in seed]
        train = con.execute(
            f"select {selected}, c.class_index::tinyint as label, "
            "coalesce(t.primary_artist_id, t.track_id) as group_id "
            f"from {catalog.TRAIN_TRACKS} as t "
            f"join {catalog.POPULARITY_CLASSES} as c on c.class_name = t.popularity_class "
            "order by t.track_id"
        ).df()
        fingerprint = train_fingerprint(con)
        data_origin = origin.tracks_origin(settings.raw_dir, con)  # as loaded
        split_seed = built_split_seed(con)
    if train.empty:
        raise TrainingError(
            f"{catalog.TRAIN_TRACKS} is empty: no clean tracks reached the split. See "
            "marts.rpt_source_row_counts for why rows were rejected."
        )
    counts = train["label"].value_counts()
    missing = [name for i, name in enumerate(class_names) if counts.get(i, 0) < 10]
    if missing:
        # Every class's count and range, so that the thresholds can be chosen from this
        # message (it named the short class alone).
        each = ", ".join(
            f"{name} ({low}-{high}) {int(counts.get(i, 0)):,}"
            for i, (name, low, high) in enumerate(seed)
        )
        raise TrainingError(
            f"{catalog.TRAIN_TRACKS} has fewer than 10 tracks of class "
            f"{', '.join(missing)}: of its {len(train):,} tracks, {each}. Every class needs "
            "training rows for the fit, calibration and validation folds. Use a fuller tracks "
            "file, or change the thresholds in seeds/popularity_classes.csv."
        )
    return TrackData(class_names, train, fingerprint, data_origin, split_seed)
