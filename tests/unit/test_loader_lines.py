"""The loader's line mapping: DuckDB numbers records, an editor numbers physical lines."""

from __future__ import annotations

import gzip

from python_ml.warehouse.load import record_lines


def test_quoted_line_breaks_and_blank_lines_keep_file_lines(tmp_path):
    path = tmp_path / "tracks.csv"
    path.write_text(
        'id,name\n1,plain\n2,"two\nlines"\n\n3,after blank\n4,"three\nphysical\nlines"\n5,last\n',
        encoding="utf-8",
    )
    # (DuckDB's line number, the line an editor shows) for every record after the header.
    assert record_lines(path, "utf-8") == [(2, 2), (3, 3), (5, 6), (6, 7), (7, 10)]


def test_gzip_files_are_read_the_same(tmp_path):
    text = 'id,name\n1,a\n2,"b\nc"\n3,d\n'
    plain = tmp_path / "t.csv"
    plain.write_text(text, encoding="utf-8")
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    assert record_lines(packed, "utf-8") == record_lines(plain, "utf-8") == [(2, 2), (3, 3), (4, 5)]
