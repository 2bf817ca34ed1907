"""A mart from an older build lacks a column the charts read: a one-line error that says
which column and what to run, not DuckDB's exception."""

from __future__ import annotations

import duckdb
import pytest

from python_ml.reports import charts


def test_a_mart_from_an_older_build_says_to_build_again() -> None:
    with duckdb.connect() as con:
        con.execute("create table counts (source_table varchar)")
        with pytest.raises(charts.ChartError) as caught:
            charts._read(con, "select source_table, data_origin from counts")
    message = str(caught.value)
    assert '"data_origin"' in message and "older version of the project" in message
    assert "Run `python -m python_ml build`" in message and "\n" not in message


def test_empty_prediction_marts_say_the_command_that_builds_them(tmp_path) -> None:
    """The prediction marts are `tag:ml_outputs staging.ml` (python -m python_ml marts): the
    report said `dbt build --select tag:ml_outputs`, which leaves out the staging views of
    the ml source, while its other messages and the app say `python -m python_ml marts`."""
    import dataclasses

    from python_ml.settings import load_settings
    from python_ml.warehouse import catalog

    settings = dataclasses.replace(load_settings(), warehouse=tmp_path / "w.duckdb")
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            f"create table {catalog.FCT_TRACK_PREDICTIONS} (run_id varchar, model_label "
            "varchar, scored_at timestamp, data_origin varchar)"
        )
        con.execute(f"create table {catalog.RPT_CONFUSION_MATRIX} (track_count bigint)")
        con.execute(
            f"create table {catalog.FCT_SONG_STREAM_PREDICTIONS} (feature_set varchar, "
            "model_type varchar, fold integer, actual_log_streams double, "
            "predicted_log_streams double, run_id varchar)"
        )
        con.execute("create schema ml")
        con.execute(f"create table {catalog.MODEL_RUNS} (run_id varchar, split_kind varchar)")
    with pytest.raises(charts.ChartError) as caught:
        charts._draw_into(settings, tmp_path / "out")
    assert str(caught.value) == (
        f"{catalog.FCT_TRACK_PREDICTIONS} is empty: run `python -m python_ml score`, then "
        "`python -m python_ml marts`."
    )
    with duckdb.connect(str(settings.warehouse)) as con, pytest.raises(charts.ChartError) as caught:
        charts.songs_predicted_vs_actual(con, tmp_path / "songs.png", classes=None)
    assert str(caught.value).endswith(
        "run `python -m python_ml songs`, then `python -m python_ml marts`."
    )


def test_a_true_class_without_tracks_draws_no_share(tmp_path, monkeypatch) -> None:
    """rpt_confusion_matrix gives a true class without scored tracks NULL shares (0s read as
    a class never called right): the heatmap says "no tracks" in its cells instead of "nan%"."""
    from python_ml.reports.classes import Classes
    from python_ml.warehouse import catalog

    said: list[str] = []
    real_text = charts.plt.Axes.text

    def text(self, x, y, s, *args, **kwargs):
        said.append(s)
        return real_text(self, x, y, s, *args, **kwargs)

    monkeypatch.setattr(charts.plt.Axes, "text", text)
    with duckdb.connect() as con:
        con.execute("create schema marts")
        con.execute(
            f"create table {catalog.RPT_CONFUSION_MATRIX} as select * from (values "
            "(0, 'cold', 0, 'cold', 1, 0.25), (0, 'cold', 1, 'hot', 3, 0.75), "
            "(1, 'hot', 0, 'cold', 0, null), (1, 'hot', 1, 'hot', 0, null)) "
            "as t (true_index, true_class, predicted_index, predicted_class, track_count, "
            "share_of_true_class)"
        )
        classes = Classes(
            ["cold", "hot"], {"cold": "cold", "hot": "hot"}, {"cold": "c", "hot": "h"}
        )
        charts.confusion_heatmap(con, tmp_path / "confusion.png", classes)
    assert said == ["1\n25%", "3\n75%", "0\nno tracks", "0\nno tracks"]
    assert (tmp_path / "confusion.png").stat().st_size > 0


def test_only_the_drawn_report_is_logged_to_the_champion_run(tmp_path, monkeypatch) -> None:
    """The whole reports folder was copied into the champion's MLflow run: a user's own notes
    and pictures there (or a shared folder's files) went into the run's artifacts."""
    from pathlib import Path
    from types import SimpleNamespace

    import mlflow

    from python_ml.settings import Settings
    from python_ml.tracking import registry

    settings = Settings(tmp_path, tmp_path / "raw", tmp_path / "w.duckdb", tmp_path / "m", tmp_path)
    settings.mlflow_dir.mkdir()
    (settings.mlflow_dir / "mlflow.db").write_bytes(b"")
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in ("index.html", "confusion_matrix.png", "my_notes.txt", "my_chart.png"):
        (reports / name).write_text(name)
    (reports / "holiday").mkdir()
    (reports / "holiday" / "photo.png").write_text("mine")
    logged: dict = {}

    class Client:
        def get_run(self, run_id):
            uri = (settings.mlflow_dir / "artifacts" / run_id).as_uri()
            return SimpleNamespace(info=SimpleNamespace(artifact_uri=uri))

        def log_artifacts(self, run_id, folder, path):
            logged[path] = sorted(p.name for p in Path(folder).iterdir())

    monkeypatch.setattr(registry, "setup_mlflow", lambda *a: None)
    monkeypatch.setattr(mlflow, "MlflowClient", Client)
    pages: list = []
    charts._log_to_champion_run(
        settings, "r1", reports, pages.append, ["confusion_matrix.png", "index.html"]
    )
    assert logged == {"report": ["confusion_matrix.png", "index.html"]}
    assert pages and pages[0].name == "index.html"
    assert (reports / "my_notes.txt").read_text() == "my_notes.txt"  # the user's files stay
