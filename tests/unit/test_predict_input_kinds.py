"""What `predict --input` says of an input that is no CSV file of tracks it can read: a device,
a pipe or standard input (each said "does not exist"), and Excel's `sep=,` first line (said
"column 2 of the header has no name (a comma at the end of the line?)")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from python_ml.tracks.predict import PredictInputError, check_input

HEADER = "id,name,popularity,duration_ms,explicit,artists,id_artists,release_date,danceability\n"


@pytest.mark.parametrize("given", ["-", os.devnull])
def test_standard_input_and_a_device_are_named_as_such(given: str) -> None:
    with pytest.raises(PredictInputError) as said:
        check_input(Path(given))
    assert "does not exist" not in str(said.value)
    assert "save the tracks to a CSV file and give its path" in str(said.value)


def test_a_named_pipe_is_not_read_and_is_named_as_such(tmp_path: Path) -> None:
    pipe = tmp_path / "tracks.csv"
    os.mkfifo(pipe)
    with pytest.raises(PredictInputError, match="is not a regular file"):
        check_input(pipe)  # not opened: opening a pipe with no writer would wait for ever


@pytest.mark.parametrize("line", ["sep=,", "sep=;", "SEP=,"])
def test_excels_delimiter_line_is_named_and_the_fix_given(tmp_path: Path, line: str) -> None:
    csv = tmp_path / "from_excel.csv"
    csv.write_text(f"{line}\r\n{HEADER}", encoding="utf-8")
    with pytest.raises(PredictInputError) as said:
        check_input(csv)
    assert f"line 1 is {line!r}, the line Excel writes to name the delimiter" in str(said.value)
    assert "delete that line" in str(said.value)
