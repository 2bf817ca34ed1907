"""The loop closed: predictions back in dbt, the SQL marts agree with python_ml, charts drawn."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import PROJECT_ROOT

from python_ml.reports import charts
from python_ml.settings import Settings
from python_ml.tracks import score


@pytest.fixture(scope="module")
def scored(main_job_dir: Path, tmp_path_factory) -> Settings:
    """A copy of the main job's folder: trained, scored, the 2023 study run, the marts built."""
    root = tmp_path_factory.mktemp("scored") / "job"
    # As the main job left it (test_pipeline.py may be running the job again in the original).
    shutil.copytree(main_job_dir.parent / f"{main_job_dir.name}_as_run", root, symlinks=True)
    return Settings(
        project_root=PROJECT_ROOT,
        raw_dir=root / "raw",
        warehouse=root / "warehouse.duckdb",
        mlflow_dir=root / "mlflow",
        reports_dir=root / "charts",
    )


def test_sql_confusion_matrix_equals_python(scored: Settings) -> None:
    with duckdb.connect(str(scored.warehouse), read_only=True) as con:
        cells = con.execute(
            "select true_index, predicted_index, track_count from marts.rpt_confusion_matrix"
        ).fetchall()
        per_class = con.execute(
            "select class_name, class_precision, class_recall, f1 from marts.rpt_class_metrics"
        ).fetchall()
    python = scored_holdout(scored)
    size = len(python["confusion_matrix"])
    assert size == 3 and python["n"] > 0
    sql_matrix = [[0] * size for _ in range(size)]
    for i, j, n in cells:
        sql_matrix[i][j] = n
    assert sql_matrix == python["confusion_matrix"]
    for name, precision, recall, f1 in per_class:
        expected = python["per_class"][name]
        assert precision == pytest.approx(expected["precision"])
        assert recall == pytest.approx(expected["recall"])
        assert f1 == pytest.approx(expected["f1"])


def scored_holdout(settings: Settings) -> dict:
    from python_ml.tracking.registry import load_champion

    run_id, _, model = load_champion(settings)
    assert run_id == _champion_run(settings)
    return score.holdout_evaluation(settings, run_id, model)


def _champion_run(settings: Settings) -> str:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute("select run_id from ml.model_runs where is_champion").fetchone()[0]


def test_prediction_mart_has_one_row_per_predict_track(scored: Settings) -> None:
    with duckdb.connect(str(scored.warehouse), read_only=True) as con:
        n_predict = con.execute("select count(*) from marts.fct_predict_tracks").fetchone()[0]
        rows, runs, missing_truth = con.execute(
            "select count(*), count(distinct run_id), count(*) filter (where true_class is null)"
            " from marts.fct_track_predictions"
        ).fetchone()
    assert (rows, runs, missing_truth) == (n_predict, 1, 0)


def test_charts_and_page_are_drawn(scored: Settings) -> None:
    drawn = charts.draw_all(scored)
    assert [c.file for c in drawn] == [file for file, _, _ in charts.CHARTS]
    assert {"feature_importance.png", "feature_drift.png"} <= {c.file for c in drawn}
    page = (scored.reports_dir / "index.html").read_text()
    for chart in drawn:
        path = scored.reports_dir / chart.file
        # A chart with too little to draw (the word cloud of a few hits) says so instead.
        assert path.stat().st_size > 10_000 or chart.caption.startswith("Too few"), chart.file
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{chart.file}"' in page and chart.caption.split(":")[0][:20] in page
    assert _champion_run(scored) in page
    # MLflow's link opens the champion's run (it opened the experiments list).
    assert re.search(
        rf'<a href="http://[^"]+/#/experiments/\d+/runs/{_champion_run(scored)}">', page
    )
    assert "Generated data." in page, "results from built-in data say so"
    assert "<table>" in page and "val. macro-F1" in page and "blazing-hot (70-100)" in page
    # A run's seconds to a tenth (they had 3 decimals), right-aligned as numbers.
    board = page.split("Leaderboard", 1)[1].split("</table>", 1)[0]
    seconds = re.findall(r'<td class="n">([\d,]+\.\d+)</td>\s*</tr>', board)
    assert seconds and all(len(s.split(".")[1]) == 1 for s in seconds), seconds
    # The leaderboard lists the champion (it represents its model even when a later run of it
    # did not replace it: charts._numbers_tables), marked once.
    assert page.count("<td>yes</td>") == 1
    assert "Why the surest blazing-hot call got its class" in page and "Data quality" in page
    # Each raw file's row counts beside where the file came from.
    assert "<th>origin</th>" in page and "<td>spotify_600k.tracks</td>" in page
    assert '<a href="model_card.html">' in page
    card = (scored.reports_dir / "model_card.html").read_text()
    assert "<h1>Model card: " in card and "95% bootstrap interval" in card
    assert (scored.reports_dir / "model_card.md").read_text().startswith("# Model card: ")
    # The songs study's results, which the page links: written into this new reports folder
    # from the warehouse, the same file as the songs step wrote into the job's own.
    from python_ml.songs import RESULTS_FILE

    assert f'<a href="{RESULTS_FILE}">' in page
    results = (scored.reports_dir / RESULTS_FILE).read_text(encoding="utf-8")
    assert results == (scored.warehouse.parent / "reports" / RESULTS_FILE).read_text("utf-8")
    assert "| log_streams | random_forest | forecastable |" in results
    assert "Data origin: **generated**." in results


