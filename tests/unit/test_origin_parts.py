"""Whether figures come from generated data: wholly, in part (a user's tracks beside the
generated artists), or not at all."""

from __future__ import annotations

from python_ml.raw.origin import (
    generated_files,
    is_generated,
    is_partly_generated,
    partly_generated_notice,
)


def test_wholly_partly_or_not_generated() -> None:
    mixed = "artists.csv: generated, tracks.csv: user files"
    assert is_generated("generated") and not is_partly_generated("generated")
    assert is_generated("artists.csv: generated, tracks.csv: generated")
    assert not is_generated(mixed) and is_partly_generated(mixed)
    for real in ("kaggle", "user files", "artists.csv: kaggle, tracks.csv: user files", ""):
        assert not is_generated(real) and not is_partly_generated(real)
    assert mixed in partly_generated_notice(mixed)


def test_the_generated_files_are_named() -> None:
    assert generated_files("artists.csv: generated, tracks.csv.gz: user files") == ["artists.csv"]
    assert generated_files("generated") == []  # one word names no file
    assert generated_files("kaggle") == []
