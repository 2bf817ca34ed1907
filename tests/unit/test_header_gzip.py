"""A gzip file named .csv: the loader said its header was not valid UTF-8 ('Save the file as
utf-8'), where predict named the case."""

import gzip
from pathlib import Path

import pytest

from python_ml.raw.extract import ExtractError, read_header


def test_a_gzip_file_named_csv_is_named_so(tmp_path: Path) -> None:
    path = tmp_path / "tracks.csv"
    path.write_bytes(gzip.compress(b"id,name\n1,a\n"))
    with pytest.raises(ExtractError, match=r"is gzip-compressed, though named \.csv: rename it"):
        read_header(path, ("utf-8",))
    packed = tmp_path / "tracks.csv.gz"
    packed.write_bytes(path.read_bytes())
    assert read_header(packed, ("utf-8",)) == ["id", "name"]