def test_the_pages_explained_track_adds_up_to_its_lead(scored: Settings) -> None:
    """The page's example showed the five largest contributions alone (their sum +9.41 for a
    lead of +2.03: the baseline and the other features were left out)."""
    from python_ml.reports.classes import read_classes

    with duckdb.connect(str(scored.warehouse), read_only=True) as con:
        tables = dict(charts._numbers_tables(con, read_classes(con)))
        (title,) = [t for t in tables if t.startswith("Why the surest")]
        shown = tables[title]
        lead = con.execute(
            "select explained_score from marts.fct_track_predictions "
            "order by is_predicted_hit desc, hit_probability desc, track_id limit 1"
        ).fetchone()[0]
    assert len(shown) == 8  # five features, the rest, the baseline, the lead
    assert shown["feature"].iloc[-1].startswith("lead of ")
    assert shown["contribution"].iloc[-1] == pytest.approx(lead)
    assert shown["contribution"].iloc[:-1].sum() == pytest.approx(lead, abs=1e-5)


def test_marts_carry_the_data_origin_and_the_champion_holdout(scored: Settings) -> None:
    with duckdb.connect(str(scored.warehouse), read_only=True) as con:
        origins = con.execute(
            "select distinct data_origin from marts.fct_track_predictions"
        ).fetchall()
        board = con.execute(
            "select is_champion, holdout_macro_f1 is not null, validation_ece is not null, "
            "new_artist_macro_f1 is not null from marts.rpt_model_leaderboard"
        ).fetchall()
        calibration = con.execute(
            "select sum(track_count), count(distinct class_name) from marts.rpt_calibration"
        ).fetchone()
        n = con.execute("select count(*) from marts.fct_track_predictions").fetchone()[0]
    assert origins == [("generated",)]
    # Every prediction mart (tag ml_outputs) says which data its figures are about.
    with duckdb.connect(str(scored.warehouse), read_only=True) as con:
        marts = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' "
                "and (table_name like 'rpt%' or table_name like 'fct_track%' "
                "or table_name like '%predictions') "
                "and table_name not in ('rpt_rejected_rows', 'rpt_source_row_counts', "
                "'rpt_audio_features_by_class', 'rpt_feature_correlations')"
            ).fetchall()
        ]
        assert len(marts) == 14, marts
        for mart in marts:
            rows, mart_origins = con.execute(
                f"select count(*), list(distinct data_origin) from marts.{mart}"
            ).fetchone()
            assert mart_origins == (["generated"] if rows else None), mart
        # The hit rate the probabilities expect beside the one the decision rule calls.
        called, expected, actual = con.execute(
            "select sum(predicted_hit_rate * scored_tracks), "
            "sum(expected_hit_rate * scored_tracks), sum(actual_hit_rate * scored_tracks) "
            "from marts.rpt_hit_rate_by_release_year"
        ).fetchone()
        mean_probability, hits_called, hits = con.execute(
            "select sum(hit_probability), count(*) filter (where predicted_class = 'blazing_hot'), "
            "count(*) filter (where true_class = 'blazing_hot') from marts.fct_track_predictions"
        ).fetchone()
    assert abs(expected - mean_probability) < 1e-6 * n
    # The rates times the tracks are the tracks called hits and the true hits (the test said
    # only that they were not negative).
    assert 0 < expected and 0 < hits < n
    assert called == pytest.approx(hits_called, abs=1e-6) and actual == pytest.approx(
        hits, abs=1e-6
    )
    assert all(champion == has_holdout for champion, has_holdout, _, _ in board)
    assert all(ece and new_artist for _, _, ece, new_artist in board)
    assert calibration == (3 * n, 3)


