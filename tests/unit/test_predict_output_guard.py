"""predict never writes over or into the project's own data: `--output $MUSIC_WAREHOUSE
--overwrite` replaced the warehouse with a CSV, and `predict --input data/raw/spotify_600k/
tracks.csv` put tracks.predictions.csv beside tracks.csv, which stopped every later load."""

from pathlib import Path

import pytest

from python_ml.settings import Settings
from python_ml.tracks.predict import PredictInputError, check_output, default_output


def test_the_warehouse_the_raw_folder_and_mlflow_are_refused(tmp_path: Path) -> None:
    settings = Settings(
        tmp_path, tmp_path / "raw", tmp_path / "data" / "w.duckdb", tmp_path / "mlflow", tmp_path
    )
    for folder in (
        settings.raw_dir / "spotify_600k",
        settings.mlflow_dir,
        settings.warehouse.parent,
    ):
        folder.mkdir(parents=True, exist_ok=True)
    settings.warehouse.write_bytes(b"DUCK")
    source = tmp_path / "new.csv"
    source.write_text("id\n1\n")
    with pytest.raises(PredictInputError, match="is in the warehouse .*replace it"):
        check_output(source, settings.warehouse, overwrite=True, settings=settings)
    # Its run lock's file: replaced, a second run could take the lock beside the first.
    lock = settings.warehouse.with_name("w.duckdb.lock")
    lock.write_text("")
    with pytest.raises(PredictInputError, match="the warehouse's lock file .*replace it"):
        check_output(source, lock, overwrite=True, settings=settings)
    tracks = settings.raw_dir / "spotify_600k" / "tracks.csv"
    with pytest.raises(PredictInputError, match="into it. Give an --output elsewhere"):
        check_output(tracks, default_output(tracks), settings=settings)
    with pytest.raises(PredictInputError, match="the MLflow folder"):
        check_output(source, settings.mlflow_dir / "x.csv", settings=settings)
    check_output(source, tmp_path / "out.csv", settings=settings)  # elsewhere: fine
    check_output(source, settings.warehouse.parent / "out.csv", settings=settings)


def test_dagsters_home_and_dbts_target_folder_are_refused(tmp_path: Path, monkeypatch) -> None:
    """`--output $DAGSTER_HOME/dagster.yaml --overwrite` wrote the CSV over Dagster's config:
    every later command failed with a YAML ScannerError."""
    settings = Settings(
        tmp_path, tmp_path / "raw", tmp_path / "data" / "w.duckdb", tmp_path / "m", tmp_path
    )
    source = tmp_path / "new.csv"
    source.write_text("id\n1\n")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(PredictInputError, match=r"Dagster's home of the run history"):
        check_output(source, tmp_path / "data" / "dagster" / "dagster.yaml", True, settings)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    with pytest.raises(PredictInputError, match=r"Dagster's home .*elsewhere"):
        check_output(source, tmp_path / "elsewhere" / "dagster.yaml", True, settings)
    monkeypatch.setenv("DBT_TARGET_PATH", "built")
    with pytest.raises(PredictInputError, match=r"dbt's target folder"):
        check_output(source, tmp_path / "built" / "manifest.json", True, settings)


def test_a_compressed_name_for_plain_csv_is_refused(tmp_path: Path) -> None:
    """`--output x.csv.gz` wrote plain CSV under a .gz name."""
    source = tmp_path / "new.csv"
    source.write_text("id\n1\n")
    with pytest.raises(PredictInputError, match="predict writes plain CSV"):
        check_output(source, tmp_path / "out.csv.gz")


def test_a_warehouse_cut_short_says_what_to_do() -> None:
    """DuckDB finds a truncated file only when a query reads the missing part; the command
    printed its IOException text and 'run again with -v'."""
    from python_ml.cli import _damaged_warehouse

    error = OSError(
        'IO Error: Could not read enough bytes from file "/d/w.duckdb": attempted to read '
        "262144 bytes from location 16003072"
    )
    said = _damaged_warehouse(error)
    assert said is not None and said.startswith("The warehouse /d/w.duckdb is damaged")
    assert "make run" in said and _damaged_warehouse(OSError("another")) is None


def test_a_partial_output_of_a_killed_predict_is_removed_by_the_next(tmp_path: Path) -> None:
    """`kill -9` during the write left `.out.csv.XXXXXXXX` (8-12 MB at 1x) beside the output,
    for good."""
    import os
    import subprocess
    import sys

    import pandas as pd

    from python_ml.tracks.predict import _write_csv

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(gone.stdout)
    orphan = tmp_path / f".out.csv.{dead}.abc123"
    orphan.write_text("half")
    mine = tmp_path / f".out.csv.{os.getpid()}.def456"  # this process's: alive, kept
    mine.write_text("in progress")
    other = tmp_path / ".other.csv.1.x"  # another output's: not touched
    other.write_text("x")
    _write_csv(pd.DataFrame({"a": [1]}), tmp_path / "out.csv")
    assert not orphan.exists() and mine.exists() and other.exists()
    assert (tmp_path / "out.csv").read_text() == "a\n1\n"


def test_the_output_writes_each_figure_with_the_decimals_it_was_rounded_to(tmp_path: Path) -> None:
    """The probabilities are rounded to six decimals, the lead and its baseline to three:
    all written with six, an explained score of 2.0 read 2.000000."""
    import numpy as np
    import pandas as pd

    from python_ml.tracks.predict import _write_csv

    result = pd.DataFrame(
        {
            "line": [2, 3],
            "prob_ice_cold": [0.123457, np.nan],
            "explanation_baseline": [-0.513, np.nan],
            "explained_score": [2.0, np.nan],
        }
    )
    output = tmp_path / "new.predictions.csv"
    _write_csv(result, output)
    assert output.read_text().splitlines() == [
        "line,prob_ice_cold,explanation_baseline,explained_score",
        "2,0.123457,-0.513,2.000",
        "3,,,",
    ]
