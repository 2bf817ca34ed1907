"""A generated artists.csv made for a user's own tracks.csv must not carry the tracks'
popularity into the artist features: those tracks' popularity is the target the models learn
and are evaluated on."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from python_ml.raw.generate import write_artists_for_tracks


def test_generated_followers_do_not_follow_the_users_popularity(tmp_path: Path) -> None:
    tracks = tmp_path / "tracks.csv"
    rng = np.random.default_rng(0)
    artist_popularity = {f"a{i:03d}": int(rng.integers(0, 80)) for i in range(400)}
    with tracks.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "name", "popularity", "artists", "id_artists"])
        for n, (artist, popularity) in enumerate(artist_popularity.items()):
            for k in range(3):
                writer.writerow(
                    [f"t{n}_{k}", "song", popularity + k, f"['{artist}']", f"['{artist}']"]
                )
    artists = tmp_path / "artists.csv"
    assert write_artists_for_tracks(tracks, artists, seed=42) == 400
    with artists.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    followers = np.log1p([float(r["followers"]) for r in rows])
    genres = np.array([len(eval(r["genres"])) for r in rows])  # noqa: S307 - our own literal
    popularity = np.array([artist_popularity[r["id"]] for r in rows])
    # With followers drawn from the tracks' popularity this was about 0.8.
    assert abs(np.corrcoef(followers, popularity)[0, 1]) < 0.15
    assert abs(np.corrcoef(genres, popularity)[0, 1]) < 0.15
    assert followers.std() > 1  # still a spread of reach, as the schema's data has