def test_the_page_names_each_parts_origin(tmp_path: Path) -> None:
    """Tracks from the user's files and the 2023 songs generated: the page says which part is
    generated, never a plain "user files" over generated figures."""
    page = charts.Page("run", "model", "now", "user files", tmp_path, "generated")
    charts._write_html(tmp_path / "index.html", [], [], page)
    text = (tmp_path / "index.html").read_text()
    assert "Generated data in part." in text
    assert "tracks: <strong>user files</strong>; 2023 songs: <strong>generated</strong>" in text
    assert "Built-in generated data: 2023 songs; the figures that draw on it" in text
    real = charts.Page("run", "model", "now", "kaggle", tmp_path, "kaggle")
    charts._write_html(tmp_path / "index.html", [], [], real)
    text = (tmp_path / "index.html").read_text()
    assert "Generated" not in text and "tracks: <strong>kaggle</strong>" in text


def test_the_page_links_the_songs_results_only_when_written(tmp_path: Path) -> None:
    """A report made before the songs study had run linked its results file, which was not
    there: a dead link, and a page `run` would call stale (a file it links, missing)."""
    from python_ml.orchestration.versions import missing_beside
    from python_ml.songs import RESULTS_FILE

    (tmp_path / "model_card.html").write_text("card", encoding="utf-8")
    page = charts.Page("run", "model", "now", "generated", tmp_path)
    charts._write_html(tmp_path / "index.html", [], [], page)
    text = (tmp_path / "index.html").read_text()
    assert RESULTS_FILE not in text and "the 2023 songs study has not run" in text
    assert missing_beside(tmp_path / "index.html") == []
    ran = charts.Page("run", "model", "now", "generated", tmp_path, "generated", True)
    charts._write_html(tmp_path / "index.html", [], [], ran)
    assert f'<a href="{RESULTS_FILE}">' in (tmp_path / "index.html").read_text()
    assert missing_beside(tmp_path / "index.html") == [RESULTS_FILE]


