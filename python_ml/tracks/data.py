"""Loading the tracks task's training data: the train split from the warehouse, read-only, as
float32 features with integer labels, its fingerprint and data origin. Training
(python_ml/tracks/train.py) fits and evaluates on it; nothing here fits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from python_ml.raw import origin
from python_ml.settings import Settings
from python_ml.warehouse import catalog, db


class TrainingError(RuntimeError):
    """An experiment failed; the message names it and says the champion did not move."""


@dataclass
class TrackData:
    """Features (float32), integer labels (`label`, the seed's class_index) and the first
    artist (`group`, for the new-artist check) of the train split."""

    class_names: list[str]
    train: pd.DataFrame
    fingerprint: str
    data_origin: str
    # Folds and splits are the same for every experiment: computed once, keyed by subset.
    cache: dict[str, Any] = field(default_factory=dict)


def train_fingerprint(con: Any) -> str:
    """What identifies the data a model is trained on: a hash of the train split's track ids
    and classes (its row count and each row's md5, combined without regard to order: no sort
    and no string of the whole table, 0.05 s at 1x where the ordered ``string_agg`` took
    0.2-0.4 s). A champion belongs to the warehouse whose train table has its fingerprint."""
    return (
        con.execute(
            "select case when count(*) > 0 then md5(count(*) || ':' || "
            "bit_xor(md5_number(track_id || ':' || popularity_class))) end "
            f"from {catalog.TRAIN_TRACKS}"
        ).fetchone()[0]
        or ""
    )


def legacy_train_fingerprint(con: Any) -> str:
    """The fingerprint as runs recorded it before 2026-12-05 (md5 of the ids and classes joined
    in id order), so that a champion trained then still belongs to its data."""
    return (
        con.execute(
            f"select md5(string_agg(track_id || ':' || popularity_class, ',' order by track_id))"
            f" from {catalog.TRAIN_TRACKS}"
        ).fetchone()[0]
        or ""
    )


def trained_on_this_data(con: Any, recorded: str | None, current: str) -> bool:
    """Whether a run's recorded train fingerprint is that of the train table now (``current``,
    :func:`train_fingerprint`), or its fingerprint as runs recorded it before 2026-12-05
    (computed only when the recorded one is not the current one)."""
    if recorded is None:
        return False
    return recorded == current or recorded == legacy_train_fingerprint(con)


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
        class_names = [
            r[0]
            for r in con.execute(
                f"select class_name from {catalog.POPULARITY_CLASSES} order by class_index"
            ).fetchall()
        ]
        train = con.execute(
            f"select {selected}, c.class_index::tinyint as label, "
            "coalesce(t.primary_artist_id, t.track_id) as group_id "
            f"from {catalog.TRAIN_TRACKS} as t "
            f"join {catalog.POPULARITY_CLASSES} as c on c.class_name = t.popularity_class "
            "order by t.track_id"
        ).df()
        fingerprint = train_fingerprint(con)
        data_origin = origin.tracks_origin(settings.raw_dir, con)  # as loaded
    if train.empty:
        raise TrainingError(
            f"{catalog.TRAIN_TRACKS} is empty: no clean tracks reached the split. See "
            "marts.rpt_source_row_counts for why rows were rejected."
        )
    counts = train["label"].value_counts()
    missing = [name for i, name in enumerate(class_names) if counts.get(i, 0) < 10]
    if missing:
        raise TrainingError(
            f"{catalog.TRAIN_TRACKS} has fewer than 10 tracks of class "
            f"{', '.join(missing)}; every class needs training rows for the fit, calibration "
            "and validation folds. Use a fuller tracks file, or change the thresholds in "
            "seeds/popularity_classes.csv."
        )
    return TrackData(class_names, train, fingerprint, data_origin)