def test_charts_refuse_an_unscored_warehouse(built_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(built_warehouse, warehouse)
    settings = Settings(PROJECT_ROOT, tmp_path, warehouse, tmp_path / "m", tmp_path / "r")
    with pytest.raises(Exception, match="fct_track_predictions"):
        charts.draw_all(settings)


def test_tracks_partly_generated_are_not_called_generated_nor_real(tmp_path: Path) -> None:
    """The user's tracks.csv beside the generated artists.csv (and generated 2023 songs): the
    page said "Generated data. These results come from the built-in generated data"."""
    mixed = "artists.csv: generated, tracks.csv: user files"
    page = charts.Page("run", "model", "now", mixed, tmp_path, "generated")
    charts._write_html(tmp_path / "index.html", [], [], page)
    text = (tmp_path / "index.html").read_text()
    assert "Generated data in part." in text
    # The generated file is named, never the user's tracks ("tracks (in part): built-in
    # generated data, not real songs" read as if the user's tracks were generated).
    assert "Built-in generated data: 2023 songs and artists.csv of the tracks; the" in text
    assert "tracks (in part)" not in text
    assert charts.origin_mark({"tracks": mixed}, ("tracks",)) == (
        "artists.csv of the tracks: built-in generated data, not real"
    )


def test_a_chart_says_which_of_its_data_is_generated() -> None:
    origins = {"tracks": "user files", "2023 songs": "generated"}
    assert charts.origin_mark(origins, ("tracks",)) is None
    assert charts.origin_mark(origins, ("2023 songs",)) == "Built-in generated data: not real songs"
    assert charts.origin_mark(origins, ("tracks", "2023 songs")) == (
        "2023 songs: built-in generated data, not real songs"
    )
    assert charts.origin_mark({"tracks": "generated"}, ("tracks", "2023 songs")) == (
        "Built-in generated data: not real songs"
    )


def test_the_report_refuses_a_champion_of_other_data_or_predictions_of_another_run(
    scored: Settings, tmp_path: Path
) -> None:
    """After the data changed under the champion, `charts` drew the report and the model card
    as if it were this data's model (its holdout figures and fingerprint)."""
    root = tmp_path / "job"
    shutil.copytree(scored.warehouse.parent, root, symlinks=True)
    settings = Settings(
        PROJECT_ROOT, root / "raw", root / "warehouse.duckdb", root / "mlflow", root / "report"
    )
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("update ml.model_runs set data_fingerprint = 'f' || data_fingerprint")
    with pytest.raises(charts.ChartError, match="trained on other data") as refused:
        charts.draw_all(settings)
    assert "The report was not drawn." in str(refused.value)
    assert not (settings.reports_dir / "model_card.md").exists()
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("update ml.model_runs set data_fingerprint = substr(data_fingerprint, 2)")
        con.execute("update marts.fct_track_predictions set run_id = 'an-older-run'")
    with pytest.raises(charts.ChartError, match="not of the champion"):
        charts.draw_all(settings)


def test_a_report_that_fails_part_way_leaves_the_last_one_whole(
    scored: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The charts were written into the reports folder one by one: a failure at the songs
    chart left nine new charts under the last run's page and model card."""
    import os

    from python_ml.warehouse.dbt import docs_page

    settings = Settings(
        PROJECT_ROOT, scored.raw_dir, scored.warehouse, scored.mlflow_dir, tmp_path / "report"
    )
    charts.draw_all(settings)
    page = (settings.reports_dir / "index.html").read_text()
    docs = Path(os.path.relpath(docs_page(settings), settings.reports_dir)).as_posix()
    assert f'href="{docs}"' in page  # drawn elsewhere first, linked from where it is read
    # Rewritten, a chart has the same bytes: its time says it was.
    before = {
        f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in settings.reports_dir.iterdir()
    }

    def fails(con, path, classes):
        raise charts.ChartError("the songs chart failed")

    *first, (file, title, _) = charts.CHARTS
    monkeypatch.setattr(charts, "CHARTS", [*first, (file, title, fails)])
    with pytest.raises(charts.ChartError, match="the songs chart failed"):
        charts.draw_all(settings)
    after = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in settings.reports_dir.iterdir()}
    assert after == before  # every chart, the card and the page as they were; no folder left
    # A folder where a drawn file goes: found before anything is moved (the move left a new
    # card beside the old page and charts), and a killed draw's folder is cleared.
    monkeypatch.undo()
    (settings.reports_dir / "model_card.html").unlink()
    (settings.reports_dir / "model_card.html").mkdir()
    (settings.reports_dir / ".drawing-killed").mkdir()
    before = {
        f.name: (f.is_dir() or f.read_bytes(), f.stat().st_mtime_ns)
        for f in settings.reports_dir.iterdir()
        if not f.name.startswith(".drawing-")
    }
    with pytest.raises(charts.ChartError, match="model_card.html is a folder where the report"):
        charts.draw_all(settings)
    after = {
        f.name: (f.is_dir() or f.read_bytes(), f.stat().st_mtime_ns)
        for f in settings.reports_dir.iterdir()
    }
    assert after == before


@pytest.mark.parametrize(
    ("tracks", "said"),
    [
        (1010, "All 1,010 predict-split tracks:"),
        (6500, "A sample of 6,000 of the 6,500 predict-split tracks:"),
    ],
)
def test_the_scatter_says_how_many_tracks_it_draws(tmp_path: Path, tracks: int, said: str) -> None:
    """On the real partial tracks file the predict split holds 1,010 tracks: the caption said
    "A sample of 6,000 predict-split tracks" whatever the split's size."""
    from python_ml.reports.classes import Classes

    classes = Classes(
        ["ice_cold", "lukewarm", "blazing_hot"],
        {
            "ice_cold": "ice-cold (0-30)",
            "lukewarm": "lukewarm (31-69)",
            "blazing_hot": "blazing-hot (70-100)",
        },
        {"ice_cold": "ice-cold", "lukewarm": "lukewarm", "blazing_hot": "blazing-hot"},
    )
    with duckdb.connect() as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_track_predictions as select (i % 97) / 97 as danceability, "
            "(i % 89) / 89 as energy, ['ice_cold', 'lukewarm', 'blazing_hot'][i % 3 + 1] "
            f"as true_class from range({tracks}) as t(i)"
        )
        caption = charts.danceability_energy(con, tmp_path / "scatter.png", classes)
    assert caption.startswith(said)
    assert (tmp_path / "scatter.png").stat().st_size > 0


def test_the_card_marks_generated_artist_features_beside_the_users_tracks(
    scored: Settings, tmp_path: Path
) -> None:
    """The real tracks beside a generated artists.csv: the card listed "artist_followers 1.12"
    first among what the champion relies on and said followers dominate popularity, of
    followers the generator made up."""
    from python_ml.reports.model_card import card_markdown

    warehouse = tmp_path / "w.duckdb"
    shutil.copy(scored.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        plain, _ = card_markdown(con)
        con.execute(
            "update marts.rpt_model_leaderboard set data_origin = "
            "'artists.csv: generated, tracks.csv: user files'"
        )
        mixed, facts = card_markdown(con)
    assert facts["data_origin"] == "artists.csv: generated, tracks.csv: user files"
    limit = "- The artist features (artist_followers, artist_genre_count) are the built-in"
    assert limit in mixed and limit not in plain
    largest = next(line for line in mixed.splitlines() if line.startswith("- Largest on"))
    for feature in ("artist_followers", "artist_genre_count"):
        if feature in largest:
            assert f"{feature} (generated) " in largest, largest
    assert "(generated)" not in plain


MIXED = "artists.csv: generated, tracks.csv: user files"


def test_each_chart_carries_the_origin_of_what_it_draws() -> None:
    """The user's tracks beside a generated artists.csv: the scatter of audio features by true
    class and the hit titles' words read tracks.csv's columns alone and said "artists.csv of
    the tracks: built-in generated data" all the same; the champion's charts do draw on the
    generated artist features."""
    marks = charts.chart_marks({"tracks": MIXED, "2023 songs": "user files"})
    assert set(marks) == {file for file, _, _ in charts.CHARTS}
    for file in ("danceability_energy.png", "hit_wordcloud.png", "songs_predicted_vs_actual.png"):
        assert marks[file] is None, file
    for file in ("class_distribution.png", "confusion_matrix.png", "feature_importance.png"):
        assert marks[file] == "artists.csv of the tracks: built-in generated data, not real"
    assert marks["feature_correlations.png"] is None  # it marks each bar itself (below)
    generated = charts.chart_marks({"tracks": "generated", "2023 songs": "generated"})
    assert {generated[f] for f in generated if f != "feature_correlations.png"} == {
        "Built-in generated data: not real songs"
    }
    real = charts.chart_marks({"tracks": "kaggle", "2023 songs": "user files"})
    assert set(real.values()) == {None}


def _correlations(tracks: str, artists_bar: str, songs: str) -> pd.DataFrame:

    rows = [
        ("tracks", "danceability", 0.1, tracks),
        ("tracks", "release_year", 0.5, tracks),
        ("tracks", "log_artist_followers", 0.3, artists_bar),
        ("songs_2023", "danceability", -0.1, songs),
        ("songs_2023", "spotify_playlists", 0.7, songs),
    ]
    return pd.DataFrame(rows, columns=["dataset", "feature", "correlation", "data_origin"])


def test_the_correlations_mark_the_bars_drawn_from_generated_data() -> None:
    """Each bar carries its own row's origin: the artist's followers are the generated
    artists.csv's beside the user's own track columns; a panel wholly generated is said once."""
    labels, whole, mark = charts.correlation_marks(_correlations("user files", MIXED, "kaggle"))
    assert labels == [
        "danceability",
        "release_year",
        "log_artist_followers (generated)",
        "danceability",
        "spotify_playlists",
    ]
    assert whole == set()
    assert mark == "log_artist_followers: from the built-in generated artists.csv, not real"
    labels, whole, mark = charts.correlation_marks(_correlations("user files", MIXED, "generated"))
    assert labels[2] == "log_artist_followers (generated)" and labels[3:] == [
        "danceability",
        "spotify_playlists",
    ]
    assert whole == {"songs_2023"}
    assert mark == (
        "2023 songs: built-in generated data, not real songs; "
        "log_artist_followers: from the built-in generated artists.csv, not real"
    )
    every = _correlations("generated", "generated", "generated")
    labels, whole, mark = charts.correlation_marks(every)
    assert labels == every["feature"].tolist() and whole == set()  # said once, in the corner
    assert mark == "Built-in generated data: not real songs"
    real = _correlations("user files", "artists.csv: kaggle, tracks.csv: user files", "kaggle")
    labels, whole, mark = charts.correlation_marks(real)
    assert labels == real["feature"].tolist() and mark is None


def _drawn(monkeypatch: pytest.MonkeyPatch) -> dict:
    """What the next chart draws: each axes' y labels and title, and its corner note."""
    seen: dict = {}
    save = charts._save

    def looked_at(fig, path) -> None:
        save(fig, path)
        seen["labels"] = [[t.get_text() for t in ax.get_yticklabels()] for ax in fig.axes]
        seen["titles"] = [ax.get_title() for ax in fig.axes]
        seen["corner"] = [t.get_text() for t in fig.texts]

    monkeypatch.setattr(charts, "_save", looked_at)
    monkeypatch.setattr(charts, "_ORIGIN_MARK", None)  # reset after the test
    return seen


def test_the_drawn_charts_name_the_generated_features(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The importance, contributions, drift and correlations charts as drawn: each artist
    feature named "(generated)" beside the user's tracks, the tracks' own columns not."""
    seen = _drawn(monkeypatch)
    with duckdb.connect() as con:
        con.execute("create schema marts")
        con.register("rows", _correlations("user files", MIXED, "user files"))
        con.execute(
            "create table marts.rpt_feature_correlations as select dataset, 'target' as "
            "target, feature, correlation, data_origin from rows"
        )
        charts.feature_correlations(con, tmp_path / "c.png", None)
        assert "log_artist_followers (generated)" in seen["labels"][0]
        assert "release_year" in seen["labels"][0]
        assert seen["corner"] == [
            "log_artist_followers: from the built-in generated artists.csv, not real"
        ]
        features = "['release_year', 'danceability', 'artist_followers', 'artist_genre_count']"
        con.execute(
            "create table marts.fct_track_predictions as select 'r' as run_id, ? as data_origin",
            [MIXED],
        )
        con.execute(
            "create table marts.rpt_feature_importance as select 'r' as run_id, f as feature, "
            f"1.0 / i as importance_mean, 0.01 as importance_std, ? as data_origin "
            f"from unnest({features}) with ordinality as t(f, i)",
            [MIXED],
        )
        con.execute(
            "create table marts.fct_track_prediction_explanations as select f as feature, "
            f"0.5 / i as contribution, ? as data_origin "
            f"from unnest({features}) with ordinality as t(f, i)",
            [MIXED],
        )
        charts.feature_importance(con, tmp_path / "i.png", None)
        for labels in seen["labels"]:
            assert sorted(labels) == [
                "artist_followers (generated)",
                "artist_genre_count (generated)",
                "danceability",
                "release_year",
            ]
        con.execute(
            "create table marts.rpt_feature_drift as select f as feature, 0.3 / i as psi, "
            "0.2 as psi_threshold, case when i = 3 then 'drift' else 'stable' end as "
            "drift_status, 100 as batch_tracks, now() as scored_at, ? as data_origin, "
            f"true as is_current from unnest({features}) with ordinality as t(f, i)",
            [MIXED],
        )
        caption = charts.feature_drift(con, tmp_path / "d.png", None)
        assert "artist_followers (generated)" in seen["labels"][0]
        assert "Drifted: artist_followers (generated)." in caption
        # Wholly generated: the corner note says it of the whole chart, no bar is marked.
        con.execute("update marts.rpt_feature_importance set data_origin = 'generated'")
        con.execute("update marts.fct_track_prediction_explanations set data_origin = 'generated'")
        charts.feature_importance(con, tmp_path / "i.png", None)
        assert not any("(generated)" in label for axis in seen["labels"] for label in axis)
